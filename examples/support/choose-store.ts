// In an application: import type { ConfigureOptions } from 'cacheme'
import type { ConfigureOptions } from '../../src'
import { redisServerAvailable, startRedisServer, type RedisServer } from '../../tools/redis-server'

export interface StoreChoice {
  /** Which store, said in one line. */
  label: string
  options: ConfigureOptions
  /** The private redis-server started for the example, to stop at the end. */
  server?: RedisServer
}

/**
 * REDIS_URL when set; else a private redis-server when one is installed; else the in-process store.
 * `common` holds the example's own options (its prefix, ttl).
 */
export async function chooseStore(common: Omit<ConfigureOptions, 'redis' | 'store'>): Promise<StoreChoice> {
  const url = process.env.REDIS_URL
  if (url) return { label: `Redis at ${url} (REDIS_URL)`, options: { ...common, redis: url } }
  if (redisServerAvailable()) {
    const server = await startRedisServer()
    return { label: `private redis-server at ${server.url}`, options: { ...common, redis: server.url }, server }
  }
  return { label: 'in-process memory store (REDIS_URL unset, no redis-server on PATH)', options: { ...common, store: 'memory' } }
}
