import { expect } from 'chai'
import { FailOpenStore } from '../../src/store/fail-open-store'
import { storeConformance } from './conformance'
import { redisStores } from './redis-stores'

/**
 * The wrapper the library puts around Redis must be invisible while Redis answers: the same
 * suite, and nothing reported (a reported failure is one the wrapper swallowed).
 */
describe('FailOpenStore around a RedisStore', () => {
  const stores = redisStores()
  const reported: unknown[] = []

  storeConformance(
    'FailOpenStore(RedisStore)',
    // Below the test timeout, far above a reply: some cases send over a thousand commands at once, on a loaded machine.
    async layout => new FailOpenStore(await stores.create(layout), { timeoutMs: 15_000, replayLimit: 100, report: error => reported.push(error) }),
    stores.cleanup,
  )

  afterEach(() => {
    expect(reported.splice(0), 'errors the wrapper reported instead of throwing').to.deep.equal([])
  })
})
