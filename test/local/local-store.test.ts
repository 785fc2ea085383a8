import { expect } from 'chai'
import Redis from 'ioredis'
import { LocalTierStore } from '../../src/local/local-store'
import { openTier } from '../../src/local/open-tier'
import { ClusterStore } from '../../src/store/cluster/cluster-store'
import { FailOpenStore } from '../../src/store/fail-open-store'
import { testRedisUrl } from '../support/fixtures'
import { flushMasters, privateCluster } from '../support/private-cluster'
import { storeConformance } from '../store/conformance'
import { redisStores } from '../store/redis-stores'
import { SETTINGS, until } from './support'

/**
 * With the tier in front, a store must behave as the one behind it: the stale-write guard, grace,
 * leases, pruning, as the conformance suite checks them, while reads are served from the tier.
 */
describe('LocalTierStore in front of FailOpenStore(RedisStore)', () => {
  const stores = redisStores()
  const reported: unknown[] = []
  let client: Redis | undefined

  storeConformance(
    'LocalTierStore(FailOpenStore(RedisStore))',
    async layout => {
      client ??= new Redis(testRedisUrl())
      const behind = new FailOpenStore(await stores.create(layout), { timeoutMs: 5_000, replayLimit: 100, report: error => reported.push(error) })
      const tier = openTier(client, layout, SETTINGS, 5_000, {})
      await until(() => tier.serving, 'the tier to serve')
      return new LocalTierStore(behind, tier, () => behind.pendingInvalidations)
    },
    async () => {
      await stores.cleanup()
      client?.disconnect()
    },
  )

  afterEach(() => {
    expect(reported.splice(0), 'errors the wrapper reported instead of throwing').to.deep.equal([])
  })
})

describe('LocalTierStore in front of FailOpenStore(ClusterStore): a tier per master', function () {
  this.timeout(60_000)
  const own = privateCluster()
  const reported: unknown[] = []

  beforeEach(() => flushMasters(own.client))

  storeConformance(
    'LocalTierStore(FailOpenStore(ClusterStore))',
    async layout => {
      const cluster = new ClusterStore(own.client, layout)
      await cluster.ready()
      const behind = new FailOpenStore(cluster, { timeoutMs: 5_000, replayLimit: 100, report: error => reported.push(error) })
      const tier = openTier(own.client, layout, SETTINGS, 5_000, {})
      await until(() => tier.serving, 'the tier of every master to serve')
      return new LocalTierStore(behind, tier, () => behind.pendingInvalidations)
    },
    () => flushMasters(own.client),
  )

  afterEach(() => {
    expect(reported.splice(0), 'errors the wrapper reported instead of throwing').to.deep.equal([])
  })
})
