import type { Cluster, Redis } from 'ioredis'

/**
 * The one `maxmemory-policy` under which Redis never drops a key cacheme relies on. Every other
 * policy can evict a dependency set while entries it lists are still stored (those entries are
 * then never invalidated and are served stale until they expire), or a guard while a computation
 * is running (its stale result is then stored):
 *   allkeys-*     evict any key, sets kept without expiry included;
 *   volatile-lru, volatile-lfu, volatile-random   evict keys with an expiry, and a set has one
 *                 whenever all its members do; nothing makes them pick the entries first;
 *   volatile-ttl  evicts the soonest to expire first, but picks among a few sampled keys, not
 *                 all of them; a set expires with its longest-lived member, no later, so it can
 *                 tie with or precede its entries; and guards (kept 5 minutes) go before entries
 *                 with longer lives.
 */
const SAFE_POLICY = 'noeviction'
const POLICY = 'maxmemory-policy'

/**
 * Warns when the server's `maxmemory-policy` can evict keys cacheme needs for invalidation.
 * Says nothing when the policy cannot be read (CONFIG disabled or renamed, as on some managed
 * services, or the server unreachable). Never rejects; it waits as long as the client does for an
 * answer, so call it without awaiting it on a startup path.
 */
export async function checkEvictionPolicy(client: Redis | Cluster, warn: (message: string) => void): Promise<void> {
  let policy: string | undefined
  try {
    policy = valueOf(await client.config('GET', POLICY), POLICY)
  } catch {
    return
  }
  if (policy === undefined || policy === SAFE_POLICY) return
  warn(
    `cacheme: Redis runs with ${POLICY} ${policy}: when it reaches maxmemory it may evict ` +
      'dependency sets or invalidation guards, and entries that depended on them are then served ' +
      `stale until they expire. Use ${POLICY} ${SAFE_POLICY} (README: "Redis memory and eviction").`,
  )
}

/** CONFIG GET answers with a name/value list (RESP2) or an object (RESP3). */
function valueOf(reply: unknown, name: string): string | undefined {
  if (Array.isArray(reply)) return reply[0] === name && reply.length >= 2 ? String(reply[1]) : undefined
  if (typeof reply === 'object' && reply !== null && name in reply) return String((reply as Record<string, unknown>)[name])
  return undefined
}
