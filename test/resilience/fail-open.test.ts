import { expect } from 'chai'
import Redis from 'ioredis'
import sinon from 'sinon'
import { BaseCache, cacheme, CachemeError, cachemeSettled, cachemeEvents, configure, invalidate, registerInvalidModels, shutdown } from '../../src'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { startTcpProxy, type TcpProxy } from '../../tools/tcp-proxy'
import { deferred, settlesWithin, sleep } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { openBookstore, type Bookstore } from '../sequelize/models'

/** A call must settle well within this, whatever Redis does; the bound only catches a hang. */
const HANG = 3000

function once(event: 'circuit' | 'replay' | 'overflow'): Promise<unknown[]> {
  return new Promise(resolve => cachemeEvents.once(event, (...args: unknown[]) => resolve(args)))
}

describe('fail open when Redis fails', function () {
  let server: RedisServer
  let proxy: TcpProxy
  let direct: Redis
  let onError: sinon.SinonSpy
  let prefix = 0

  before(async () => {
    server = await startRedisServer()
    direct = new Redis(server.url)
  })
  after(async () => {
    direct.disconnect()
    await server.stop()
  })
  beforeEach(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port })
    onError = sinon.spy()
    configure({ redis: proxy.url, prefix: `fo${++prefix}:`, timeout: 0.1, onError })
  })
  afterEach(async () => {
    configure({ store: 'memory', onError: () => {} })
    await proxy.close()
  })

  function counter(key = 'k') {
    let computations = 0
    const fn = cacheme({ key: () => key, invalidKeys: () => 'Row:1' })(async () => ++computations)
    return { fn, computations: () => computations }
  }

  for (const mode of ['reset', 'blackhole'] as const) {
    it(`computes and returns while Redis is unreachable (${mode}), reporting the fault`, async () => {
      const { fn } = counter()
      await fn()
      await cachemeSettled()
      const faults = sinon.spy()
      cachemeEvents.on('fault', faults)
      try {
        proxy.cut(mode)
        expect(await settlesWithin(fn(), HANG)).to.equal(2)
      } finally {
        cachemeEvents.off('fault', faults)
      }
      expect(onError.called).to.equal(true)
      expect(faults.called).to.equal(true)
      expect(onError.firstCall.args[1]).to.include({ operation: 'read', key: 'k' })
    })
  }

  it('returns within the timeout while Redis is paused, and caches again afterwards', async () => {
    const { fn, computations } = counter()
    await fn()
    await cachemeSettled()
    await direct.client('PAUSE', 400)
    expect(await settlesWithin(fn(), 1000)).to.equal(2)
    expect(onError.firstCall.args[0]).to.be.instanceOf(CachemeError).and.have.property('code', 'STORE_TIMEOUT')
    await sleep(1000) // the pause ends and the breaker lets a probe through
    await fn()
    await fn()
    expect(computations()).to.be.at.most(4)
    const hits = computations()
    await fn()
    expect(computations()).to.equal(hits)
  })

  it('opens the circuit so later calls skip Redis, and closes it when Redis answers', async () => {
    const { fn } = counter()
    await fn()
    const opened = once('circuit')
    proxy.cut('blackhole')
    await fn()
    await fn()
    expect(await opened).to.deep.equal(['open'])
    const reported = onError.callCount
    const started = Date.now()
    for (let i = 0; i < 20; i++) await fn()
    expect(Date.now() - started).to.be.below(20 * 100) // none of them waited out the timeout
    expect(onError.callCount).to.equal(reported)
    const closed = once('circuit')
    proxy.heal()
    await sleep(600)
    await fn()
    expect(await closed).to.deep.equal(['closed'])
  })

  it('replays an invalidation lost in a partition before serving cached values again', async () => {
    let row = 'old'
    const read = cacheme({ key: () => 'Row:1>name', invalidKeys: () => 'Row:1' })(async () => row)
    expect(await read()).to.equal('old')
    proxy.cut('reset')
    row = 'new'
    expect(await settlesWithin(invalidate({ invalidKey: 'Row:1' }), HANG)).to.equal(0) // queued, not thrown
    expect(await read()).to.equal('new')
    const replayed = once('replay')
    proxy.heal()
    expect(await read()).to.equal('new') // the old value is still in Redis, but not served
    expect(await replayed).to.deep.equal([1, 0])
    expect(await direct.hget(`fo${prefix}:Row:1`, 'name')).to.equal(null)
    expect(await read()).to.equal('new')
  })

  it('instance cache: a change made during a partition deletes the cached row when Redis answers again', async () => {
    const rows = new Map([[1, 'old']])
    const cache = new BaseCache().register<{ name: string }>('Row', { serializer: row => ({ name: row.name }), loader: pk => ({ name: rows.get(Number(pk))! }) })
    const name = async () => (await settlesWithin(cache.getInstances([['Row', 1]]), HANG)).get('Row:1')![0].name
    expect(await name()).to.equal('old')
    proxy.cut('reset')
    rows.set(1, 'new')
    expect(await settlesWithin(cache.updateInstance('Row', 1), HANG)).to.deep.equal([]) // reported, not thrown
    expect(await name()).to.equal('new')
    const replayed = once('replay')
    proxy.heal()
    expect(await name()).to.equal('new') // the old row is still in Redis, but not served
    await replayed
    expect(await direct.get(`fo${prefix}:drfc_default_row_1`)).to.equal(null)
    expect(await name()).to.equal('new')
  })

  it('falls back to invalidating the whole prefix when the replay queue overflows', async () => {
    configure({ redis: proxy.url, prefix: `fo${++prefix}:`, timeout: 0.1, replayQueueSize: 2, onError })
    const unrelated = counter('unrelated')
    await unrelated.fn()
    const overflow = once('overflow')
    proxy.cut('reset')
    for (const key of ['a', 'b', 'c']) await invalidate({ invalidKey: key })
    await overflow
    const replayed = once('replay')
    proxy.heal()
    await replayed
    await unrelated.fn()
    expect(unrelated.computations()).to.equal(2)
  })

  it('bounds each step of a large invalidation by the timeout, not the whole of it', async () => {
    const client = new Redis(proxy.url)
    try {
      const big = `fo${++prefix}:`
      // The entries are stored with time to spare (a busy machine must not leave some unstored), then
      // the invalidation runs under the short timeout whose steps it bounds.
      configure({ redis: client, prefix: big, timeout: 5, onError })
      const fn = cacheme({ key: c => `Big:${c.id}`, invalidKeys: () => 'Big' })(async (id: number) => id)
      for (let i = 0; i < 3000; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => fn(i + j)))
      configure({ redis: client, prefix: big, timeout: 0.15, onError })
      const scripts = client as unknown as { cachemePopSets: (...args: unknown[]) => Promise<unknown> }
      const step = scripts.cachemePopSets.bind(client)
      const slow = sinon.stub(scripts, 'cachemePopSets').callsFake(async (...args: unknown[]) => {
        await sleep(40)
        return step(...args)
      })
      try {
        expect(await invalidate({ invalidKey: 'Big' })).to.equal(3000)
      } finally {
        slow.restore()
      }
      expect(slow.callCount).to.be.at.least(6) // well over the timeout in all
      expect(onError.called).to.equal(false)
    } finally {
      configure({ store: 'memory', onError: () => {} })
      client.disconnect()
    }
  })

  it('does not store a value computed before Redis lost its data (restart, flush) and its guards', async () => {
    let row = 'old'
    const started = deferred()
    const gate = deferred()
    const read = cacheme({ key: () => 'Row:1>name', invalidKeys: () => 'Row:1' })(async () => {
      const value = row
      started.resolve()
      await gate.promise
      return value
    })
    await invalidate({ invalidKey: 'Other' }) // the sequence exists
    const stale = read()
    await started.promise
    row = 'new'
    await invalidate({ invalidKey: 'Row:1' })
    await direct.flushall() // as a restart without persistence does: the guard is gone
    gate.resolve()
    expect(await stale).to.equal('old')
    expect(await read()).to.equal('new')
  })

  it('shuts down promptly when the client it opened has lost its server', async () => {
    configure({ redis: proxy.url, prefix: `fo${++prefix}:`, timeout: 0.1, onError })
    await counter().fn()
    proxy.cut('blackhole')
    await settlesWithin(shutdown(), HANG)
  })

  describe('with Sequelize', () => {
    let store: Bookstore
    before(async () => {
      store = openBookstore(testDatabases()[0])
      registerInvalidModels([store.User])
      await store.sequelize.sync({ force: true })
    })
    after(() => store.sequelize.close())

    it('lets Model.save() succeed during the outage and delivers its invalidation afterwards', async () => {
      const user = await store.User.create({ id: 1, name: 'ann' })
      const name = cacheme({ key: c => `User:${c.id}>name`, invalidKeys: c => `User:${c.id}` })(async (id: number) => (await store.User.findByPk(id))!.name)
      expect(await name(1)).to.equal('ann')
      proxy.cut('blackhole')
      await settlesWithin(user.update({ name: 'bea' }), HANG)
      expect(await name(1)).to.equal('bea')
      const replayed = once('replay')
      proxy.heal()
      await replayed
      expect(await name(1)).to.equal('bea')
      expect(await name(1)).to.equal('bea')
    })
  })
})
