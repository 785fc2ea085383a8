import type { Cluster } from 'ioredis'

/**
 * Groups of keys (one slot each), gathered by the master that serves their slots, so that each
 * master gets one pipeline: one round trip per master however many slots the keys fall in. An
 * ioredis Cluster pipeline may span slots as long as one node serves them all; a slot whose
 * master is not known yet gets a pipeline of its own.
 */
export function perMaster<T>(client: Cluster, groups: Iterable<readonly [slot: number, group: T]>): T[][] {
  const byMaster = new Map<string, T[]>()
  for (const [slot, group] of groups) {
    const master = client.slots[slot]?.[0] ?? `slot ${slot}`
    const gathered = byMaster.get(master)
    if (gathered) gathered.push(group)
    else byMaster.set(master, [group])
  }
  return [...byMaster.values()]
}
