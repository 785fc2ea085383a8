import { expect } from 'chai'
import { startRedisCluster, type RedisCluster } from '../../tools/redis-cluster'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { waitForReplicas } from '../cluster/master-kills'
import { testDatabases } from '../support/fixtures'
import { formatRuns, type Figures, type Run } from './figures'
import { MECHANISMS } from './mechanisms'
import { runWorkload } from './workload'
import { REARM_WAIT_MS } from './local-reader-protocol'
import { modeOf, type WorkloadOptions } from './workload-options'

/** A few seconds of each mode `npm run torture` runs for longer. */
describe('consistency under concurrent reads, writes, killed writers and Redis faults (torture)', function () {
  const postgres = testDatabases().find(db => db.dialect === 'postgres')
  const workload: WorkloadOptions = { durationMs: 4000, readers: 12, writers: 3, processes: 0, books: 300, faults: true, seed: 20240 }
  /** Writer processes, killed at random and after commits: where the outbox matters. */
  const withProcesses: WorkloadOptions = { ...workload, processes: 2 }
  const runs: Run[] = []
  let redis: RedisServer

  before(async function () {
    if (!postgres) this.skip()
    // A server of its own: the workload restarts it, which empties it.
    redis = await startRedisServer()
  })
  after(async () => {
    if (runs.length) console.log(formatRuns(runs))
    await redis?.stop()
  })

  const run = async (options: WorkloadOptions) => {
    const figures = await runWorkload({ redis, databaseUrl: postgres!.url }, options)
    runs.push({ options, figures })
    return figures
  }

  it('leaves no stale value in the cache with every mechanism on', async function () {
    this.timeout(60_000)
    const figures = await run(withProcesses)
    expect(figures.operations.readErrors, 'decorated calls that threw').to.equal(0)
    // What the fail-open timeout bounds; a call's whole latency also holds its database queries (see store-waits.ts).
    expect(figures.worstStoreWaitDownMs, 'the longest a decorated call waited for the store while Redis was down (ms)').to.be.below(1500)
    expect(figures.checked).to.be.greaterThan(0)
    expect(figures.processes!.killedAtRandom + figures.processes!.killedAtCommit, 'writer processes killed').to.be.greaterThan(0)
    expect(figures.stale, figures.staleExamples.join('\n')).to.equal(0)
  })

  it('leaves no stale value in reader processes with the in-process tier, and times its propagation delay', async function () {
    // About 30 s on an idle machine; the reader processes compile on start, which takes far longer on a busy one.
    this.timeout(150_000)
    // The tier's controls (`pendingReads`, `reconnectFlush`) run in `npm run torture -- --processes 2 --local` only.
    const figures = await run({ ...withProcesses, local: true, durationMs: 3000 })
    expectCoherentTiers(figures)
    expect(figures.faults.cuts + figures.faults.restarts, 'faults injected').to.be.greaterThan(0)
  })

  // The write paths' controls run in `npm run torture -- --modes ...` only: this run stays short.
  for (const off of MECHANISMS) {
    // Only a writer that dies needs the outbox.
    const options = off === 'outbox' ? withProcesses : workload
    it(`finds stale values with one mechanism off, so the check has teeth: ${modeOf({ off })}`, async function () {
      this.timeout(60_000)
      // Up to four times as long, ending at the first comparison that finds a stale value.
      const figures = await run({ ...options, off, durationMs: 4 * options.durationMs, stopAtFirstStale: true })
      expect(figures.stale).to.be.greaterThan(0)
    })
  }
})

/** `npm run torture -- --cluster`, short: the same workload on a Cluster whose masters are killed while it runs. */
describe('consistency on a Redis Cluster through master kills and failovers (torture --cluster)', function () {
  const postgres = testDatabases().find(db => db.dialect === 'postgres')
  const workload: WorkloadOptions = { durationMs: 6000, readers: 12, writers: 3, processes: 0, books: 300, faults: true, seed: 20241 }
  const runs: Run[] = []
  let cluster: RedisCluster

  before(async function () {
    if (!postgres) this.skip()
    this.timeout(60_000)
    // 3 masters with a replica each: a killed master's replica takes over after the 2 s node timeout.
    cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 2000 })
    await waitForReplicas(cluster)
  })
  after(async () => {
    if (runs.length) console.log(formatRuns(runs))
    await cluster?.stop()
  })

  const run = async (options: WorkloadOptions) => {
    const figures = await runWorkload({ redis: cluster, databaseUrl: postgres!.url }, options)
    runs.push({ options, figures })
    return figures
  }

  it('leaves no stale value in the cache with every mechanism on, masters killed meanwhile', async function () {
    this.timeout(90_000)
    const figures = await run(workload)
    expect(figures.operations.readErrors, 'decorated calls that threw').to.equal(0)
    expect(figures.faults.failovers, 'masters killed, each replaced by its replica').to.be.at.least(2)
    // Each of a call's store steps (read, register, store) fails open within the 250 ms timeout. The
    // call's whole latency is reported, not bounded: on a loaded machine its database queries alone
    // take over a second at times, master down or not.
    expect(figures.worstStoreWaitDownMs, 'the longest a decorated call waited for the store while a master was down (ms)').to.be.below(1500)
    expect(figures.checked).to.be.greaterThan(0)
    expect(figures.stale, figures.staleExamples.join('\n')).to.equal(0)
  })

  it('leaves no stale value in writer and reader processes that cache, with the in-process tier, masters killed meanwhile', async function () {
    this.timeout(180_000)
    const figures = await run({ ...workload, processes: 2, local: true })
    expectCoherentTiers(figures)
    expect(figures.faults.failovers, 'masters killed, each replaced by its replica').to.be.at.least(1)
  })

  it(`finds stale values on the Cluster too with one mechanism off: ${modeOf({ off: 'guard' })}`, async function () {
    // It usually ends in the first rounds; a loaded machine makes each round's comparison slow.
    this.timeout(120_000)
    // No kills: the control shows the guard's race, which needs no failover, and stays short.
    const figures = await run({ ...workload, faults: false, off: 'guard', durationMs: 16_000, stopAtFirstStale: true })
    expect(figures.stale).to.be.greaterThan(0)
  })
})

/** A run with reader processes that cache in their tier: nothing stale, in Redis or in a tier, and the tier was used. */
function expectCoherentTiers(figures: Figures): void {
  const local = figures.local!
  expect(local.errors, 'decorated calls that threw in the reader processes').to.equal(0)
  expect(local.localHits, 'calls served from the tier').to.be.greaterThan(0)
  expect(local.longestRearmMs, 'the longest wait for a bypassed tier to serve again at a round end (ms)').to.be.below(REARM_WAIT_MS)
  expect(local.checked).to.be.greaterThan(0)
  expect(local.delaysUs.length, 'propagation delays timed').to.be.greaterThan(0)
  expect(local.neverStopped, 'probes a reader kept serving after their invalidation').to.equal(0)
  expect(figures.stale, figures.staleExamples.join('\n')).to.equal(0)
}
