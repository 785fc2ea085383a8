import { expect } from 'chai'
import { Op } from 'sequelize'
import sinon from 'sinon'
import { CachemeError, invalidateRows, registerInvalidModels } from '../../src'
import { openPoll, PollCache, seedPoll, type Poll } from '../instance-cache/poll'
import { BACKENDS, configureBackend } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { openBookstore, seedBookstore, type Bookstore } from './models'
import { withCls } from './cls'
import { probes } from './probes'

for (const db of testDatabases()) {
  for (const backend of BACKENDS) {
    describe(`Write paths that move, compute or half-load rows, on ${db.dialect} with the ${backend} store`, function () {
      let store: Bookstore
      let watch: ReturnType<typeof probes>
      /** Table names as the database spells them, for raw queries. */
      let table: (model: { getTableName(): unknown }) => string

      before(() => {
        store = openBookstore(db)
        registerInvalidModels([store.User, store.Book, store.Listing])
        table = model => store.sequelize.getQueryInterface().quoteIdentifier(String(model.getTableName()))
      })
      after(() => store.sequelize.close())

      beforeEach(async () => {
        configureBackend(backend)
        watch = probes()
        await seedBookstore(store)
      })

      const expectInvalidated = (change: () => Promise<unknown>, expected: string[], watched: string[]) => watch.expectInvalidated(change, expected, watched)

      const owners = ['User:1:books', 'User:2:books', 'User:3:books']
      const listings = ['Listing:1', 'Listing:2', 'Listings:in-stock', 'Listings:sold-out']

      describe('upsert and bulkCreate with updateOnDuplicate', () => {
        it('an upsert that moves a row to another owner invalidates its keys as it was and as it is', async () => {
          await expectInvalidated(() => store.Book.upsert({ id: 1, title: 'a', ownerId: 2 }), ['Book:1', 'User:1:books', 'User:2:books'], ['Book:1', 'Book:2', ...owners])
          expect((await store.Book.findByPk(1))!.ownerId).to.equal(2)
        })

        it('an upsert that finds its row by a unique key invalidates that row as it was and as it is', async () => {
          await expectInvalidated(() => store.Listing.upsert({ sku: 'L1', stock: 0 }), ['Listing:1', 'Listings:in-stock', 'Listings:sold-out'], listings)
        })

        it('an upsert that creates its row invalidates the new keys', async () => {
          await expectInvalidated(() => store.Book.upsert({ id: 10, title: 'x', ownerId: 3 }), ['Book:10', 'User:3:books'], ['Book:1', 'Book:10', ...owners])
        })

        it('bulkCreate with updateOnDuplicate invalidates the rows it moves as they were and as they are, and the rows it creates', async () => {
          await expectInvalidated(
            () =>
              store.Book.bulkCreate(
                [
                  { id: 1, title: 'a', ownerId: 3 },
                  { id: 2, title: 'b', ownerId: 3 },
                  { id: 10, title: 'x', ownerId: 3 },
                ],
                { updateOnDuplicate: ['ownerId'] },
              ),
            ['Book:1', 'Book:2', 'Book:10', ...owners],
            ['Book:1', 'Book:2', 'Book:3', 'Book:10', ...owners],
          )
        })

        it('bulkCreate with updateOnDuplicate names the rows as they are: a column it does not update keeps its value', async () => {
          await expectInvalidated(
            () => store.Book.bulkCreate([{ id: 1, title: 'z', ownerId: 3 }], { updateOnDuplicate: ['title'] }),
            ['Book:1', 'User:1:books'],
            ['Book:1', ...owners],
          )
          expect((await store.Book.findByPk(1))!.ownerId).to.equal(1)
        })

        it('an upsert inside a transaction reads the row as the transaction sees it, and invalidates after the commit', async () => {
          await watch.prime('Book:1', ...owners)
          await store.sequelize.transaction(async transaction => {
            // A write the hooks do not see, so that only a read inside the transaction knows owner 3.
            await store.Book.update({ ownerId: 3 }, { where: { id: 1 }, transaction, hooks: false })
            await store.Book.upsert({ id: 1, title: 'a', ownerId: 2 }, { transaction })
            expect(await watch.invalidated('Book:1', ...owners)).to.deep.equal([])
          })
          expect(await watch.invalidated('Book:1', ...owners)).to.have.members(['Book:1', 'User:3:books', 'User:2:books'])
        })
      })

      describe('Model.update with computed values', () => {
        it('sequelize.literal: invalidates the rows as the write left them', async () => {
          await expectInvalidated(
            () => store.Book.update({ ownerId: store.sequelize.literal('"ownerId" + 1') }, { where: { id: 1 } }),
            ['Book:1', 'User:1:books', 'User:2:books'],
            ['Book:1', 'Book:2', ...owners],
          )
        })

        it('sequelize.col and sequelize.fn: invalidate the rows as the write left them', async () => {
          await expectInvalidated(
            () => store.Book.update({ ownerId: store.sequelize.col('id') }, { where: { ownerId: 2 } }),
            ['Book:2', 'Book:3', 'User:2:books', 'User:3:books'],
            ['Book:1', 'Book:2', 'Book:3', ...owners],
          )
          await expectInvalidated(
            () => store.Book.update({ ownerId: store.sequelize.fn('ABS', -1) }, { where: { id: 3 } }),
            ['Book:3', 'User:3:books', 'User:1:books'],
            ['Book:1', 'Book:3', ...owners],
          )
        })

        it('with individualHooks: invalidates each row as the write left it', async () => {
          await expectInvalidated(
            () => store.Book.update({ ownerId: store.sequelize.literal('"ownerId" + 1') }, { where: { id: 1 }, individualHooks: true }),
            ['Book:1', 'User:1:books', 'User:2:books'],
            ['Book:1', 'Book:2', ...owners],
          )
        })

        it('an instance saved with a computed value invalidates the row as it was and as the write left it', async () => {
          const book = await store.Book.findByPk(2)
          book!.set('ownerId', store.sequelize.literal('"ownerId" + 1'))
          await expectInvalidated(() => book!.save(), ['Book:2', 'User:2:books', 'User:3:books'], ['Book:1', 'Book:2', ...owners])
        })

        it('inside a transaction: reads the rows back in it, and invalidates after the commit', async () => {
          await watch.prime('Book:1', ...owners)
          const transaction = await store.sequelize.transaction()
          await store.Book.update({ ownerId: store.sequelize.literal('"ownerId" + 2') }, { where: { id: 1 }, transaction })
          expect(await watch.invalidated('Book:1', ...owners)).to.deep.equal([])
          await transaction.commit()
          expect(await watch.invalidated('Book:1', ...owners)).to.have.members(['Book:1', 'User:1:books', 'User:3:books'])
        })
      })

      describe('instances loaded with some attributes only', () => {
        const partially = (id: number) => store.Book.findByPk(id, { attributes: ['id', 'title'] })

        it('update: invalidates the keys of the whole row', async () => {
          const book = await partially(1)
          await expectInvalidated(() => book!.update({ title: 'renamed' }), ['Book:1', 'User:1:books'], ['Book:1', 'Book:2', ...owners])
        })

        it('save of a column it was not loaded with: the keys as it was and as it is', async () => {
          const book = await partially(1)
          book!.set('ownerId', 2)
          await expectInvalidated(() => book!.save(), ['Book:1', 'User:1:books', 'User:2:books'], ['Book:1', 'Book:2', ...owners])
        })

        it('destroy: invalidates the keys of the whole row', async () => {
          const book = await partially(2)
          await expectInvalidated(() => book!.destroy(), ['Book:2', 'User:2:books'], ['Book:1', 'Book:2', ...owners])
        })

        it('restore: invalidates the keys of the whole row', async () => {
          await (await store.Book.findByPk(2))!.destroy()
          const book = await store.Book.findByPk(2, { attributes: ['id', 'title', 'deletedAt'], paranoid: false })
          await expectInvalidated(() => book!.restore(), ['Book:2', 'User:2:books'], ['Book:1', 'Book:2', ...owners])
        })

        it('inside a transaction: reads the columns it lacks in that transaction', async () => {
          await watch.prime('Book:1', ...owners)
          await store.sequelize.transaction(async transaction => {
            await store.Book.update({ ownerId: 3 }, { where: { id: 1 }, transaction, hooks: false })
            const book = await store.Book.findByPk(1, { attributes: ['id', 'title'], transaction })
            await book!.update({ title: 'renamed' }, { transaction })
          })
          expect(await watch.invalidated('Book:1', ...owners)).to.have.members(['Book:1', 'User:3:books'])
        })
      })

      describe('increment and decrement', () => {
        it('of an instance: invalidate the row as it was and as it is', async () => {
          const listing = await store.Listing.findByPk(2)
          await expectInvalidated(() => listing!.increment('stock'), ['Listing:2', 'Listings:sold-out', 'Listings:in-stock'], listings)
          await expectInvalidated(() => listing!.decrement('stock'), ['Listing:2', 'Listings:sold-out', 'Listings:in-stock'], listings)
          expect((await store.Listing.findByPk(2))!.stock).to.equal(0)
        })

        it('Model.increment and Model.decrement with a where: invalidate the matching rows', async () => {
          await expectInvalidated(() => store.Listing.decrement('stock', { by: 2, where: { id: 1 } }), ['Listing:1', 'Listings:in-stock', 'Listings:sold-out'], listings)
          await expectInvalidated(() => store.Listing.increment({ stock: 5 }, { where: { stock: 0 } }), [...listings], listings)
          await expectInvalidated(
            () => store.Book.increment('ownerId', { where: { ownerId: 2 } }),
            ['Book:2', 'Book:3', 'User:2:books', 'User:3:books'],
            ['Book:1', 'Book:2', 'Book:3', ...owners],
          )
        })

        it('inside a transaction: invalidate after the commit, and not on rollback', async () => {
          await watch.prime(...listings)
          const rolledBack = await store.sequelize.transaction()
          await (await store.Listing.findByPk(2, { transaction: rolledBack }))!.increment('stock', { transaction: rolledBack })
          await rolledBack.rollback()
          expect(await watch.invalidated(...listings)).to.deep.equal([])

          const committed = await store.sequelize.transaction()
          await store.Listing.increment('stock', { where: { id: 2 }, transaction: committed })
          expect(await watch.invalidated(...listings)).to.deep.equal([])
          await committed.commit()
          expect(await watch.invalidated(...listings)).to.have.members(['Listing:2', 'Listings:sold-out', 'Listings:in-stock'])
        })

        it('in a CLS-managed transaction: invalidate after the commit', async () => {
          await withCls(`cacheme-counters-${db.dialect}-${backend}`, async () => {
            await watch.prime(...listings)
            await store.sequelize.transaction(async () => {
              await (await store.Listing.findByPk(1))!.decrement('stock', { by: 2 })
              expect(await watch.invalidated(...listings)).to.deep.equal([])
            })
            expect(await watch.invalidated(...listings)).to.have.members(['Listing:1', 'Listings:in-stock', 'Listings:sold-out'])
          })
        })

        it('through a scope: invalidate the rows that the scope and the where match', async () => {
          store.Listing.addScope('inStock', { where: { stock: { [Op.gt]: 0 } } }, { override: true })
          await expectInvalidated(() => store.Listing.scope('inStock').increment('stock', { where: {} }), ['Listing:1', 'Listings:in-stock'], listings)
        })

        it('are wrapped once however often the model is registered: one read before the write and one after', async () => {
          registerInvalidModels([store.Listing, store.Listing])
          const lookups = sinon.spy(store.Listing, 'unscoped')
          try {
            await store.Listing.increment('stock', { where: { id: 1 } })
          } finally {
            lookups.restore()
          }
          expect(lookups.callCount).to.equal(2)
        })

        it('with hooks: false: not seen, as for the other write paths', async () => {
          await expectInvalidated(() => store.Listing.increment('stock', { where: { id: 1 }, hooks: false } as object), [], listings)
        })
      })

      describe('invalidateRows()', () => {
        it('after a raw write, invalidates the keys of the rows its where finds', async () => {
          await expectInvalidated(
            async () => {
              await store.sequelize.query(`UPDATE ${table(store.Book)} SET title = 'raw' WHERE id = 1`)
              await invalidateRows(store.Book, { id: 1 })
            },
            ['Book:1', 'User:1:books'],
            ['Book:1', 'Book:2', ...owners],
          )
        })

        it('around a raw write that moves a row, in a transaction: the keys as it was and as it is, after the commit', async () => {
          await watch.prime('Book:1', ...owners)
          await store.sequelize.transaction(async transaction => {
            await invalidateRows(store.Book, { id: 1 }, { transaction })
            await store.sequelize.query(`UPDATE ${table(store.Book)} SET ${store.sequelize.getQueryInterface().quoteIdentifier('ownerId')} = 3 WHERE id = 1`, { transaction })
            await invalidateRows(store.Book, { id: 1 }, { transaction })
            expect(await watch.invalidated('Book:1', ...owners)).to.deep.equal([])
          })
          expect(await watch.invalidated('Book:1', ...owners)).to.have.members(['Book:1', 'User:1:books', 'User:3:books'])
        })

        it('refuses a model that no registration watches, and bad options', async () => {
          class Stranger {
            static addHook() {}
          }
          const refusal = async (call: () => Promise<void>) => {
            const error = await call().then(
              () => undefined,
              (caught: unknown) => caught,
            )
            expect(error).to.be.instanceOf(CachemeError)
            return (error as CachemeError).message
          }
          expect(await refusal(() => invalidateRows(Stranger, { id: 1 }))).to.match(/^invalidateRows\(\): Stranger is not a registered model/)
          expect(await refusal(() => invalidateRows(store.Book, null as unknown as object))).to.match(/^invalidateRows\(\): where must be an object/)
          expect(await refusal(() => invalidateRows(store.Book, { id: 1 }, { lock: true } as object))).to.match(/unknown option 'lock'/)
        })
      })
    })
  }

  describe(`invalidateRows() and the instance cache on ${db.dialect}`, () => {
    let poll: Poll

    before(() => {
      poll = openPoll(db)
    })
    after(() => poll.sequelize.close())

    for (const backend of BACKENDS) {
      it(`refreshes the cached instances of the rows after a raw write, with the ${backend} store`, async () => {
        configureBackend(backend)
        const cache = new PollCache(poll)
        cache.registerModels([poll.User, poll.Question, poll.Choice, poll.Vote])
        await seedPoll(poll)
        const text = async () => (await cache.getInstances([['Question', 1]])).get('Question:1')![0].text
        expect(await text()).to.equal('Tea or coffee?')
        await poll.sequelize.query(`UPDATE ${poll.sequelize.getQueryInterface().quoteIdentifier(String(poll.Question.getTableName()))} SET text = 'Raw?' WHERE id = 1`)
        expect(await text(), 'a raw write is not seen').to.equal('Tea or coffee?')
        await invalidateRows(poll.Question, { id: 1 })
        expect(await text()).to.equal('Raw?')
      })
    }
  })
}
