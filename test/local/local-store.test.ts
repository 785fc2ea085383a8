import { expect } from 'chai'
import Redis from 'ioredis'
import { LocalTierStore } from '../../src/local/local-store'
import { openLocalTier } from '../../src/local/open-tier'
import { FailOpenStore } from '../../src/store/fail-open-store'
import { testRedisUrl } from '../support/fixtures'
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
      const tier = openLocalTier(client, layout, SETTINGS, 5_000, {})
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
