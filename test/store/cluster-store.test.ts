import { Cluster } from 'ioredis'
import type { KeyLayout } from '../../src/keys'
import { ClusterStore } from '../../src/store/cluster/cluster-store'
import { startRedisCluster, type RedisCluster } from '../../tools/redis-cluster'
import { storeConformance } from './conformance'

describe('ClusterStore on a 3-master Redis Cluster', function () {
  this.timeout(60_000)
  let cluster: RedisCluster
  let client: Cluster

  before(async () => {
    cluster = await startRedisCluster()
    client = new Cluster([...cluster.startupNodes])
  })

  after(async () => {
    await client?.quit().catch(() => undefined)
    await cluster?.stop()
  })

  storeConformance(
    'ClusterStore',
    async (layout: KeyLayout) => {
      const store = new ClusterStore(client, layout)
      await store.ready()
      return store
    },
    // The cluster is this file's own: each store's slot guards go with everything else.
    async () => {
      await Promise.all(client.nodes('master').map(node => node.flushall()))
    },
  )
})
