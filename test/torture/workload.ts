import { performance } from 'node:perf_hooks'
import { configure, registerInvalidModels, shutdown } from '../../src'
import { runtime } from '../../src/config'
import type { RedisServer } from '../../tools/redis-server'
import { startTcpProxy, type TcpProxy } from '../../tools/tcp-proxy'
import { FaultInjector } from './faults'
import { countRefusedWrites, disableStaleWriteGuard } from './guard'
import { openTortureSchema, type TortureSchema } from './models'
import { Random } from './random'
import { createReaders, type ReaderSet } from './readers'
import { sleep } from './sleep'
import { WRITE_KINDS, Writers, type WriteKind } from './writers'

export interface WorkloadOptions {
  readonly durationMs: number
  /** Concurrent reader loops. */
  readonly readers: number
  /** Concurrent writer loops. */
  readonly writers: number
  /** Cut the connection to Redis and restart it while the workload runs. */
  readonly faults: boolean
  /** false: the control run, with the stale-write guard bypassed. */
  readonly guard: boolean
  readonly seed: number
}

/** Where the workload runs: a redis-server it may restart, and a PostgreSQL database it owns. */
export interface WorkloadEnvironment {
  readonly redis: RedisServer
  readonly databaseUrl: string
}

export interface Figures {
  /** Times the writers were stopped and the cache compared with the database. */
  rounds: number
  operations: {
    reads: number
    /** Reads answered from the cache. */
    hits: number
    /** Decorated calls that threw: a cache fault must never reach the caller. */
    readErrors: number
    writes: Record<WriteKind, number>
    /** Writes the database refused (deadlocks, duplicate links): expected under contention. */
    writeErrors: number
  }
  faults: { cuts: number; restarts: number; reported: number }
  /** Cache writes the stale-write guard refused while the workload ran. */
  refusedWrites: number
  /** Distinct cached values that differed from a fresh computation when compared. */
  stale: number
  /** Cached values compared, over all rounds. */
  checked: number
  worstLatencyDownMs: number
  worstLatencyMs: number
  /** The first few stale values, for diagnosis. */
  staleExamples: string[]
}

const USERS = 10
const BOOKS = 20
/** A round's shortest length. Each round ends in a comparison: more rounds, more chances to see a stale value. */
const ROUND_MS = 1000
/**
 * The part of a round with faults, in every other round. After the last fault cacheme takes up to
 * a second to close its circuit and replay what it held back; the rounds without faults then show
 * races on a healthy Redis, and whether anything the outage left behind is still stale.
 */
const FAULT_SHARE = 0.4
const MAX_ROUNDS = 30
const WRITER_PAUSE_MS = 5
const SETTLE_TIMEOUT_MS = 15_000

/** What the loops of one run share. */
interface RunState {
  readonly readers: ReaderSet
  readonly writers: Writers
  readonly faults: FaultInjector | undefined
  readonly figures: Figures
}

/**
 * Runs randomized concurrent readers (cached computations) and writers (every write path, in and
 * out of transactions) against PostgreSQL and Redis, optionally with Redis faults. In rounds: the
 * writers stop, cacheme is left to deliver every held-back invalidation, and each cached value is
 * compared with a fresh computation; then the next round begins.
 */
export async function runWorkload(environment: WorkloadEnvironment, options: WorkloadOptions): Promise<Figures> {
  const random = new Random(options.seed)
  const ids = { users: range(1, USERS), books: range(1, BOOKS) }
  const schema = openTortureSchema(environment.databaseUrl, options.readers + options.writers + 2)
  let proxy: TcpProxy | undefined
  try {
    await seed(schema, ids, random.fork(0))
    if (options.faults) proxy = await startTcpProxy({ host: '127.0.0.1', port: environment.redis.port })
    const figures = emptyFigures()
    configure({
      redis: proxy?.url ?? environment.redis.url,
      prefix: `torture${options.seed}_${Date.now().toString(36)}:`,
      timeout: 0.25,
      onError: () => figures.faults.reported++,
    })
    registerInvalidModels([schema.User, schema.Book, schema.BookReader])
    if (!options.guard) disableStaleWriteGuard(runtime().store)
    const guard = countRefusedWrites(runtime().store)

    const run: RunState = {
      readers: createReaders(schema, ids, random.fork(1)),
      writers: new Writers(schema, ids),
      faults: proxy && new FaultInjector(proxy, environment.redis, random.fork(2), Math.max(2, Math.floor(options.durationMs / 20_000))),
      figures,
    }
    const staleSeen = new Set<string>()
    const rounds = Math.min(MAX_ROUNDS, Math.max(1, Math.round(options.durationMs / ROUND_MS)))
    for (let round = 0; round < rounds; round++) {
      await runRound(run, options, options.durationMs / rounds, random.fork(1000 * (round + 1)), round % 2 === 0)
      await settle(run.readers)
      const compared = await compareWithFresh(run.readers)
      figures.checked += compared.checked
      for (const stale of compared.stale) {
        if (staleSeen.has(stale)) continue // still there from an earlier round
        staleSeen.add(stale)
        if (figures.staleExamples.length < 5) figures.staleExamples.push(stale)
      }
      figures.rounds++
    }
    figures.stale = staleSeen.size
    figures.operations.hits = run.readers.hits
    figures.refusedWrites = guard.refused
    if (run.faults) Object.assign(figures.faults, { cuts: run.faults.cuts, restarts: run.faults.restarts })
    return figures
  } finally {
    await shutdown()
    await proxy?.close()
    await schema.sequelize.close()
  }
}

/**
 * Readers and writers for `roundMs`, with faults in its first part when asked. Readers outlast the
 * writers, so that the last commits race with readers like every other commit.
 */
async function runRound(run: RunState, options: WorkloadOptions, roundMs: number, random: Random, withFaults: boolean): Promise<void> {
  const started = Date.now()
  let writing = true
  run.readers.jitter = true
  const reading = range(1, options.readers).map(index => readLoop(run, random.fork(index), () => writing))
  await Promise.all([
    ...range(1, options.writers).map(index => writeLoop(run, random.fork(100 + index), started + roundMs)),
    withFaults ? run.faults?.run(started + roundMs * FAULT_SHARE) : undefined,
  ])
  writing = false
  await Promise.all(reading)
}

async function readLoop({ readers, faults, figures }: RunState, random: Random, going: () => boolean): Promise<void> {
  while (going()) {
    const reader = random.pick(readers.readers)
    const outagesBefore = faults?.outages ?? 0
    const downBefore = faults?.down ?? false
    const started = performance.now()
    try {
      await reader.cached(random.pick(reader.domain))
    } catch {
      figures.operations.readErrors++
    }
    const latency = performance.now() - started
    figures.operations.reads++
    figures.worstLatencyMs = Math.max(figures.worstLatencyMs, latency)
    if (downBefore || faults?.down || (faults?.outages ?? 0) !== outagesBefore) {
      figures.worstLatencyDownMs = Math.max(figures.worstLatencyDownMs, latency)
    }
  }
}

async function writeLoop({ writers, figures }: RunState, random: Random, until: number): Promise<void> {
  while (Date.now() < until) {
    try {
      figures.operations.writes[await writers.one(random)]++
    } catch {
      figures.operations.writeErrors++
    }
    // Paced: a read-heavy application, whose cache is mostly warm.
    await sleep(random.int(0, WRITER_PAUSE_MS))
  }
}

/**
 * Waits until the cache is usable again: no invalidation is waiting to be replayed, and a value
 * stored now is served back (so the connection is up and commands queued during the outage ran).
 */
async function settle(readers: ReaderSet): Promise<void> {
  readers.jitter = false
  const deadline = Date.now() + SETTLE_TIMEOUT_MS
  const probe = readers.readers.find(reader => reader.name === 'userList')!
  for (;;) {
    if (pendingInvalidations() === 0) {
      const before = readers.hits
      await probe.cached(0)
      await probe.cached(0)
      if (readers.hits > before) return
    }
    if (Date.now() > deadline) throw new Error(`the cache did not recover within ${SETTLE_TIMEOUT_MS} ms (pending invalidations: ${pendingInvalidations()})`)
    await sleep(50)
  }
}

/** Invalidations the fail-open store still holds back; 0 for a store that holds none. */
function pendingInvalidations(): number {
  return runtime().pendingInvalidations?.() ?? 0
}

/** Every cached value of every reader, compared with the same computation run uncached. */
async function compareWithFresh(readers: ReaderSet): Promise<{ checked: number; stale: string[] }> {
  let checked = 0
  const stale: string[] = []
  for (const reader of readers.readers) {
    for (const id of reader.domain) {
      const hitsBefore = readers.hits
      const cached = JSON.stringify(await reader.cached(id))
      if (readers.hits === hitsBefore) continue // not cached: computed just now
      checked++
      const fresh = JSON.stringify(await reader.fresh(id))
      if (cached !== fresh) stale.push(`${reader.name}(${id}): cached ${cached}, fresh ${fresh}`)
    }
  }
  return { checked, stale }
}

async function seed(schema: TortureSchema, ids: { users: number[]; books: number[] }, random: Random): Promise<void> {
  await schema.sequelize.sync({ force: true })
  await schema.User.bulkCreate(ids.users.map(id => ({ id, name: `user${id}` })))
  await schema.Book.bulkCreate(ids.books.map(id => ({ id, title: `book${id}`, ownerId: random.pick(ids.users) })))
  const links = ids.books.flatMap(bookId => random.subset(ids.users, 0.25).map(userId => ({ bookId, userId })))
  await schema.BookReader.bulkCreate(links)
}

function emptyFigures(): Figures {
  return {
    rounds: 0,
    operations: { reads: 0, hits: 0, readErrors: 0, writes: Object.fromEntries(WRITE_KINDS.map(kind => [kind, 0])) as Record<WriteKind, number>, writeErrors: 0 },
    faults: { cuts: 0, restarts: 0, reported: 0 },
    refusedWrites: 0,
    stale: 0,
    checked: 0,
    worstLatencyDownMs: 0,
    worstLatencyMs: 0,
    staleExamples: [],
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index)
}
