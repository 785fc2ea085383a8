import { expect } from 'chai'
import type { Redis } from 'ioredis'
import { DataTypes, Model, type Sequelize } from 'sequelize'
import sinon from 'sinon'
import { CachemeError, registerInvalidModels } from '../../src'
import { PAGE_ROWS } from '../../src/sequelize/affected-rows'
import { onModelChange } from '../../src/sequelize/model-change'
import type { ChangeListener } from '../../src/sequelize/change-listener'
import { BACKENDS, configureBackend, redisClient } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { openBookstore, seedBookstore, type Bookstore } from './models'
import { probes } from './probes'

/** More rows than two pages, so that every bulk write here is read and told in several. */
const ROWS = 2 * PAGE_ROWS + 500
const OWNERS = 50

/** A seat is identified by its row and number: keyset pagination over a composite key. */
class Seat extends Model {
  declare row: string
  declare number: number
  declare holder: number
  get cacheKey(): string[] {
    return [`Seat:${this.row}${this.number}`, `Holder:${this.holder}:seats`]
  }
}

function defineSeat(sequelize: Sequelize): typeof Seat {
  class SSeat extends Seat {}
  SSeat.init(
    { row: { type: DataTypes.STRING, primaryKey: true }, number: { type: DataTypes.INTEGER, primaryKey: true }, holder: DataTypes.INTEGER },
    { sequelize, modelName: 'Seat' },
  )
  return SSeat
}

for (const db of testDatabases()) {
  for (const backend of BACKENDS) {
    describe(`Bulk writes over many rows, on ${db.dialect} with the ${backend} store`, function () {
      this.timeout(60_000)
      let store: Bookstore
      let SeatModel: typeof Seat
      let watch: ReturnType<typeof probes>
      /** Rows per call the listeners were told of, while recording. */
      let told: number[] | undefined
      let prefix: string

      before(() => {
        store = openBookstore(db)
        SeatModel = defineSeat(store.sequelize)
        registerInvalidModels([store.Book, SeatModel])
        const counting: ChangeListener = {
          name: 'test.counting',
          changed: (_model, rows) => {
            told?.push(rows.length)
            return undefined
          },
          deliver: async () => true,
        }
        onModelChange(store.Book, counting, 'test')
      })
      after(() => store.sequelize.close())

      beforeEach(async () => {
        prefix = configureBackend(backend)
        watch = probes()
        told = undefined
        await seedBookstore(store)
        const books = Array.from({ length: ROWS - 3 }, (_, i) => ({ id: i + 4, title: `t${i}`, ownerId: (i % OWNERS) + 1 }))
        await store.Book.bulkCreate(books, { hooks: false })
        const seats = Array.from({ length: ROWS }, (_, i) => ({ row: String.fromCharCode(65 + (i % 26)), number: Math.floor(i / 26), holder: i % OWNERS }))
        await SeatModel.bulkCreate(seats, { hooks: false })
      })
      afterEach(async () => {
        sinon.restore()
        // Thousands of probes and guards per test: the shared Redis is left as it was found.
        if (backend === 'redis') {
          for await (const keys of (redisClient() as Redis).scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
            if (keys.length > 0) await redisClient().unlink(...keys)
          }
        }
      })

      /** The keys of every book as it is now. */
      async function bookKeys(): Promise<string[]> {
        const rows = await store.Book.findAll({ paranoid: false })
        return [...new Set(rows.flatMap(row => row.cacheKey))]
      }

      /** Rows each lookup of the bulk hooks read. */
      function lookups(): { rows: () => Promise<number[]> } {
        const findAll = sinon.spy(store.Book, 'findAll')
        return { rows: async () => Promise.all(findAll.returnValues.map(async found => (await found).length)) }
      }

      it('a bulk update over several pages invalidates every row as it was and as it is, told a page at a time', async () => {
        const before = await bookKeys()
        const read = lookups()
        told = []
        await watch.expectInvalidated(() => store.Book.update({ ownerId: 99 }, { where: {} }), [...before, 'User:99:books'], [...before, 'User:99:books', 'Unrelated'])
        expect(told.length, 'calls').to.be.at.least(Math.ceil(ROWS / PAGE_ROWS))
        expect(Math.max(...told), 'rows per call: a page as it was and as it is').to.be.at.most(2 * PAGE_ROWS)
        expect(Math.max(...(await read.rows())), 'rows per lookup').to.be.at.most(PAGE_ROWS)
      })

      it('a bulk update with computed values reads its rows back a page at a time', async () => {
        const before = await bookKeys()
        const moved = Array.from({ length: OWNERS }, (_, i) => `User:${i + 2}:books`)
        const expected = [...new Set([...before, ...moved])]
        await watch.expectInvalidated(() => store.Book.update({ ownerId: store.sequelize.literal('"ownerId" + 1') }, { where: {} }), expected, [...expected, 'Unrelated'])
        expect(await bookKeys()).to.include.members(moved)
      })

      it('a bulk destroy and restore over several pages invalidate every row', async () => {
        const keys = await bookKeys()
        await watch.expectInvalidated(() => store.Book.destroy({ where: {} }), keys, [...keys, 'Unrelated'])
        await watch.expectInvalidated(() => store.Book.restore({ where: {} }), keys, [...keys, 'Unrelated'])
      })

      it('pages over a composite primary key', async () => {
        const seats = await SeatModel.findAll()
        const keys = [...new Set(seats.flatMap(seat => seat.cacheKey))]
        await watch.expectInvalidated(() => SeatModel.update({ holder: 7 }, { where: {} }), keys, [...keys, 'Unrelated'])
      })

      it('with cachemeBulkLimit = Infinity, names every row’s keys and never the whole prefix', async () => {
        const onError = sinon.spy()
        // Thousands of keys per page: a step that outlives the default timeout on a busy machine would be replayed, and the process serve nothing meanwhile.
        prefix = configureBackend(backend, { onError, timeout: 5 })
        const model = store.Book as unknown as { cachemeBulkLimit?: number }
        model.cachemeBulkLimit = Infinity
        try {
          const before = await bookKeys()
          await watch.expectInvalidated(() => store.Book.update({ ownerId: 98 }, { where: {} }), [...before, 'User:98:books'], [...before, 'User:98:books', 'Unrelated'])
        } finally {
          delete model.cachemeBulkLimit
        }
        expect(
          onError.getCalls().map(call => String(call.args[0])),
          'faults',
        ).to.deep.equal([])
      })

      describe('past the bulk limit', () => {
        const LIMIT = PAGE_ROWS
        beforeEach(() => ((store.Book as unknown as { cachemeBulkLimit?: number }).cachemeBulkLimit = LIMIT))
        afterEach(() => delete (store.Book as unknown as { cachemeBulkLimit?: number }).cachemeBulkLimit)

        it('reads no more than the limit and one row, and invalidates every entry under the prefix', async () => {
          const read = lookups()
          await watch.expectInvalidated(() => store.Book.update({ title: 'x' }, { where: {} }), ['Book:1', 'User:1:books', 'Unrelated'], ['Book:1', 'User:1:books', 'Unrelated'])
          const rows = await read.rows()
          expect(rows.reduce((sum, count) => sum + count, 0)).to.be.at.most(LIMIT + 1)
        })

        it('invalidates everything when the transaction commits, not before, and not on rollback', async () => {
          await watch.prime('Book:1', 'Unrelated')
          const rolledBack = await store.sequelize.transaction()
          await store.Book.update({ title: 'x' }, { where: {}, transaction: rolledBack })
          await rolledBack.rollback()
          expect(await watch.invalidated('Book:1', 'Unrelated')).to.deep.equal([])

          const transaction = await store.sequelize.transaction()
          await store.Book.destroy({ where: {}, transaction })
          expect(await watch.invalidated('Book:1', 'Unrelated')).to.deep.equal([])
          await transaction.commit()
          expect(await watch.invalidated('Book:1', 'Unrelated')).to.deep.equal(['Book:1', 'Unrelated'])
        })

        it('does not limit a write over fewer rows', async () => {
          await watch.expectInvalidated(
            () => store.Book.update({ title: 'x' }, { where: { id: [1, 2] } }),
            ['Book:1', 'Book:2', 'User:1:books', 'User:2:books'],
            ['Book:1', 'Book:2', 'User:1:books', 'User:2:books', 'Unrelated'],
          )
        })
      })

      it('a lookup that fails is reported, and every entry under the prefix is invalidated after the write', async () => {
        const onError = sinon.spy()
        prefix = configureBackend(backend, { onError })
        sinon.stub(store.Book, 'findAll').onFirstCall().rejects(new Error('connection lost')).callThrough()
        await watch.expectInvalidated(() => store.Book.update({ title: 'x' }, { where: { id: 1 } }), ['Book:1', 'Unrelated'], ['Book:1', 'Unrelated'])
        expect(onError.callCount).to.equal(1)
        expect(onError.firstCall.args[0].message).to.equal('connection lost')
      })

      it('a cachemeBulkLimit that is not a whole number is reported, and the write invalidates every entry under the prefix', async () => {
        const onError = sinon.spy()
        prefix = configureBackend(backend, { onError })
        const model = store.Book as unknown as { cachemeBulkLimit?: unknown }
        model.cachemeBulkLimit = -1
        try {
          await watch.expectInvalidated(() => store.Book.update({ title: 'x' }, { where: { id: 1 } }), ['Book:1', 'Unrelated'], ['Book:1', 'Unrelated'])
        } finally {
          delete model.cachemeBulkLimit
        }
        expect(onError.firstCall.args[0]).to.be.instanceOf(CachemeError).with.property('message', 'Book: cachemeBulkLimit must be a whole number of rows >= 0, got -1')
      })
    })
  }
}
