// A writer process dies at the worst moments, and the test reads what the cache then serves.
// Without the outbox the invalidation dies with it; with it, another process's relay delivers it.
import { expect } from 'chai'
import { relayOutbox } from '../../src'
import { redisClient, sleep } from '../support/backends'
import { testDatabases, testRedisUrl } from '../support/fixtures'
import { shelfSuite } from './shelf-suite'
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
    const suite = shelfSuite(db, RELAY_AFTER)
    afterEach(() => redisClient().call('CLIENT', 'UNPAUSE'))

    /** This process with or without the outbox, the shelf seeded, every value cached. */
    async function cached(outbox: boolean): Promise<void> {
      expect(await suite.cached(outbox)).to.deep.equal(FRESH)
    }

    function writer(outbox: boolean, stop: StopPoint, extra: Partial<WriterTask> = {}): Promise<Writer> {
      return Writer.start({ database: suite.url, redis: testRedisUrl(), prefix: suite.prefix, outbox, stop, ...extra })
    }

    /** Starts a writer, lets it change the books, and SIGKILLs it once it says it is at `stop`. */
    async function killedAt(outbox: boolean, stop: StopPoint): Promise<void> {
      const dying = await writer(outbox, stop)
      dying.go()
      await dying.reached(stop)
      await dying.kill()
    }

    /** Waits past relayAfter and runs this process's relay, which knows the instance cache. */
    async function relay(): Promise<number> {
      await sleep(RELAY_AFTER * 1000 + 50)
      return relayOutbox()
    }

    describe('SIGKILL right after the commit, Redis healthy', () => {
      it('without the outbox loses the invalidation: every value stays stale, with no ttl', async () => {
        await cached(false)
        await killedAt(false, 'commit')
        expect(await suite.staleness()).to.deep.equal(ALL_STALE)
        expect(await redisClient().pttl(`${suite.prefix}Book:1`)).to.equal(-1)
      })

      it('with the outbox keeps it in the table, and a relay delivers it: nothing stale', async () => {
        await cached(true)
        await killedAt(true, 'commit')
        expect(await suite.outboxRows(), 'one row per change of the transaction').to.equal(3)
        expect(await suite.staleness(), 'until the relay').to.deep.equal(ALL_STALE)
        expect(await relay()).to.equal(3)
        expect(await suite.staleness()).to.deep.equal(FRESH)
        expect(await suite.outboxRows()).to.equal(0)
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
              expect(await suite.staleness()).to.deep.equal(ALL_STALE)
              expect(await redisClient().pttl(`${suite.prefix}Book:1`)).to.equal(-1)
              return
            }
            expect(await suite.outboxRows()).to.equal(3)
            expect(await relay()).to.equal(3)
            expect(await suite.staleness()).to.deep.equal(FRESH)
          },
        )
      }
    })

    describe('a graceful shutdown() while invalidations wait for Redis', () => {
      /** A writer that commits while Redis writes are paused for `pauseMs`, then shuts down with `wait` seconds; its faults once it has exited. */
      async function shutDownDuringPause(outbox: boolean, pauseMs: number, wait: number) {
        const leaving = await writer(outbox, 'shutdown', { timeout: 0.1, wait })
        await redisClient().call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE')
        leaving.go()
        const { pending } = (await leaving.reached('shutdown')) as { pending: number }
        expect(pending, 'waiting when shutdown() began').to.be.greaterThan(0)
        expect(await leaving.exited()).to.equal(0)
        await redisClient().call('CLIENT', 'UNPAUSE')
        return leaving.faults.filter(fault => fault.code === 'INVALIDATIONS_DROPPED')
      }

      it('without the outbox says through onError how many it dropped', async () => {
        await cached(false)
        const dropped = await shutDownDuringPause(false, 6000, 0.3)
        expect(dropped).to.have.length(1)
        expect(dropped[0].fault).to.match(/^shutdown\(\): \d+ invalidations were not delivered within 0\.3 s and dropped/)
        expect(await suite.staleness()).to.deep.equal(ALL_STALE)
      })

      it('with the outbox leaves them in the table, and a relay delivers them', async () => {
        await cached(true)
        expect(await shutDownDuringPause(true, 6000, 0.3)).to.deep.equal([])
        expect(await suite.outboxRows()).to.equal(3)
        expect(await relay()).to.equal(3)
        expect(await suite.staleness()).to.deep.equal(FRESH)
      })

      it('delivers within its wait what Redis takes once it answers again, and drops nothing', async () => {
        await cached(false)
        expect(await shutDownDuringPause(false, 1000, 10)).to.deep.equal([])
        expect(await suite.staleness()).to.deep.equal(FRESH)
      })
    })

    describe('outside a transaction, SIGKILL between the write and its delivery', () => {
      /** Book 1 renamed and moved to owner 2: its title, its instance and both owners' lists. */
      const BOOK_1_STALE = { titles: 1, books: 1, owners: 2 }

      it('without the outbox loses the invalidation', async () => {
        await cached(false)
        await killedAt(false, 'write')
        expect(await suite.staleness()).to.deep.equal(BOOK_1_STALE)
      })

      it('with the outbox, the intent recorded before the write is delivered by a relay: the row as it was and as it is', async () => {
        await cached(true)
        await killedAt(true, 'write')
        expect(await suite.outboxRows()).to.equal(1)
        expect(await relay()).to.equal(1)
        expect(await suite.staleness()).to.deep.equal(FRESH)
      })
    })
  })
}
