import Redis, { Cluster } from 'ioredis'
import type { RedisCluster } from '../../tools/redis-cluster'
import type { RedisServer } from '../../tools/redis-server'

/** Where a torture process finds Redis: one server's URL, or a Cluster's startup nodes (sent to writer processes as JSON). */
export type RedisTarget = { readonly url: string } | { readonly cluster: readonly { readonly host: string; readonly port: number }[] }

/** The Redis a run uses: a redis-server it may restart, or a Cluster with replicas whose masters it may kill. */
export type TortureRedis = RedisServer | RedisCluster

export function isCluster(redis: TortureRedis): redis is RedisCluster {
  return 'startupNodes' in redis
}

/**
 * What `configure({ redis })` gets: the URL, or a new ioredis Cluster, which the caller disconnects
 * after `shutdown()` (cacheme leaves a client it was given open).
 */
export function redisOption(target: RedisTarget): string | Cluster {
  return 'url' in target ? target.url : new Cluster(target.cluster.map(({ host, port }) => ({ host, port })))
}

/** A client of the run's own, outside cacheme, whose errors (a fault, a failover) are the run's to ignore. */
export function directClient(target: RedisTarget): Redis | Cluster {
  const client = redisOption(target)
  return (typeof client === 'string' ? new Redis(client) : client).on('error', () => {})
}
