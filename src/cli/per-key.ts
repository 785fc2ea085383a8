import calculateSlot from 'cluster-key-slot'
import type { ChainableCommander, Cluster, Redis } from 'ioredis'

/**
 * Sends one command per key and resolves with the replies in the keys' order, failing on the
 * first error. A single Redis gets one pipeline; a Cluster one pipeline per slot, all sent at
 * once, since a pipeline whose keys span slots is refused (CROSSSLOT, or by ioredis itself).
 */
export async function perKey(client: Redis | Cluster, keys: readonly string[], command: (pipeline: ChainableCommander, key: string) => void): Promise<unknown[]> {
  if (keys.length === 0) return []
  const groups = client.isCluster ? bySlot(keys) : [keys.map((_, i) => i)]
  const replies: unknown[] = new Array(keys.length)
  await Promise.all(
    groups.map(async indexes => {
      const pipeline = client.pipeline()
      for (const i of indexes) command(pipeline, keys[i])
      const results = (await pipeline.exec()) ?? []
      results.forEach(([error, reply], j) => {
        if (error) throw error
        replies[indexes[j]] = reply
      })
    }),
  )
  return replies
}

/** The keys' indexes grouped by hash slot. */
function bySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>()
  keys.forEach((key, i) => {
    const slot = calculateSlot(key)
    const group = groups.get(slot)
    if (group) group.push(i)
    else groups.set(slot, [i])
  })
  return [...groups.values()]
}
