import { expect } from 'chai'
import calculateSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import { cacheme, configure, invalidate, shutdown } from '../../src'
import { runtime } from '../../src/config'
import { startRedisCluster, type RedisCluster } from '../../tools/redis-cluster'
import { redisServerAvailable } from '../../tools/redis-server'
import { holdReplication, killMaster, killShardMaster, rejoin, shardWithReplica, waitForFailover, waitForReplicas, type Failover } from './master-kills'

const PREFIX = 'failover:'
const TIMEOUT_S = 0.25
/** A call that fails open waits for its read, then its write, to time out: a bound far above that, not a timing target. */
const CALL_BOUND_MS = 2500
const BOOKS = 60
/** ioredis refreshes its slot map on errors and every few seconds; cacheme replays what it held back. */
const RECOVERY_MS = 30_000

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** The rows the cached methods read, with a version bumped by each change. */
const rows = new Map<number, number>()
let computations = 0

/** Each entry depends on its row, its author's and its shelf's: sets in several slots. */
class BookSerializer {
  @cacheme({ key: c => `Summary:${c.id}`, invalidKeys: c => [`Row:${c.id}`, `Author:${c.id % 7}`, `Shelf:${c.id % 11}`] })
  async summary(id: number) {
    computations++
    return { id, version: rows.get(id) }
  }

  @cacheme({ key: c => `Book:${c.id}>title`, invalidKeys: c => [`Row:${c.id}`] })
  async title(id: number) {
    computations++
    return `title ${id} v${rows.get(id)}`
  }
}

const serializer = new BookSerializer()
const ids = Array.from({ length: BOOKS }, (_, id) => id)

/** Every cached method over every id: the values that differ from the rows, and the calls' worst latency. */
async function readAll(): Promise<{ stale: string[]; worstMs: number; computed: number }> {
  const stale: string[] = []
  let worstMs = 0
  const before = computations
  await Promise.all(
    ids.map(async id => {
      const started = performance.now()
      const [summary, title] = await Promise.all([serializer.summary(id), serializer.title(id)])
      worstMs = Math.max(worstMs, performance.now() - started)
      if (summary.version !== rows.get(id)) stale.push(`summary(${id}): version ${summary.version}, row ${rows.get(id)}`)
      if (title !== `title ${id} v${rows.get(id)}`) stale.push(`title(${id}): ${title}, row ${rows.get(id)}`)
    }),
  )
  return { stale, worstMs, computed: computations - before }
}

/** A row changed, then its dependency invalidated, as a model hook would. */
async function change(id: number): Promise<void> {
  rows.set(id, rows.get(id)! + 1)
  await invalidate({ invalidKey: `Row:${id}` })
}

/** Until a whole pass is served from the cache: nothing held back for replay, every shard serving again. */
async function untilEveryEntryIsServed(): Promise<void> {
  const deadline = Date.now() + RECOVERY_MS
  for (;;) {
    const { stale, computed } = await readAll()
    expect(stale, 'stale while recovering').to.deep.equal([])
    if (computed === 0 && (runtime().pendingInvalidations?.() ?? 0) === 0) return
    if (Date.now() > deadline) throw new Error(`not every entry was served from the cache within ${RECOVERY_MS} ms (pending invalidations: ${runtime().pendingInvalidations?.()})`)
    await delay(100)
  }
}

describe('a Redis Cluster master killed mid-run (3 masters, 3 replicas)', function () {
  this.timeout(120_000)
  let cluster: RedisCluster
  let client: Cluster
  let firstFailover: Failover

  before(async function () {
    if (!redisServerAvailable()) this.skip()
    this.timeout(60_000)
    cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 2000 })
    await waitForReplicas(cluster)
    client = new Cluster([...cluster.startupNodes])
    configure({ redis: client, prefix: PREFIX, timeout: TIMEOUT_S, onError: () => {} })
    for (const id of ids) rows.set(id, 1)
  })
  after(async () => {
    await shutdown()
    client?.disconnect()
    await cluster?.stop()
  })

  /** The ports of the masters ioredis sends commands to now. */
  const clientMasters = () => client.nodes('master').map(node => node.options.port)

  /** The books whose title entry (the hash `Book:<id>`) lives on the master at `port`. */
  function entriesOn(port: number): number[] {
    return ids.filter(id => {
      const owner = client.slots[calculateSlot(`${PREFIX}Book:${id}`)]?.[0]
      return owner?.endsWith(`:${port}`)
    })
  }

  /** Kills a master while calls and changes go on; the calls' worst latency and what threw. */
  async function failOverDuringCalls(index: number): Promise<{ failover: Failover; worstMs: number; thrown: unknown[]; changed: number }> {
    const failover = await killMaster(cluster, index)
    const promoted = waitForFailover(cluster, failover)
    let done = false
    void promoted.finally(() => (done = true)).catch(() => {})
    const thrown: unknown[] = []
    let worstMs = 0
    let changed = 0
    while (!done) {
      const started = performance.now()
      try {
        await Promise.all([readAll(), change(changed++ % BOOKS)])
      } catch (error) {
        thrown.push(error)
      }
      worstMs = Math.max(worstMs, performance.now() - started)
      await delay(20)
    }
    await promoted
    return { failover, worstMs, thrown, changed }
  }

  it('serves every entry from the cache before the kill, on every master', async () => {
    // The store writes its slot guards when it opens: the first writes may wait for them and fail open.
    await untilEveryEntryIsServed()
    const { stale, computed } = await readAll()
    expect(stale).to.deep.equal([])
    expect(computed, 'computations on a warm pass').to.equal(0)
    expect(new Set(clientMasters()).size).to.equal(3)
  })

  it('fails open within the timeout while a master is down, then follows its replica and serves nothing stale', async () => {
    const { failover, worstMs, thrown, changed } = await failOverDuringCalls(0)
    firstFailover = failover
    expect(thrown, 'decorated calls or invalidations that threw').to.deep.equal([])
    expect(worstMs, 'the slowest pass of calls while the master was down (ms)').to.be.below(CALL_BOUND_MS)
    expect(changed, 'changes made while the master was down').to.be.greaterThan(0)

    // ioredis learns the new topology: the replica serves the killed master's slots.
    const deadline = Date.now() + RECOVERY_MS
    while (!clientMasters().includes(failover.replicaPort) || clientMasters().includes(failover.killed.port)) {
      if (Date.now() > deadline) throw new Error(`ioredis still sends to ${clientMasters().join(', ')} after the failover to ${failover.replicaPort}`)
      await readAll()
      await delay(100)
    }
    expect(entriesOn(failover.replicaPort).length, 'entries in the promoted replica’s slots').to.be.greaterThan(0)
    await untilEveryEntryIsServed()
  })

  it('applies invalidations made after the failover, in every slot', async () => {
    for (const id of ids) await change(id)
    const { stale, computed } = await readAll()
    expect(stale).to.deep.equal([])
    expect(computed, 'every entry computed again').to.equal(2 * BOOKS)
    await untilEveryEntryIsServed()
  })

  let secondFailover: Failover

  it('survives a second failover after the killed master rejoined as a replica', async () => {
    // The killed master comes back empty, as a replica of the node that took over.
    await rejoin(cluster, firstFailover)
    const { failover, worstMs, thrown } = await failOverDuringCalls(1)
    secondFailover = failover
    expect(thrown).to.deep.equal([])
    expect(worstMs).to.be.below(CALL_BOUND_MS)
    await untilEveryEntryIsServed()
    for (const id of ids.filter(id => id % 3 === 0)) await change(id)
    expect((await readAll()).stale).to.deep.equal([])
  })

  it('serves nothing stale when the dead master had not replicated the last invalidations', async () => {
    await rejoin(cluster, secondFailover)
    await untilEveryEntryIsServed()
    const shard = await shardWithReplica(cluster, 2)
    const onShard = entriesOn(shard.masterPort)
    expect(onShard.length, 'entries on the master to kill').to.be.greaterThan(0)
    // From here on the master's writes (these invalidations' stamps and deletions) never reach its replica.
    const resume = await holdReplication(shard, `${PREFIX}Book:${onShard[0]}`)
    let failover: Failover | undefined
    try {
      await Promise.all(onShard.map(change))
      failover = await killShardMaster(cluster, shard)
    } finally {
      resume()
    }
    await waitForFailover(cluster, failover)
    await untilEveryEntryIsServed()
    expect((await readAll()).stale).to.deep.equal([])
  })
})
