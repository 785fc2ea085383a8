import { expect } from 'chai'
import Redis from 'ioredis'
import { cacheme, configure, invalidate, shutdown } from '../../src'
import { gc } from '../../src/gc'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { sleep } from '../support/backends'

const SHELVES = 200
const BOOKS_PER_SHELF = 300
const AUTHORS = 500
const REPORTS = 25_000
const DAYS = 30
const PINNED = 15_000
const PIN_GROUPS = 100
const CHUNK = 2_000
const CHURNED_SHELVES = 20
const CHURNED_DAYS = 3
/** Longest entry ttl, in seconds. */
const TTL = 2
const SLACK_BYTES = 2 * 1024 * 1024
const SETTLE_TIMEOUT_MS = 15_000

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const range = (count: number, from = 0) => Array.from({ length: count }, (_, i) => from + i)

/**
 * 100k entries with short ttls, churned, through the real decorator on a Redis of its own (so
 * nothing else moves `used_memory`): once they have expired and gc() has run, Redis is back near
 * its baseline. Entries without ttl deleted by a pattern invalidation leave members in sets that
 * have no expiry and that nobody writes to again: only gc() removes those, and the test shows they
 * stay without it.
 */
describe('Redis memory after churn (soak)', function () {
  this.timeout(120_000)
  const prefix = 'soak:'
  let server: RedisServer
  let admin: Redis
  /** Each fault reported while the test runs, with what met it. */
  const faults: string[] = []

  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1])

  const shelfBook = cacheme({
    key: c => `Shelf:${c.shelf}>b${c.book}`,
    invalidKeys: c => [`Shelf:${c.shelf}`, `Book:${c.book}`, `Author:${c.book % AUTHORS}`],
    ttl: TTL,
    tag: 'soak.shelfBook',
  })(async function shelfBook(shelf: number, book: number) {
    return { shelf, book, title: `Book ${book}` }
  })
  const report = cacheme({
    key: c => `Report:${c.id}`,
    invalidKeys: c => [`Report:${c.id}`, `Day:${c.id % DAYS}`],
    ttl: TTL / 2,
    tag: 'soak.report',
  })(async function report(id: number) {
    return { id, total: id * 3 }
  })
  // Kept until invalidated: their sets get no expiry.
  const pinned = cacheme({
    key: c => `Pinned:${c.id}`,
    invalidKeys: c => [`Pin:${c.id}`, `PinGroup:${c.id % PIN_GROUPS}`],
    ttl: 0,
    tag: 'soak.pinned',
  })(async function pinned(id: number) {
    return { id }
  })
  // One field without ttl keeps each shelf's hash, so its expired book fields linger in it.
  const shelfSummary = cacheme({
    key: c => `Shelf:${c.shelf}>summary`,
    invalidKeys: () => ['Summaries'],
    ttl: 0,
    tag: 'soak.shelfSummary',
  })(async function shelfSummary(shelf: number) {
    return { shelf, books: BOOKS_PER_SHELF }
  })

  /** Runs the calls CHUNK at a time; returns the highest used_memory seen after a chunk. */
  async function inChunks(calls: (() => Promise<unknown>)[]): Promise<number> {
    let peak = 0
    for (let i = 0; i < calls.length; i += CHUNK) {
      await Promise.all(calls.slice(i, i + CHUNK).map(call => call()))
      peak = Math.max(peak, await usedMemory())
    }
    return peak
  }

  /** Waits for Redis to shrink its tables and buffers (it does so in its cron, a step at a time). */
  async function settledMemory(limit: number): Promise<number> {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS
    let used = await usedMemory()
    while (used > limit && Date.now() < deadline) {
      await sleep(250)
      used = await usedMemory()
    }
    return used
  }

  before(async () => {
    server = await startRedisServer()
    admin = new Redis(server.url)
    // A generous timeout: chunks of 2000 concurrent calls on one connection must not fail open, even
    // on a loaded machine (on a quiet one the slowest write of a chunk takes 0.5-1 s). The test measures memory.
    configure({ redis: server.url, prefix, timeout: 30, onError: (error, { operation, method }) => faults.push(`${operation} ${method ?? ''}: ${String(error)}`) })
  })

  after(async () => {
    await shutdown()
    await admin?.quit()
    await server?.stop()
  })

  it('returns to its baseline once the entries expire and gc() has run', async () => {
    // Warm-up: scripts loaded, sequence created; then nothing of it left but bookkeeping.
    await Promise.all([shelfBook(0, 0), report(0), pinned(0), shelfSummary(0)])
    await invalidate({ pattern: '*' })
    await gc()
    const baseline = await usedMemory()

    const started = Date.now()
    const books = range(SHELVES).flatMap(shelf => range(BOOKS_PER_SHELF, shelf * BOOKS_PER_SHELF).map(book => [shelf, book]))
    // Summaries first, so every shelf's hash is kept without expiry while its books come and go.
    let peak = await inChunks([
      ...range(SHELVES).map(shelf => () => shelfSummary(shelf)),
      ...books.map(
        ([shelf, book]) =>
          () =>
            shelfBook(shelf, book),
      ),
      ...range(REPORTS).map(id => () => report(id)),
      ...range(PINNED).map(id => () => pinned(id)),
    ])
    const written = books.length + REPORTS + PINNED + SHELVES

    // Churn: invalidate some dependencies and compute their entries again, overwriting them.
    for (const shelf of range(CHURNED_SHELVES)) await invalidate({ invalidKey: `Shelf:${shelf}` })
    for (const day of range(CHURNED_DAYS)) await invalidate({ invalidKey: `Day:${day}` })
    peak = Math.max(
      peak,
      await inChunks([
        ...books
          .filter(([shelf]) => shelf < CHURNED_SHELVES)
          .map(
            ([shelf, book]) =>
              () =>
                shelfBook(shelf, book),
          ),
        ...range(REPORTS)
          .filter(id => id % DAYS < CHURNED_DAYS)
          .map(id => () => report(id)),
      ]),
    )
    // Deletes the pinned entries, not their sets; and the summaries, not the hashes holding them.
    await invalidate({ pattern: 'Pinned:*' })
    await invalidate({ invalidKey: 'Summaries' })
    const writeSeconds = (Date.now() - started) / 1000
    expect(faults, `${faults.length} store faults while writing, of these kinds: ${[...new Set(faults)].join('; ')}`).to.have.length(0)

    await sleep(TTL * 1000 + 500)
    const keysBeforeGc = await admin.dbsize()
    const beforeGc = await usedMemory()

    const gcStarted = Date.now()
    const collected = await gc()
    const gcSeconds = (Date.now() - gcStarted) / 1000
    const after = await settledMemory(baseline + SLACK_BYTES)
    // Per-tag statistics are one small hash per tag, not growth.
    const left = (await admin.keys(`${prefix}*`)).filter(name => !name.startsWith(`${prefix}__stats:`))

    console.log(
      [
        `      soak: ${written} entries + churn written in ${writeSeconds.toFixed(1)} s`,
        `      used_memory baseline ${megabytes(baseline)}, peak ${megabytes(peak)}, ` +
          `expired but before gc ${megabytes(beforeGc)} (${keysBeforeGc} keys), after gc ${megabytes(after)} (${left.length} keys)`,
        `      gc ${gcSeconds.toFixed(1)} s: ${JSON.stringify(collected)}`,
      ].join('\n'),
    )

    // Without gc: the pinned entries' sets (no expiry, never written again) and the hashes kept by
    // a field without ttl still hold every dead member.
    expect(keysBeforeGc).to.be.at.least(PINNED)
    expect(beforeGc).to.be.above(baseline + SLACK_BYTES)
    expect(collected.membersRemoved).to.be.at.least(3 * PINNED) // Pin:<id>, PinGroup:<n> and the tag
    expect(collected.fieldsRemoved).to.be.at.least(books.length / 2)

    expect(after).to.be.at.most(baseline + SLACK_BYTES)
    // Nothing left but invalidation bookkeeping: the sequence and guards, which expire on their own.
    const isBookkeeping = (name: string) => name.startsWith(`${prefix}__`) && !name.startsWith(`${prefix}__tag:`)
    expect(left.filter(name => !isBookkeeping(name))).to.deep.equal([])
    expect(left.length).to.be.at.most(CHURNED_SHELVES + CHURNED_DAYS + 5)
  })
})
