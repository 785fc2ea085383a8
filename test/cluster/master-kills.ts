import { Redis } from 'ioredis'
import type { RedisCluster, RedisClusterNode } from '../../tools/redis-cluster'

/** One line of `CLUSTER NODES`, as a node sees the cluster. */
interface NodeLine {
  readonly id: string
  readonly port: number
  readonly master: boolean
  readonly failed: boolean
  /** The master's id, for a replica. */
  readonly masterId: string | undefined
  readonly slots: number
}

/** How long a failover may take before a helper gives up: a few node timeouts. */
const FAILOVER_TIMEOUT_MS = 30_000
const POLL_MS = 100

const delay = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/** Runs one command on one node over a connection of its own, which never retries. */
async function ask<T>(port: number, command: string, ...args: string[]): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 5000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.call(command, ...args)) as T
  } finally {
    client.disconnect()
  }
}

async function nodeLines(port: number): Promise<NodeLine[]> {
  const text = await ask<string>(port, 'CLUSTER', 'NODES')
  return text
    .trim()
    .split('\n')
    .map(line => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ')
      const count = slots
        .filter(s => !s.startsWith('['))
        .reduce((sum, range) => {
          const [from, to = from] = range.split('-').map(Number)
          return sum + to - from + 1
        }, 0)
      return {
        id,
        port: Number(address.split('@')[0].split(':').pop()),
        master: flags.includes('master'),
        failed: flags.split(',').some(flag => flag === 'fail' || flag === 'fail?'),
        masterId: masterId === '-' ? undefined : masterId,
        slots: count,
      }
    })
}

/** A node that answers, and what it sees. */
async function liveView(cluster: RedisCluster, except: ReadonlySet<number> = new Set()): Promise<NodeLine[]> {
  for (const node of cluster.nodes) {
    if (except.has(node.port)) continue
    try {
      return await nodeLines(node.port)
    } catch {
      // down: ask the next one
    }
  }
  throw new Error('no node of the cluster answers')
}

/** The masters serving slots now, by port. */
export async function masterPorts(cluster: RedisCluster, except: ReadonlySet<number> = new Set()): Promise<number[]> {
  const view = await liveView(cluster, except)
  return view.filter(line => line.master && !line.failed && line.slots > 0).map(line => line.port)
}

export interface Failover {
  /** The master that was killed. */
  readonly killed: RedisClusterNode
  /** Its replica, which takes over its slots. */
  readonly replicaPort: number
}

/** A master serving slots, and its replica. */
export interface Shard {
  readonly masterPort: number
  readonly replicaPort: number
}

/** The `index`-th master (in port order, modulo their number) that has a live replica. */
export async function shardWithReplica(cluster: RedisCluster, index = 0): Promise<Shard> {
  const view = await liveView(cluster)
  const masters = view.filter(line => line.master && !line.failed && line.slots > 0).sort((a, b) => a.port - b.port)
  const withReplica = masters.filter(master => view.some(line => line.masterId === master.id && !line.failed))
  if (withReplica.length === 0) throw new Error('no master with a live replica')
  const master = withReplica[index % withReplica.length]
  return { masterPort: master.port, replicaPort: view.find(line => line.masterId === master.id && !line.failed)!.port }
}

/** SIGKILLs the master of `shardWithReplica(cluster, index)` and resolves at once, before its replica takes over. */
export async function killMaster(cluster: RedisCluster, index = 0): Promise<Failover> {
  return killShardMaster(cluster, await shardWithReplica(cluster, index))
}

export async function killShardMaster(cluster: RedisCluster, { masterPort, replicaPort }: Shard): Promise<Failover> {
  const killed = cluster.nodes.find(node => node.port === masterPort)!
  await killed.server.kill()
  return { killed, replicaPort }
}

/** Bytes written ahead of the writes to lose: more than the kernel's socket buffers on both ends hold. */
const REPLICATION_FILLER_BYTES = 32 * 1024 * 1024

/**
 * Makes the shard's next writes stay on its master only, as asynchronous replication does when a
 * master dies: the replica's process is stopped (SIGSTOP), and a large value written under a key in
 * `slotKey`'s slot fills the replication link, so that what the master runs next waits in its own
 * memory, which a kill loses. The returned function lets the replica run again.
 */
export async function holdReplication({ masterPort, replicaPort }: Shard, slotKey: string): Promise<() => void> {
  const pid = Number(/process_id:(\d+)/.exec(await ask<string>(replicaPort, 'INFO', 'server'))![1])
  process.kill(pid, 'SIGSTOP')
  await ask(masterPort, 'SET', `{${slotKey}}:replication-filler`, 'x'.repeat(REPLICATION_FILLER_BYTES))
  return () => process.kill(pid, 'SIGCONT')
}

/** Resolves once the replica serves the killed master's slots and every live node says `cluster_state:ok`. */
export async function waitForFailover(cluster: RedisCluster, { killed, replicaPort }: Failover): Promise<void> {
  const deadline = Date.now() + FAILOVER_TIMEOUT_MS
  const down = new Set([killed.port])
  for (;;) {
    try {
      const promoted = (await masterPorts(cluster, down)).includes(replicaPort)
      if (promoted && (await everyNodeOk(cluster, down))) return
    } catch {
      // a node is between states: ask again
    }
    if (Date.now() > deadline) throw new Error(`port ${replicaPort} did not take over from ${killed.port} within ${FAILOVER_TIMEOUT_MS} ms`)
    await delay(POLL_MS)
  }
}

async function everyNodeOk(cluster: RedisCluster, down: ReadonlySet<number>): Promise<boolean> {
  for (const node of cluster.nodes) {
    if (down.has(node.port)) continue
    const info = await ask<string>(node.port, 'CLUSTER', 'INFO')
    if (!info.includes('cluster_state:ok')) return false
  }
  return true
}

/**
 * Starts the killed master again (empty): its cluster configuration file still names it, so it
 * rejoins as a replica of the node that took over. Resolves once it has synchronised, so that the
 * shard can fail over again.
 */
export async function rejoin(cluster: RedisCluster, { killed, replicaPort }: Failover): Promise<void> {
  // The new master sends its data at once rather than waiting 5 s for more replicas to sync with.
  await ask(replicaPort, 'CONFIG', 'SET', 'repl-diskless-sync-delay', '0')
  await killed.server.restart()
  await waitForReplicas(cluster)
}

/**
 * Resolves once every master serving slots has a replica whose link to it is up: `--cluster
 * create` attaches the replicas a moment after the cluster says it is ok.
 */
export async function waitForReplicas(cluster: RedisCluster): Promise<void> {
  const deadline = Date.now() + FAILOVER_TIMEOUT_MS
  for (;;) {
    try {
      const view = await liveView(cluster)
      const masters = view.filter(line => line.master && !line.failed && line.slots > 0)
      const replicas = view.filter(line => !line.master && !line.failed && masters.some(master => master.id === line.masterId))
      if (masters.every(master => replicas.some(replica => replica.masterId === master.id))) {
        const links = await Promise.all(replicas.map(replica => ask<string>(replica.port, 'INFO', 'replication')))
        if (links.every(info => info.includes('master_link_status:up'))) return
      }
    } catch {
      // a node is between states: ask again
    }
    if (Date.now() > deadline) throw new Error(`the replicas did not attach within ${FAILOVER_TIMEOUT_MS} ms`)
    await delay(POLL_MS)
  }
}
