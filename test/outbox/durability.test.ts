// A writer process dies at the worst moments, and the test reads what the cache then serves.
// Without the outbox the invalidation dies with it; with it, another process's relay delivers it.
import { expect } from 'chai'
import { relayOutbox } from '../../src'
import { configureBackend, redisClient, sleep } from '../support/backends'
import { testDatabases, testRedisUrl } from '../support/fixtures'
import { memoizedTitle, openShelf, seedShelf, shelfUrl, ShelfCache, staleness, type Shelf } from './shelf'
import { Writer } from './writers'
import type { StopPoint, WriterTask } from './writer'

/** The writers' relayAfter, in seconds (test/outbox/writer.ts). */
const RELAY_AFTER = 0.2
const FRESH = { titles: 0, books: 0, owners: 0 }
/** Books 1..3 renamed and moved from owner 1 to owner 2, none of it invalidated: every value is stale. */
const ALL_STALE = { titles: 3, books: 3, owners: 2 }

for (const db of testDatabases()) {
  describe(`durable invalidation on ${db.dialect}: a writer that dies`, function () {
    this.timeout(60_000)
    let url: string
    let shelf: Shelf
    let cache: ShelfCache
    let title: (id: number) => Promise<string>
    let prefix: string

    before(async () => {
      url = shelfUrl(db)
      shelf = openShelf(url)
      configureBackend('redis', { outbox: { sequelize: shelf.sequelize, relayAfter: RELAY_AFTER } })
      await shelf.sequelize.sync({ force: true })
      cache = new ShelfCache(shelf)
      cache.registerModels([shelf.Book, shelf.Owner])
      title = memoizedTitle(shelf)
    })
    after(() => shelf.sequelize.close())
    afterEach(() => redisClient().call('CLIENT', 'UNPAUSE'))

    const outboxRows = () => shelf.sequelize.models.cacheme_outbox.count()

    /** This process with or without the outbox, the shelf seeded, every value cached. */
    async function cached(outbox: boolean): Promise<void> {
      prefix = configureBackend('redis', outbox ? { outbox: { sequelize: shelf.sequelize, relayAfter: RELAY_AFTER } } : {})
      await seedShelf(shelf)
      await shelf.sequelize.models.cacheme_outbox.destroy({ where: {} })
      expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
    }

    function writer(outbox: boolean, stop: StopPoint, extra: Partial<WriterTask> = {}): Promise<Writer> {
      return Writer.start({ database: url, redis: testRedisUrl(), prefix, outbox, stop, ...extra })
    }

    /** Waits past relayAfter and runs this process's relay, which knows the instance cache. */
    async function relay(): Promise<number> {
      await sleep(RELAY_AFTER * 1000 + 50)
      return relayOutbox()
    }

    describe('SIGKILL right after the commit, Redis healthy', () => {
      it('without the outbox loses the invalidation: every value stays stale, with no ttl', async () => {
        await cached(false)
        const dying = await writer(false, 'commit')
        dying.go()
        await dying.reached('commit')
        await dying.kill()
        expect(await staleness(shelf, cache, title)).to.deep.equal(ALL_STALE)
        expect(await redisClient().pttl(`${prefix}Book:1`)).to.equal(-1)
      })

      it('with the outbox keeps it in the table, and a relay delivers it: nothing stale', async () => {
        await cached(true)
        const dying = await writer(true, 'commit')
        dying.go()
        await dying.reached('commit')
        await dying.kill()
        expect(await outboxRows(), 'one row per change of the transaction').to.equal(3)
        expect(await staleness(shelf, cache, title), 'until the relay').to.deep.equal(ALL_STALE)
        expect(await relay()).to.equal(3)
        expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
        expect(await outboxRows()).to.equal(0)
      })
    })

    describe('Redis writes paused (CLIENT PAUSE 2000 WRITE), the writer killed at the commit', () => {
      for (const outbox of [false, true]) {
        it(
          outbox ? 'with the outbox: the committer keeps its rows, and a relay delivers them once Redis answers' : 'without the outbox: the invalidations die in the replay queue',
          async () => {
            await cached(outbox)
            const dying = await writer(outbox, 'delivered', { timeout: 0.1 })
            await redisClient().call('CLIENT', 'PAUSE', '2000', 'WRITE')
            dying.go()
            const { pending } = (await dying.reached('delivered')) as { pending: number }
            expect(pending, 'invalidations waiting for Redis when it died').to.be.greaterThan(0)
            await dying.kill()
            await redisClient().call('CLIENT', 'UNPAUSE')
            if (!outbox) {
              expect(await staleness(shelf, cache, title)).to.deep.equal(ALL_STALE)
              expect(await redisClient().pttl(`${prefix}Book:1`)).to.equal(-1)
              return
            }
            expect(await outboxRows()).to.equal(3)
            expect(await relay()).to.equal(3)
            expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
          },
        )
      }
    })

    describe('a graceful shutdown() while invalidations wait for Redis', () => {
      it('without the outbox says through onError how many it dropped', async () => {
        await cached(false)
        const leaving = await writer(false, 'shutdown', { timeout: 0.1, wait: 0.3 })
        await redisClient().call('CLIENT', 'PAUSE', '3000', 'WRITE')
        leaving.go()
        await leaving.reached('shutdown')
        expect(await leaving.exited()).to.equal(0)
        await redisClient().call('CLIENT', 'UNPAUSE')
        const dropped = leaving.faults.filter(fault => fault.code === 'INVALIDATIONS_DROPPED')
        expect(dropped).to.have.length(1)
        expect(dropped[0].fault).to.match(/^shutdown\(\): \d+ invalidations were not delivered within 0\.3 s and dropped/)
        expect(await staleness(shelf, cache, title)).to.deep.equal(ALL_STALE)
      })

      it('with the outbox leaves them in the table, and a relay delivers them', async () => {
        await cached(true)
        const leaving = await writer(true, 'shutdown', { timeout: 0.1, wait: 0.3 })
        await redisClient().call('CLIENT', 'PAUSE', '3000', 'WRITE')
        leaving.go()
        await leaving.reached('shutdown')
        expect(await leaving.exited()).to.equal(0)
        await redisClient().call('CLIENT', 'UNPAUSE')
        expect(leaving.faults.filter(fault => fault.code === 'INVALIDATIONS_DROPPED')).to.deep.equal([])
        expect(await outboxRows()).to.equal(3)
        expect(await relay()).to.equal(3)
        expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
      })

      it('delivers within its wait what Redis takes once it answers again, and drops nothing', async () => {
        await cached(false)
        const leaving = await writer(false, 'shutdown', { timeout: 0.1, wait: 10 })
        await redisClient().call('CLIENT', 'PAUSE', '1000', 'WRITE')
        leaving.go()
        const { pending } = (await leaving.reached('shutdown')) as { pending: number }
        expect(pending, 'waiting when shutdown() began').to.be.greaterThan(0)
        expect(await leaving.exited()).to.equal(0)
        expect(leaving.faults.filter(fault => fault.code === 'INVALIDATIONS_DROPPED')).to.deep.equal([])
        expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
      })
    })

    describe('outside a transaction, SIGKILL between the write and its delivery', () => {
      /** Book 1 renamed and moved to owner 2: its title, its instance and both owners' lists. */
      const BOOK_1_STALE = { titles: 1, books: 1, owners: 2 }

      it('without the outbox loses the invalidation', async () => {
        await cached(false)
        const dying = await writer(false, 'write')
        dying.go()
        await dying.reached('write')
        await dying.kill()
        expect(await staleness(shelf, cache, title)).to.deep.equal(BOOK_1_STALE)
      })

      it('with the outbox, the intent recorded before the write is delivered by a relay: the row as it was and as it is', async () => {
        await cached(true)
        const dying = await writer(true, 'write')
        dying.go()
        await dying.reached('write')
        await dying.kill()
        expect(await outboxRows()).to.equal(1)
        expect(await relay()).to.equal(1)
        expect(await staleness(shelf, cache, title)).to.deep.equal(FRESH)
      })
    })
  })
}
