import type { Cluster } from 'ioredis'

/**
 * Groups of keys (one slot each), gathered by the master that serves their slots, so that each
 * master gets one pipeline: one round trip per master however many slots the keys fall in. An
 * ioredis Cluster pipeline may span slots only when its map gives them the same nodes (master and
 * replicas): while a failover is being learnt, a redirection rewrites one slot's list alone, so
 * slots are gathered by their whole list, and a master may then get two pipelines. A slot whose
 * nodes are not known yet gets a pipeline of its own.
 */
export function perMaster<T>(client: Cluster, groups: Iterable<readonly [slot: number, group: T]>): T[][] {
  const byNodes = new Map<string, T[]>()
  for (const [slot, group] of groups) {
    const nodes = client.slots[slot]?.join(';') ?? `slot ${slot}`
    const gathered = byNodes.get(nodes)
    if (gathered) gathered.push(group)
    else byNodes.set(nodes, [group])
  }
  return [...byNodes.values()]
}
