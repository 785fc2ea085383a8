import { expect } from 'chai'
import { BaseCache, cacheme, CachemeError, cachemeSettled, cachemeTags, configure, invalidate, prometheusMetrics } from '../../src'
import { runtime } from '../../src/config'
import type { LocalTierStore } from '../../src/local/local-store'
import { sleep } from '../support/backends'
import { nextLocalState, privateRedis, redisCli, until } from './support'

describe('in-process tier through configure({ local })', function () {
  const redis = privateRedis()
  let run = 0
  let prefix: string

  beforeEach(async () => {
    prefix = `lc${++run}:`
    const serving = nextLocalState('serving')
    configure({ redis: redis.server.url, prefix, onError: () => {}, local: { heartbeat: 0.1 } })
    await serving
  })
  afterEach(() => configure({ store: 'memory', onError: () => {} }))

  const tier = () => (runtime().store as LocalTierStore).tier

  /** A memoized getter of one source value, counting its computations. */
  function getter(options: { local?: false | { ttl?: number }; key?: string } = {}) {
    const source = { value: 1 as unknown, computations: 0 }
    const tag = `local.${run}.${options.key ?? 'k'}`
    const fn = cacheme({ key: () => options.key ?? 'Row:1>view', invalidKeys: () => 'Row:1', tag, local: options.local })(async () => {
      source.computations++
      return source.value
    })
    return { fn, source, tag }
  }

  it('serves a warm value from the process, counting local hits apart, in Prometheus too', async () => {
    const { fn, tag } = getter()
    await fn() // computed
    await cachemeSettled() // and stored
    await fn() // read through the tracked connection, kept
    await fn() // served here
    await fn()
    expect(cachemeTags[tag].stats()).to.deep.include({ hits: 3, localHits: 2, misses: 1 })
    expect(prometheusMetrics()).to.include(`cacheme_local_hits_total{tag="${tag}"} 2`)
  })

  it('hands every caller a value of its own: mutating a result changes nothing for the next', async () => {
    const { fn, source } = getter()
    source.value = { list: [1], nested: { name: 'a' } }
    await fn()
    await fn()
    const first = (await fn()) as { list: number[]; nested: { name: string } }
    first.list.push(2)
    first.nested.name = 'changed'
    expect(await fn()).to.deep.equal({ list: [1], nested: { name: 'a' } })
  })

  it('an invalidation by this process has cleared its tier when it returns', async () => {
    const { fn, source } = getter()
    for (let round = 0; round < 20; round++) {
      source.value = round
      await invalidate({ invalidKey: 'Row:1' })
      expect(await fn()).to.equal(round)
      await fn()
      expect(await fn(), 'served here').to.equal(round)
    }
  })

  it('a key and a tag invalidated by this process are gone from its tier when the call returns', async () => {
    const { fn, source, tag } = getter()
    for (const target of [{ key: 'Row:1>view' }, { tag }, { pattern: 'Row:*' }]) {
      await fn()
      await fn()
      source.value = JSON.stringify(target)
      await invalidate(target)
      expect(await fn(), JSON.stringify(target)).to.equal(source.value)
    }
  })

  it('a value changed by redis-cli is dropped within the propagation delay', async () => {
    const { fn } = getter()
    await fn()
    await fn()
    await redisCli(redis.server.port, 'HSET', `${prefix}Row:1`, 'view', '0|"from redis-cli"')
    await until(async () => (await fn()) === 'from redis-cli', 'the change to be seen', 1000)
  })

  it('with local: false a method always asks Redis; with local: { ttl } its values leave the tier sooner', async () => {
    const off = getter({ local: false, key: 'Off' })
    for (let i = 0; i < 4; i++) await off.fn()
    expect(cachemeTags[off.tag].stats()).to.deep.include({ hits: 3, localHits: 0 })
    const short = getter({ local: { ttl: 0.1 }, key: 'Short' })
    await short.fn()
    await cachemeSettled()
    await short.fn()
    await short.fn()
    expect(cachemeTags[short.tag].stats().localHits).to.equal(1)
    await sleep(150)
    await short.fn()
    expect(cachemeTags[short.tag].stats().localHits, 'read from Redis again past the ttl').to.equal(1)
  })

  it('after a Redis restart serves nothing it held before: flushed on the loss, bypassed until tracking is armed again', async () => {
    const { fn, source } = getter()
    await fn()
    await cachemeSettled()
    await fn()
    expect(tier().usage.entries).to.equal(1)
    const bypassed = nextLocalState('bypassed')
    await redis.server.restart()
    await bypassed
    expect(tier().usage.entries).to.equal(0)
    source.value = 'after restart'
    await until(() => tier().serving, 'tracking armed again')
    expect(await fn()).to.equal('after restart')
    expect(source.computations).to.equal(2)
  })

  it('serves the instance cache from the tier too, or not with local: false', async () => {
    const rows = new Map([[1, { id: 1, name: 'ann' }]])
    const make = (options?: { local: false }) =>
      new BaseCache(options).register('Person', { loader: pk => rows.get(Number(pk)) ?? null, serializer: (row: { id: number; name: string }) => ({ ...row }) })
    const cache = make()
    const name = async (on = cache) => (await on.getInstances([['Person', 1]])).get('Person:1')?.[0].name
    expect(await name()).to.equal('ann')
    expect(await name()).to.equal('ann')
    expect(tier().usage.entries, 'kept after the tracked read').to.equal(1)
    rows.set(1, { id: 1, name: 'bob' })
    await cache.updateInstance('Person', 1)
    expect(await name(), 'the refresh cleared the tier when it returned').to.equal('bob')
    tier().clear()
    const fromRedis = make({ local: false })
    await name(fromRedis)
    await name(fromRedis)
    expect(tier().usage.entries).to.equal(0)
  })

  it('refuses bad local options with a clear error', () => {
    expect(() => configure({ redis: redis.server.url, local: { maxEntries: 0 } })).to.throw(CachemeError, 'configure(): local.maxEntries must be a whole number >= 1, got 0')
    expect(() => configure({ redis: redis.server.url, local: { size: 1 } as never })).to.throw(CachemeError, /unknown option 'size'/)
    expect(() => cacheme({ key: () => 'k', local: true as never })(async () => 1)).to.throw(CachemeError, /local must be false or \{ ttl \}, got boolean/)
    expect(() => cacheme({ key: () => 'k', local: { ttl: -1 } })(async () => 1)).to.throw(CachemeError, /local.ttl must be a number of seconds > 0, got -1/)
    expect(() => new BaseCache({ local: { maxEntries: 5 } })).to.throw(CachemeError, /unknown option 'maxEntries'/)
  })
})
