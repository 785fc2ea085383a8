import { Cluster } from 'ioredis'
import { startRedisCluster, type RedisCluster, type RedisClusterOptions } from '../../tools/redis-cluster'

/** A Redis Cluster of the enclosing suite's own, and a client to it: started before its tests, stopped after. */
export function privateCluster(options: RedisClusterOptions = {}): { readonly cluster: RedisCluster; readonly client: Cluster } {
  const state = {} as { cluster: RedisCluster; client: Cluster }
  before(async () => {
    state.cluster = await startRedisCluster(options)
    state.client = new Cluster([...state.cluster.startupNodes])
  })
  after(async () => {
    await state.client?.quit().catch(() => undefined)
    await state.cluster?.stop()
  })
  return state
}

/**
 * Empties every master. Each prefix keeps 16,384 slot guards: left behind by every earlier test,
 * they would make each scan (patterns, gc) walk hundreds of thousands of names.
 */
export async function flushMasters(client: Cluster): Promise<void> {
  await Promise.all(client.nodes('master').map(node => node.flushall()))
}
