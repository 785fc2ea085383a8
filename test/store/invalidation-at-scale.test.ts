import { expect } from 'chai'
import Redis from 'ioredis'
import sinon from 'sinon'
import { KeyLayout } from '../../src/keys'
import { seal } from '../../src/store/envelope'
import { MemoryStore } from '../../src/store/memory-store'
import { ENTRIES_PER_STEP, MEMBERS_PER_STEP, RedisStore, SETS_PER_STEP } from '../../src/store/redis-store'
import { GUARD_TTL_MS, type Store } from '../../src/store/store'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'

/** Well above the 130,000 or so keys at which spreading one key per argument overflowed the call stack. */
const SETS = 200_000
/** Every tenth set lists an entry; one set lists more members than several steps pop. */
const LISTED_EVERY = 10
const CROWD = 5_000

const layout = new KeyLayout('S:')
const setName = (i: number) => layout.invalidSet(`Row:${i}`)
const listedKey = (i: number) => (i % 20 === 0 ? `Book:${i}>owner` : `Book:${i}`)
const crowdKey = (i: number) => `Crowd:${i % 50}>f${i}`

/** The sequence as a miss reads it before computing. */
async function sequence(store: Store): Promise<number> {
  return (await store.read(layout.entry('never-written', 'test'))).seq!
}

async function expectAllInvalidated(store: Store, sets: readonly string[], entries: readonly string[], before: number): Promise<void> {
  for (let from = 0; from < entries.length; from += 1000) {
    const values = await Promise.all(entries.slice(from, from + 1000).map(async key => (await store.read(layout.entry(key, 'test'))).value))
    expect(
      values.filter(value => value !== undefined),
      `entries ${from}..`,
    ).to.deep.equal([])
  }
  for (const set of [sets[0], sets[1], sets[7], sets[SETS / 2 + 3], sets[SETS - 1]]) {
    expect(await store.liveMembers(set), set).to.deep.equal([])
    expect(await store.write({ entry: layout.entry('Late', 'test'), value: 'stale', ttlMs: 0, sets: [set], seq: before }), `older write to ${set}`).to.equal(false)
  }
}

describe('invalidation at scale', function () {
  this.timeout(120_000)
  const sets = Array.from({ length: SETS }, (_, i) => setName(i))
  const listed = sets.flatMap((_, i) => (i % LISTED_EVERY === 0 ? [listedKey(i)] : []))
  const crowd = Array.from({ length: CROWD }, (_, i) => crowdKey(i))

  describe('RedisStore', () => {
    let server: RedisServer
    let client: Redis
    let store: RedisStore

    before(async () => {
      server = await startRedisServer()
      client = new Redis(server.url)
      store = new RedisStore(client, layout)
    })
    after(async () => {
      client.disconnect()
      await server.stop()
    })
    beforeEach(async () => {
      await client.flushall()
      await store.invalidateSets([layout.invalidSet('start')]) // the sequence exists, so that one raise is +1
    })

    /** Stores the entries and lists them in their sets with raw commands: writing 25,000 through the script would take longer than the test. */
    async function populate(): Promise<void> {
      const value = seal('"v"', 0, 0)
      const put = (pipeline: ReturnType<Redis['pipeline']>, key: string, set: string) => {
        const { full, key: name, field } = layout.entry(key, 'test')
        if (field === undefined) pipeline.set(name, value)
        else pipeline.hset(name, field, value)
        pipeline.sadd(set, full)
      }
      for (let from = 0; from < listed.length; from += 5000) {
        const pipeline = client.pipeline()
        listed.slice(from, from + 5000).forEach((key, i) => put(pipeline, key, sets[(from + i) * LISTED_EVERY]))
        await pipeline.exec()
      }
      const pipeline = client.pipeline()
      for (const key of crowd) put(pipeline, key, sets[7])
      await pipeline.exec()
    }

    /**
     * The script calls `run` makes through `command`: the keys each names and what each resolves to.
     * Bounding a step by its size, not by a time measured on a shared machine, is what keeps each
     * command short on any Redis (the benchmark measures the times, SLOWLOG included).
     */
    async function steps<T>(command: 'cachemePopSets' | 'cachemeDeleteEntries', run: () => Promise<unknown>): Promise<{ keys: number; result: T }[]> {
      const spy = sinon.spy(client as unknown as Record<typeof command, (...args: unknown[]) => Promise<T>>, command)
      try {
        await run()
        return await Promise.all(spy.getCalls().map(async call => ({ keys: Number(call.args[0]), result: await call.returnValue })))
      } finally {
        spy.restore()
      }
    }

    it(`invalidates ${SETS.toLocaleString('en')} sets in one call: every entry, one raise of the sequence, bounded steps`, async () => {
      await populate()
      const before = await sequence(store)
      let invalidated = 0
      const calls = await steps<[number, number, number]>('cachemePopSets', async () => (invalidated = await store.invalidateSets(sets)))

      expect(invalidated).to.equal(listed.length + crowd.length)
      expect(calls.length, 'steps').to.be.at.least(SETS / SETS_PER_STEP)
      expect(Math.max(...calls.map(call => call.keys)), 'keys per step: the sequence, and each set with its guard').to.be.at.most(1 + 2 * SETS_PER_STEP)
      expect(Math.max(...calls.map(call => call.result[1])), 'entries per step').to.be.at.most(MEMBERS_PER_STEP)
      expect(new Set(calls.map(call => call.result[0])).size, 'one sequence shared by every step').to.equal(1)
      expect(await sequence(store), 'the sequence after').to.equal(before + 1)
      await expectAllInvalidated(store, sets, [...listed, ...crowd], before)
    })

    it(`deletes ${SETS.toLocaleString('en')} entries in one call: every one, one raise of the sequence, bounded steps`, async () => {
      await populate()
      const entries = [...listed, ...crowd, ...sets.slice(0, SETS - listed.length - crowd.length).map((_, i) => `Absent:${i}`)]
      const before = await sequence(store)
      let deleted = 0
      const calls = await steps<[number, number]>('cachemeDeleteEntries', async () => (deleted = await store.deleteEntries(entries.map(key => layout.entry(key, 'test')))))

      expect(deleted).to.equal(listed.length + crowd.length)
      expect(calls.length, 'steps').to.be.at.least(SETS / ENTRIES_PER_STEP)
      expect(Math.max(...calls.map(call => call.keys)), 'keys per step: the sequence, and each entry with its guard').to.be.at.most(1 + 2 * ENTRIES_PER_STEP)
      expect(new Set(calls.map(call => call.result[0])).size, 'one sequence shared by every step').to.equal(1)
      expect(await sequence(store), 'the sequence after').to.equal(before + 1)
      for (const key of [listed[0], listed[1], crowd[0], entries[SETS - 1]]) {
        expect(await store.write({ entry: layout.entry(key, 'test'), value: 'stale', ttlMs: 0, sets: [], seq: before }), key).to.equal(false)
      }
      const left = await Promise.all([...listed, ...crowd].map(async key => (await store.read(layout.entry(key, 'test'))).value))
      expect(left.filter(value => value !== undefined)).to.deep.equal([])
    })

    it('never lowers a guard: a late step of an earlier invalidation keeps the later one stamped meanwhile', async () => {
      const set = setName(1)
      const steps = client as unknown as { cachemePopSets(keys: number, ...args: (string | number)[]): Promise<[number, number, number]> }
      const step = (seq: number) => steps.cachemePopSets(3, layout.seq, set, layout.guard(set), seq, GUARD_TTL_MS, 300, Date.now(), 1)
      const [earlier] = await step(0)
      const between = await sequence(store)
      await store.invalidateSets([set])
      await step(earlier)
      expect(await store.write({ entry: layout.entry('Book:1', 'test'), value: 'stale', ttlMs: 0, sets: [set], seq: between })).to.equal(false)
    })
  })

  describe('MemoryStore', () => {
    it(`invalidates ${SETS.toLocaleString('en')} sets in one call: every entry, one raise of the sequence`, async () => {
      const store = new MemoryStore(layout)
      try {
        const seq = await sequence(store)
        for (const [key, set] of [...listed.map((key, i) => [key, sets[i * LISTED_EVERY]]), ...crowd.map(key => [key, sets[7]])]) {
          await store.write({ entry: layout.entry(key, 'test'), value: 'v', ttlMs: 0, sets: [set], seq })
        }
        const before = await sequence(store)
        expect(await store.invalidateSets(sets)).to.equal(listed.length + crowd.length)
        expect(await sequence(store)).to.equal(before + 1)
        await expectAllInvalidated(store, sets, [...listed, ...crowd], before)
      } finally {
        await store.close()
      }
    })
  })
})
