import { performance } from 'node:perf_hooks'
import type { Cluster } from 'ioredis'
import { QueryTypes } from 'sequelize'
import { configure, registerInvalidModels, shutdown, startRelay } from '../../src'
import { runtime } from '../../src/config'
import { startTcpProxy, type TcpProxy } from '../../tools/tcp-proxy'
import { withCls } from '../sequelize/cls'
import { compareWithFresh, settle } from './comparison'
import { range, seed, tortureIds } from './dataset'
import { FailoverInjector } from './failovers'
import { FaultInjector, type Faults } from './faults'
import { LocalReaders } from './local-readers'
import { emptyFigures, type Figures } from './figures'
import { countRefusedWrites } from './guard'
import { switchOff } from './mechanisms'
import { openTortureSchema } from './models'
import { WriterProcesses } from './processes'
import { Random } from './random'
import { createReaders, type ReaderSet } from './readers'
import { isCluster, redisOption, type RedisTarget, type TortureRedis } from './redis-target'
import { sleep } from './sleep'
import { measureStoreWaits } from './store-waits'
import type { WorkloadOptions } from './workload-options'
import { Writers } from './writers'

/**
 * Where the workload runs: a redis-server it may restart (behind a proxy it may cut), or a Cluster
 * with replicas whose masters it may kill; and a PostgreSQL database it owns.
 */
export interface WorkloadEnvironment {
  readonly redis: TortureRedis
  readonly databaseUrl: string
}

/** A round's shortest length. Each round ends in a comparison: more rounds, more chances to see a stale value. */
const ROUND_MS = 1000
/**
 * The part of a round with faults, in every other round. After the last fault cacheme takes up to
 * a second to close its circuit and replay what it held back; the rounds without faults then show
 * races on a healthy Redis, and whether anything the outage left behind is still stale.
 */
const FAULT_SHARE = 0.4
const MAX_ROUNDS = 30
/** Master kills in a run on a Cluster: each takes a failover of a few seconds, so fewer than a server's restarts. */
const KILLS_PER_S = 1 / 10
const WRITER_PAUSE_MS = 5
/** Writer loops in each writer process. */
const PROCESS_LOOPS = 2
/** Chance that a writer process dies right after one of its commits. */
const DIE_AT_COMMIT = 0.08
/**
 * The outbox of every run but the outbox's control. Its relay delivers what a killed writer left
 * after `relayAfter` seconds, which must exceed the longest write (an intent outside a
 * transaction is due then, whether its write has finished or not).
 */
const OUTBOX = { tableName: 'torture_outbox', relayAfter: 1 }
const RELAY_INTERVAL_S = 0.1
/** Characters of a stale value the figures show. */
const EXAMPLE_LENGTH = 240

/** What the loops of one run share. */
interface RunState {
  readonly readers: ReaderSet
  readonly writers: Writers
  readonly processes: WriterProcesses | undefined
  readonly local: LocalReaders | undefined
  readonly faults: Faults | undefined
  readonly figures: Figures
  readonly measured: ReturnType<typeof measureStoreWaits>
}

/**
 * Runs randomized concurrent readers (cached computations) and writers (every write path, in and
 * out of transactions, in this process and in writer processes that are killed) against
 * PostgreSQL and Redis, optionally with Redis faults, with every mechanism on or one switched off.
 * In rounds: the writers stop, cacheme is left to deliver every held-back invalidation, and each
 * cached value is compared with a fresh computation; then the next round begins. Sequelize runs
 * with a CLS namespace, so that transactions can read without passing themselves on.
 */
export async function runWorkload(environment: WorkloadEnvironment, options: WorkloadOptions): Promise<Figures> {
  let figures!: Figures
  await withCls('torture', async () => {
    figures = await runWithCls(environment, options)
  })
  return figures
}

async function runWithCls(environment: WorkloadEnvironment, options: WorkloadOptions): Promise<Figures> {
  const random = new Random(options.seed)
  const ids = tortureIds(options.books)
  const schema = openTortureSchema(environment.databaseUrl, options.readers + options.writers + 2)
  const { redis } = environment
  let proxy: TcpProxy | undefined
  let cluster: Cluster | undefined
  let processes: WriterProcesses | undefined
  let local: LocalReaders | undefined
  let switchOn = () => {}
  try {
    if (options.faults && !isCluster(redis)) proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port })
    const figures = emptyFigures()
    const target: RedisTarget = isCluster(redis) ? { cluster: redis.startupNodes } : { url: proxy?.url ?? redis.url }
    const client = redisOption(target)
    if (typeof client !== 'string') cluster = client
    if (isCluster(redis)) figures.redis = `Cluster of ${redis.nodes.length} nodes`
    const prefix = `torture${options.seed}_${Date.now().toString(36)}:`
    const outbox = options.off === 'outbox' ? undefined : OUTBOX
    configure({
      redis: client,
      prefix,
      timeout: 0.25,
      onError: () => figures.faults.reported++,
      ...(outbox ? { outbox: { sequelize: schema.sequelize, ...outbox } } : {}),
    })
    // After configure(), which defines the outbox table, so that it is created empty too; before the hooks.
    await seed(schema, ids, random.fork(0))
    switchOn = switchOff(options.off, runtime().store)
    registerInvalidModels([schema.User, schema.Book, schema.BookReader, schema.Listing])
    if (outbox) startRelay({ interval: RELAY_INTERVAL_S })
    const guard = countRefusedWrites(runtime().store)
    const measured = measureStoreWaits(runtime().store)

    if (options.processes > 0) {
      const task = (generation: number) => ({
        databaseUrl: environment.databaseUrl,
        redis: target,
        prefix,
        books: options.books,
        loops: PROCESS_LOOPS,
        seed: options.seed * 1000 + generation,
        dieAtCommit: DIE_AT_COMMIT,
        outbox,
      })
      processes = await WriterProcesses.start(options.processes, task, (writes, writeErrors) => {
        for (const [kind, count] of Object.entries(writes)) figures.operations.writes[kind as keyof typeof writes] += count
        figures.operations.writeErrors += writeErrors
      })
    }
    if (options.local) {
      const run = {
        databaseUrl: environment.databaseUrl,
        redis: target,
        direct: isCluster(redis) ? target : { url: redis.url },
        prefix,
        books: options.books,
        seed: options.seed,
        off: options.off,
      }
      local = await LocalReaders.start(options.processes, run)
    }
    /** Changes recorded in the outbox and not yet delivered: those of killed writers wait for the relay. */
    const undelivered = async () => {
      if (!outbox) return 0
      const [{ count }] = await schema.sequelize.query<{ count: string }>(`SELECT count(*) AS count FROM "${outbox.tableName}"`, { type: QueryTypes.SELECT })
      return Number(count)
    }
    const readers = createReaders(schema, ids, random.fork(1))
    const run: RunState = {
      readers,
      writers: new Writers(schema, ids, { readers }),
      processes,
      local,
      faults: faultsOf(environment, proxy, options, random.fork(2)),
      figures,
      measured,
    }
    const staleSeen = new Set<string>()
    const noteStale = (stale: string) => {
      if (staleSeen.has(stale)) return // still there from an earlier round
      staleSeen.add(stale)
      if (figures.staleExamples.length < 5) figures.staleExamples.push(stale.length > EXAMPLE_LENGTH ? `${stale.slice(0, EXAMPLE_LENGTH)}...` : stale)
    }
    const started = Date.now()
    const rounds = Math.min(MAX_ROUNDS, Math.max(1, Math.round(options.durationMs / ROUND_MS)))
    for (let round = 0; round < rounds; round++) {
      await runRound(run, options, options.durationMs / rounds, random.fork(1000 * (round + 1)), round % 2 === 0)
      await settle(run.readers, undelivered)
      const compared = await compareWithFresh(run.readers)
      figures.checked += compared.checked
      compared.stale.forEach(noteStale)
      if (local) (await local.settleAndCompare()).forEach(noteStale)
      figures.rounds++
      if (options.stopAtFirstStale && staleSeen.size + run.writers.staleReads.length > 0) break
    }
    figures.elapsedMs = Date.now() - started
    run.writers.staleReads.forEach(noteStale)
    figures.staleReads = run.writers.staleReads.length
    figures.stale = staleSeen.size
    figures.operations.hits = run.readers.hits
    figures.refusedWrites = guard.refused
    run.faults?.record(figures.faults)
    if (processes) figures.processes = processes.figures
    if (local) figures.local = local.figures
    return figures
  } finally {
    await processes?.stop()
    await local?.stop()
    switchOn()
    await shutdown()
    await proxy?.close()
    cluster?.disconnect()
    await schema.sequelize.close()
  }
}

/** Proxy cuts and server restarts on one redis-server, master kills on a Cluster; none without `faults`. */
function faultsOf({ redis }: WorkloadEnvironment, proxy: TcpProxy | undefined, options: WorkloadOptions, random: Random): Faults | undefined {
  if (!options.faults) return undefined
  if (isCluster(redis)) return new FailoverInjector(redis, random, Math.max(2, Math.floor((options.durationMs / 1000) * KILLS_PER_S)))
  return new FaultInjector(proxy!, redis, random, Math.max(2, Math.floor(options.durationMs / 20_000)))
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
  // A failover outlasts a round: the writers go on until it is over.
  let faulting = withFaults && run.faults !== undefined
  const faults = faulting ? run.faults!.run(started + roundMs * FAULT_SHARE).finally(() => (faulting = false)) : undefined
  const writersGo = () => faulting || Date.now() < started + roundMs
  run.local?.startReading()
  await Promise.all([
    ...range(1, options.writers).map(index => writeLoop(run, random.fork(100 + index), writersGo)),
    run.processes?.round(started + roundMs, random.fork(200)),
    faults,
  ])
  writing = false
  await Promise.all([...reading, run.local?.stopReading()])
}

async function readLoop({ readers, faults, figures, measured }: RunState, random: Random, going: () => boolean): Promise<void> {
  while (going()) {
    const reader = random.pick(readers.readers)
    const outagesBefore = faults?.outages ?? 0
    const downBefore = faults?.down ?? false
    const started = performance.now()
    let storeMs = 0
    try {
      storeMs = (await measured(() => reader.cached(random.pick(reader.domain)))).storeMs
    } catch {
      figures.operations.readErrors++
    }
    const latency = performance.now() - started
    figures.operations.reads++
    figures.worstLatencyMs = Math.max(figures.worstLatencyMs, latency)
    if (downBefore || faults?.down || (faults?.outages ?? 0) !== outagesBefore) {
      figures.worstLatencyDownMs = Math.max(figures.worstLatencyDownMs, latency)
      figures.worstStoreWaitDownMs = Math.max(figures.worstStoreWaitDownMs, storeMs)
    }
  }
}

async function writeLoop({ writers, figures }: RunState, random: Random, going: () => boolean): Promise<void> {
  while (going()) {
    try {
      figures.operations.writes[await writers.one(random)]++
    } catch {
      figures.operations.writeErrors++
    }
    // Paced: a read-heavy application, whose cache is mostly warm.
    await sleep(random.int(0, WRITER_PAUSE_MS))
  }
}
