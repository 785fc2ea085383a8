import { expect } from 'chai'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { testDatabases } from '../support/fixtures'
import { formatRuns, type Run } from './figures'
import { runWorkload, type WorkloadOptions } from './workload'

/** A few seconds of the workload `npm run torture` runs for longer. */
describe('consistency under concurrent reads, writes and Redis faults (torture)', function () {
  const postgres = testDatabases().find(db => db.dialect === 'postgres')
  const workload: Omit<WorkloadOptions, 'guard'> = { durationMs: 5000, readers: 12, writers: 3, faults: true, seed: 20240 }
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

  it('leaves no stale value in the cache', async function () {
    this.timeout(20_000)
    const options = { ...workload, guard: true }
    const figures = await runWorkload({ redis, databaseUrl: postgres!.url }, options)
    runs.push({ options, figures })
    expect(figures.operations.readErrors, 'decorated calls that threw').to.equal(0)
    expect(figures.worstLatencyDownMs, 'the slowest decorated call while Redis was down (ms)').to.be.below(1500)
    expect(figures.checked).to.be.greaterThan(0)
    expect(figures.stale, figures.staleExamples.join('\n')).to.equal(0)
  })

  it('finds stale values when the stale-write guard is bypassed, so the check has teeth', async function () {
    this.timeout(20_000)
    const options = { ...workload, guard: false }
    const figures = await runWorkload({ redis, databaseUrl: postgres!.url }, options)
    runs.push({ options, figures })
    expect(figures.stale).to.be.greaterThan(0)
  })
})
