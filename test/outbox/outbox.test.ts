import { expect } from 'chai'
import sinon from 'sinon'
import { DataTypes, Model, Sequelize } from 'sequelize'
import { cacheme, configure, registerInvalidModels, relayOutbox, startRelay, type OutboxOptions } from '../../src'
import { Outbox } from '../../src/outbox/outbox'
import { BACKENDS, configureBackend, redisClient, sleep } from '../support/backends'
import { withCls } from '../sequelize/cls'
import { testDatabases } from '../support/fixtures'
import { openShelf, seedShelf, shelfUrl, ShelfCache, staleness, type Shelf } from './shelf'

const RELAY_AFTER = 0.1
const FRESH = { titles: 0, books: 0, owners: 0 }

for (const db of testDatabases()) {
  describe(`the outbox on ${db.dialect}`, function () {
    this.timeout(30_000)
    let shelf: Shelf
    let cache: ShelfCache
    /** Book ids whose title was computed, in order. */
    let computed: number[] = []
    let title: (id: number) => Promise<string>

    before(async () => {
      shelf = openShelf(shelfUrl(db))
      configureBackend('memory', { outbox: outboxOf(shelf) })
      await shelf.sequelize.sync({ force: true })
      cache = new ShelfCache(shelf)
      cache.registerModels([shelf.Book, shelf.Owner])
      title = cacheme({ key: c => `Book:${c.id}>title`, invalidKeys: c => `Book:${c.id}` })(async (id: number) => {
        computed.push(id)
        return (await shelf.Book.findByPk(id))!.title
      })
    })
    after(() => shelf.sequelize.close())

    const outboxOf = (target: Shelf, options: Partial<OutboxOptions> = {}): OutboxOptions => ({ sequelize: target.sequelize, relayAfter: RELAY_AFTER, ...options })
    const outboxRows = () => shelf.sequelize.models.cacheme_outbox.count()

    async function seeded(backend: (typeof BACKENDS)[number], options: Parameters<typeof configureBackend>[1] = {}): Promise<string> {
      const prefix = configureBackend(backend, { outbox: outboxOf(shelf), ...options })
      await seedShelf(shelf)
      await shelf.sequelize.models.cacheme_outbox.destroy({ where: {} })
      expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
      computed = []
      return prefix
    }

    /** How many outbox rows there are when a book's `hook` runs for `write`: added after cacheme's hooks, it runs after them, before the write. */
    async function outboxRowsBefore(hook: 'beforeUpdate' | 'beforeBulkUpdate', write: () => Promise<unknown>): Promise<number | undefined> {
      let during: number | undefined
      shelf.Book.addHook(hook, 'counts', async () => void (during = await outboxRows()))
      try {
        await write()
      } finally {
        shelf.Book.removeHook(hook, 'counts')
      }
      return during
    }

    /** A write outside a transaction that fails after cacheme recorded its intent: the intent stays. */
    async function failedWrite(): Promise<void> {
      shelf.Book.addHook('beforeUpdate', 'fails', () => {
        throw new Error('refused by the application')
      })
      try {
        const book = await shelf.Book.findByPk(1)
        await book!.update({ title: 'never written', ownerId: 2 }).then(
          () => expect.fail('the write succeeded'),
          (error: Error) => expect(error.message).to.equal('refused by the application'),
        )
      } finally {
        shelf.Book.removeHook('beforeUpdate', 'fails')
      }
    }

    for (const backend of BACKENDS) {
      describe(`with the ${backend} store`, () => {
        it('a committed change is delivered and its row deleted by the committing process', async () => {
          await seeded(backend)
          await shelf.sequelize.transaction(async transaction => (await shelf.Book.findByPk(1, { transaction }))!.update({ title: 'new 1', ownerId: 2 }, { transaction }))
          expect(await outboxRows()).to.equal(0)
          expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
          expect(computed).to.deep.equal([1])
        })

        it('a rolled-back transaction leaves no outbox row, and the cache as it was', async () => {
          await seeded(backend)
          const transaction = await shelf.sequelize.transaction()
          await (await shelf.Book.findByPk(1, { transaction }))!.update({ title: 'rolled back' }, { transaction })
          await shelf.Owner.update({ name: 'rolled back' }, { where: { id: 1 }, transaction })
          expect(await shelf.sequelize.models.cacheme_outbox.count({ transaction }), 'recorded inside the transaction').to.equal(2)
          await transaction.rollback()
          expect(await outboxRows()).to.equal(0)
          expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
          expect(computed, 'nothing was invalidated').to.deep.equal([])
        })

        it('outside a transaction, the intent is recorded before the write and deleted after its delivery', async () => {
          await seeded(backend)
          const book = (await shelf.Book.findByPk(1))!
          expect(await outboxRowsBefore('beforeUpdate', () => book.update({ title: 'new 1' }))).to.equal(1)
          expect(await outboxRows()).to.equal(0)
          expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
        })

        it('a write that fails after its intent leaves an extra invalidation, which a relay delivers harmlessly', async () => {
          await seeded(backend)
          await failedWrite()
          expect(await outboxRows()).to.equal(1)
          expect(await relayOutbox(), 'not yet: younger than relayAfter').to.equal(0)
          await sleep(RELAY_AFTER * 1000 + 50)
          expect(await relayOutbox()).to.equal(1)
          expect(await outboxRows()).to.equal(0)
          expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
          expect(computed, 'recomputed once, to the same title').to.deep.equal([1])
        })
      })
    }

    it('a CLS-managed transaction records in itself: its rollback leaves no row, its commit delivers', async () => {
      await seeded('redis')
      await withCls('cacheme-outbox', async () => {
        await shelf.sequelize
          .transaction(async () => {
            await shelf.Book.update({ title: 'rolled back' }, { where: { id: 1 } })
            expect(await outboxRows(), 'recorded inside the transaction').to.equal(1)
            throw new Error('roll back')
          })
          .catch((error: Error) => expect(error.message).to.equal('roll back'))
        expect(await outboxRows()).to.equal(0)
        expect(await title(1)).to.equal('old 1')
        await shelf.sequelize.transaction(async () => shelf.Book.update({ title: 'new 1' }, { where: { id: 1 } }))
        expect(await outboxRows()).to.equal(0)
        expect(await title(1)).to.equal('new 1')
      })
    })

    it('outside a transaction, a bulk write records its intent before it runs, from the rows it is about to touch', async () => {
      await seeded('redis')
      expect(await outboxRowsBefore('beforeBulkUpdate', () => shelf.Book.update({ title: 'renamed' }, { where: { ownerId: 1 } }))).to.equal(1)
      expect(await outboxRows()).to.equal(0)
      expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
    })

    it('a bulk write past its limit records "everything", which a relay delivers when its committer did not', async () => {
      await seeded('redis')
      const invalidation = await import('../../src/invalidation')
      // The committer dies in its delivery, before it did anything: its row is never settled.
      const stalled = sinon.stub(invalidation, 'invalidateEverything').rejects(new Error('the committer died here'))
      Object.assign(shelf.Book, { cachemeBulkLimit: 1 })
      try {
        // A real death never returns; the stub's error comes back through the commit's delivery.
        const died = await shelf.sequelize
          .transaction(transaction => shelf.Book.update({ title: 'renamed' }, { where: {}, transaction }))
          .then(
            () => undefined,
            (error: Error) => error.message,
          )
        expect(died).to.equal('the committer died here')
        expect(stalled.callCount, 'the committer started its delivery').to.equal(1)
        expect(await outboxRows()).to.equal(1)
        expect((await staleness(shelf, cache, title)).titles, 'the old titles are still served').to.be.above(0)
        stalled.restore()
        await sleep(RELAY_AFTER * 1000 + 50)
        expect(await relayOutbox()).to.equal(1)
        expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
      } finally {
        stalled.restore()
        Object.assign(shelf.Book, { cachemeBulkLimit: undefined })
      }
    })

    it('outside a transaction, an intent holds what only the write tells (a computed owner) before the delivery begins', async () => {
      await seeded('redis')
      const book = (await shelf.Book.findByPk(1))!
      let recorded: string | undefined
      // The delivery's cascade reloads the owners: what the outbox row says by then is what a death would leave.
      shelf.Owner.addHook('beforeFind', 'reads the outbox', async () => {
        recorded ??= ((await shelf.sequelize.models.cacheme_outbox.findAll({ raw: true })) as unknown as { jobs: string }[]).map(row => row.jobs).join()
      })
      try {
        await book.update({ ownerId: shelf.sequelize.literal('"ownerId" + 1') })
      } finally {
        shelf.Owner.removeHook('beforeFind', 'reads the outbox')
      }
      expect(recorded).to.include('"Owner:2:books"').and.include('"Owner:1:books"')
      expect(await outboxRows()).to.equal(0)
      expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
    })

    it('a relay leaves alone the rows of a transaction still open, however old they are', async () => {
      await seeded('redis')
      const transaction = await shelf.sequelize.transaction()
      await (await shelf.Book.findByPk(1, { transaction }))!.update({ title: 'new 1' }, { transaction })
      await sleep(RELAY_AFTER * 1000 + 50)
      expect(await relayOutbox()).to.equal(0)
      expect(await title(1), 'not invalidated before the commit').to.equal('old 1')
      await transaction.commit()
      expect(await outboxRows()).to.equal(0)
      expect(await relayOutbox()).to.equal(0)
      expect(await title(1)).to.equal('new 1')
    })

    it('a committer that cannot reach Redis keeps its row; a relay that cannot either keeps it too, then delivers it', async () => {
      await seeded('redis', { timeout: 0.1 })
      await redisClient().call('CLIENT', 'PAUSE', '10000', 'WRITE')
      try {
        await shelf.sequelize.transaction(async transaction => (await shelf.Book.findByPk(1, { transaction }))!.update({ title: 'new 1' }, { transaction }))
        expect(await outboxRows(), 'kept while its invalidation waits in the replay queue').to.equal(1)
        await sleep(RELAY_AFTER * 1000 + 50)
        expect(await relayOutbox()).to.equal(0)
        expect(await outboxRows()).to.equal(1)
      } finally {
        await redisClient().call('CLIENT', 'UNPAUSE')
      }
      const { runtime } = await import('../../src/config')
      for (let tries = 0; tries < 100 && runtime().pendingInvalidations!() > 0; tries++) await sleep(50)
      expect(await relayOutbox()).to.equal(1)
      expect(await outboxRows()).to.equal(0)
      expect(await title(1)).to.equal('new 1')
    })

    it('a refresh whose claim fails deletes the instance instead of leaving it stale', async () => {
      await seeded('redis', { outbox: undefined })
      const { runtime } = await import('../../src/config')
      const claim = sinon.stub(runtime().store, 'claimMany').rejects(new Error('connection lost'))
      try {
        await (await shelf.Book.findByPk(1))!.update({ title: 'new 1' })
      } finally {
        claim.restore()
      }
      expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
    })

    it('startRelay() delivers what is left every interval until stopped', async () => {
      await seeded('redis')
      const relay = startRelay({ interval: 0.05 })
      try {
        await failedWrite()
        for (let tries = 0; tries < 100 && (await outboxRows()) > 0; tries++) await sleep(20)
        expect(await outboxRows()).to.equal(0)
        expect(computed).to.deep.equal([])
        expect(await title(1)).to.equal('old 1')
        expect(computed, 'the relay invalidated it').to.deep.equal([1])
      } finally {
        await relay.stop()
      }
      await failedWrite()
      await sleep(RELAY_AFTER * 1000 + 200)
      expect(await outboxRows(), 'a stopped relay delivers nothing').to.equal(1)
    })

    it('the migration in the README creates a table the outbox uses', async () => {
      const queryInterface = shelf.sequelize.getQueryInterface()
      await queryInterface.dropTable('cacheme_migrated').catch(() => {})
      const Sequelize = { BIGINT: DataTypes.BIGINT, STRING: DataTypes.STRING, TEXT: DataTypes.TEXT }
      await queryInterface.createTable('cacheme_migrated', {
        id: { type: Sequelize.BIGINT, autoIncrement: true, primaryKey: true },
        model: { type: Sequelize.STRING, allowNull: false },
        jobs: { type: Sequelize.TEXT, allowNull: false },
        recorded_at: { type: Sequelize.BIGINT, allowNull: false },
      })
      await queryInterface.addIndex('cacheme_migrated', ['recorded_at'])
      try {
        await seeded('redis', { outbox: outboxOf(shelf, { tableName: 'cacheme_migrated' }) })
        await failedWrite()
        expect(await shelf.sequelize.models.cacheme_migrated.count()).to.equal(1)
        await sleep(RELAY_AFTER * 1000 + 50)
        expect(await relayOutbox()).to.equal(1)
        expect(await shelf.sequelize.models.cacheme_migrated.count()).to.equal(0)
      } finally {
        await queryInterface.dropTable('cacheme_migrated')
      }
    })

    describe('two relays', () => {
      /** Five due rows of a model this process does not know, delivered portably. */
      async function dueRows(): Promise<void> {
        await seeded('redis')
        const jobs = (id: number) => JSON.stringify({ dependencies: { invalidKeys: [`Book:${id}`], grace: true } })
        await shelf.sequelize.models.cacheme_outbox.bulkCreate([1, 2, 3, 4, 5].map(id => ({ model: 'Gone', jobs: jobs(id), recordedAt: 0 })))
      }
      const relays = () => [new Outbox(outboxOf(shelf)), new Outbox(outboxOf(shelf))]

      it(`deliver each row once: the rows one relay holds are not due for the other (${db.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : 'claimed under BEGIN IMMEDIATE'})`, async () => {
        await dueRows()
        const [first, second] = relays()
        const handed: number[] = []
        const seen = await first.relay(100, async rows => {
          // While the first relay delivers, the second makes its pass.
          handed.push(await second.relay(100, async others => others.map(row => row.id)))
          return rows.map(row => row.id)
        })
        expect([seen, ...handed]).to.deep.equal([5, 0])
        expect(await outboxRows()).to.equal(0)
      })

      it('a relay that fails while it holds rows leaves them due again for the other', async () => {
        await dueRows()
        const [first, second] = relays()
        await first
          .relay(2, () => Promise.reject(new Error('died while delivering')))
          .then(
            () => expect.fail('resolved'),
            (error: Error) => expect(error.message).to.equal('died while delivering'),
          )
        await sleep(RELAY_AFTER * 1000 + 50)
        expect(await second.relay(100, async rows => rows.map(row => row.id))).to.equal(5)
        expect(await outboxRows()).to.equal(0)
      })
    })

    if (db.dialect === 'postgres') {
      it('relays share the rows: one skips the rows another holds (FOR UPDATE SKIP LOCKED), without waiting for them', async () => {
        await seeded('redis')
        await failedWrite()
        await sleep(RELAY_AFTER * 1000 + 50)
        const holder = await shelf.sequelize.transaction()
        try {
          expect(await shelf.sequelize.models.cacheme_outbox.findAll({ transaction: holder, lock: true })).to.have.length(1)
          const started = Date.now()
          expect(await relayOutbox()).to.equal(0)
          expect(Date.now() - started).to.be.below(1000)
        } finally {
          await holder.commit()
        }
        expect(await relayOutbox()).to.equal(1)
        expect(await outboxRows()).to.equal(0)
      })
    }
  })
}

describe('the outbox and a model of another Sequelize instance', () => {
  it("is reported once, and the model's changes are still delivered, not durably", async () => {
    const shelf = openShelf('sqlite::memory:')
    const other = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false })
    class Note extends Model {
      declare id: number
      get cacheKey(): string {
        return `Note:${this.id}`
      }
    }
    Note.init({ text: DataTypes.STRING }, { sequelize: other, modelName: 'Note' })
    try {
      await other.sync()
      const faults: unknown[] = []
      configureBackend('redis', { outbox: { sequelize: shelf.sequelize }, onError: error => faults.push(error) })
      registerInvalidModels([Note])
      let computations = 0
      const note = cacheme({ key: () => 'note:1', invalidKeys: () => 'Note:1' })(async () => ++computations)
      const first = await Note.create({ id: 1, text: 'a' })
      expect(await note()).to.equal(1)
      await first.update({ text: 'b' })
      expect(await note()).to.equal(2)
      await first.update({ text: 'c' })
      expect(await note()).to.equal(3)
      expect(faults.map(fault => (fault as Error).message)).to.deep.equal([
        'Note is on another Sequelize instance than the outbox: its changes cannot be recorded in their transactions, and their invalidations are not durable',
      ])
    } finally {
      await Promise.all([other.close(), shelf.sequelize.close()])
    }
  })
})

describe('outbox options', () => {
  it('are checked at configure(), and the relay needs an outbox', async () => {
    const refused = (options: unknown) => () => configure({ store: 'memory', outbox: options as OutboxOptions })
    expect(refused({})).to.throw('configure(): outbox.sequelize must be a Sequelize instance')
    expect(refused(null)).to.throw('configure(): outbox must be an object, got null')
    expect(refused({ sequelize: {}, relay: true })).to.throw("configure(): unknown option 'relay' (known: sequelize, tableName, relayAfter)")
    const { sequelize } = openShelf('sqlite::memory:')
    try {
      expect(refused({ sequelize, relayAfter: 0 })).to.throw('configure(): outbox.relayAfter must be a number of seconds > 0, got 0')
      expect(refused({ sequelize, tableName: '' })).to.throw('configure(): outbox.tableName must be a non-empty string')
      configure({ store: 'memory', outbox: { sequelize } })
      expect(() => startRelay({ interval: -1 })).to.throw('startRelay(): interval must be a number of seconds > 0, got -1')
    } finally {
      await sequelize.close()
    }
    configureBackend('memory')
    expect(() => startRelay()).to.throw('startRelay(): no outbox is configured: configure({ outbox: { sequelize } }) first')
    await relayOutbox().then(
      () => expect.fail('resolved'),
      (error: Error) => expect(error.message).to.equal('relayOutbox(): no outbox is configured: configure({ outbox: { sequelize } }) first'),
    )
  })
})
