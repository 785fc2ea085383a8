import { expect } from 'chai'
import Redis from 'ioredis'
import sinon from 'sinon'
import { KeyLayout } from '../../src/keys'
import type { LocalTier } from '../../src/local/local-tier'
import { startTcpProxy, type TcpProxy } from '../../tools/tcp-proxy'
import { deferred, sleep } from '../support/backends'
import { openTier, privateRedis, redisCli, sealed, until } from './support'

describe('in-process tier: coherence through client tracking', function () {
  const redis = privateRedis()
  let tier: LocalTier | undefined
  let proxy: TcpProxy | undefined
  const layout = new KeyLayout('lt:')
  const book = layout.entry('Book:1>owner', 'test')
  const sibling = layout.entry('Book:1>title', 'test')

  beforeEach(() => redis.direct.flushall())
  afterEach(async () => {
    sinon.restore()
    await tier?.close()
    tier = undefined
    await proxy?.close()
    proxy = undefined
  })

  async function kept(entry = book) {
    return tier!.entry(entry)?.value
  }

  it('keeps a fresh value read through the tracked connection, and drops it when redis-cli changes the key', async () => {
    ;({ tier } = await openTier(redis.server.url))
    await redis.direct.hset(book.key, book.field!, sealed('ann'))
    expect(await tier.readEntry(book, undefined)).to.equal('"ann"')
    expect(await kept()).to.equal('"ann"')
    await redisCli(redis.server.port, 'HSET', book.key, book.field!, sealed('bob'))
    await until(async () => (await kept()) === undefined, 'the invalidation from redis-cli')
    expect(await tier.readEntry(book, undefined)).to.equal('"bob"')
  })

  it('drops every entry of a hash when any of its fields changes', async () => {
    ;({ tier } = await openTier(redis.server.url))
    await redis.direct.hset(book.key, book.field!, sealed('ann'), sibling.field!, sealed('Dune'))
    await tier.readEntry(book, undefined)
    await tier.readEntry(sibling, undefined)
    expect(tier.usage.entries).to.equal(2)
    await redis.direct.hset(book.key, 'other', sealed(1))
    await until(() => tier!.usage.entries === 0, 'both fields to be dropped')
  })

  it('clears everything on FLUSHALL and FLUSHDB (a null message)', async () => {
    ;({ tier } = await openTier(redis.server.url))
    for (const command of ['flushall', 'flushdb'] as const) {
      await redis.direct.hset(book.key, book.field!, sealed('ann'))
      await redis.direct.set('lt:plain', sealed(1))
      await tier.readEntry(book, undefined)
      await tier.readEntry(layout.entry('plain', 'test'), undefined)
      expect(tier.usage.entries).to.equal(2)
      await redis.direct[command]()
      await until(() => tier!.usage.entries === 0, `${command} to clear the tier`)
    }
  })

  it('returns a reply that an invalidation overtook, but does not keep it', async () => {
    const opened = await openTier(redis.server.url)
    tier = opened.tier
    await redis.direct.hset(book.key, book.field!, sealed('old'))
    // Hold the reply of the tracked read until the change has been heard.
    const arrived = deferred()
    const release = deferred()
    const hget = opened.data.hget.bind(opened.data)
    sinon.stub(opened.data, 'hget').callsFake(async (key: Parameters<Redis['hget']>[0], field: Parameters<Redis['hget']>[1]) => {
      const reply = await hget(key, field)
      arrived.resolve()
      await release.promise
      return reply
    })
    const read = tier.readEntry(book, undefined)
    await arrived.promise
    await redis.direct.hset(book.key, book.field!, sealed('new'))
    await tier.caughtUp()
    release.resolve()
    expect(await read, 'the caller gets the reply').to.equal('"old"')
    expect(await kept(), 'the reply is not kept').to.equal(undefined)
    sinon.restore()
    expect(await tier.readEntry(book, undefined)).to.equal('"new"')
  })

  for (const link of ['subscriber', 'data'] as const) {
    it(`flushes and bypasses when the ${link} link is cut, and is coherent again on the new connection`, async () => {
      proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.server.port })
      ;({ tier } = link === 'subscriber' ? await openTier(redis.server.url, proxy.url) : await openTier(proxy.url, redis.server.url))
      await redis.direct.hset(book.key, book.field!, sealed('ann'))
      await tier.readEntry(book, undefined)
      proxy.cut('reset')
      await until(() => !tier!.serving, 'the tier to stop serving')
      expect(await kept(), 'flushed on the loss').to.equal(undefined)
      // Changed while no message could arrive.
      await redis.direct.hset(book.key, book.field!, sealed('bob'))
      proxy.heal()
      await until(() => tier!.serving, 'the tier to serve again')
      expect(await tier.readEntry(book, undefined)).to.equal('"bob"')
      // Heard through the new redirect (a new subscriber id) or on the new tracked connection.
      await redis.direct.hset(book.key, book.field!, sealed('cy'))
      await until(async () => (await kept()) === undefined, 'an invalidation after the reconnect')
    })
  }

  type Subscribe = (...channels: (string | Buffer)[]) => Promise<unknown>

  /**
   * Opens a tier whose subscriber is behind the proxy, has its next SUBSCRIBE go as `first` says,
   * cuts the subscriber's link, and checks that the tier serves again, coherently.
   */
  async function resubscribesThrough(first: (subscribe: Subscribe, ...channels: (string | Buffer)[]) => Promise<unknown>) {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.server.port })
    const opened = await openTier(redis.server.url, proxy.url)
    tier = opened.tier
    const subscribe = opened.subscriber.subscribe.bind(opened.subscriber) as Subscribe
    sinon
      .stub(opened.subscriber, 'subscribe')
      .onFirstCall()
      .callsFake((...channels: (string | Buffer)[]) => first(subscribe, ...channels))
      .callThrough()
    proxy.cut('reset')
    proxy.heal()
    await until(() => !tier!.serving, 'the tier to stop serving')
    await until(() => tier!.serving, 'the tier to serve again', 3000)
    await redis.direct.hset(book.key, book.field!, sealed('ann'))
    expect(await tier.readEntry(book, undefined)).to.equal('"ann"')
    await redis.direct.hset(book.key, book.field!, sealed('bob'))
    await until(async () => (await kept()) === undefined, 'an invalidation heard through the redirect')
  }

  it('serves again when the subscriber reconnects while it subscribes: the redirect goes to the new client id', () =>
    resubscribesThrough((subscribe, ...channels) => {
      // The SUBSCRIBE leaves on a connection that is being reset: ioredis sends it again on the
      // next one, whose client id is not the one the tier asked for just before.
      proxy!.cut('reset')
      proxy!.heal()
      return subscribe(...channels)
    }))

  it('serves again when its SUBSCRIBE timed out after Redis ran it: the connection is subscribed under an unknown id', () =>
    resubscribesThrough(async (subscribe, ...channels) => {
      // Redis subscribed the connection; its reply came after the command timeout.
      await subscribe(...channels)
      throw new Error('Command timed out')
    }))

  it('notices a silent break of the channel by its heartbeat, flushes and bypasses', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.server.port })
    ;({ tier } = await openTier(redis.server.url, proxy.url, { heartbeatMs: 100 }))
    await redis.direct.hset(book.key, book.field!, sealed('ann'))
    await tier.readEntry(book, undefined)
    // The subscriber's socket stays open, and hears nothing more: no error, no close.
    proxy.cut('blackhole')
    await redis.direct.hset(book.key, book.field!, sealed('bob'))
    await sleep(20)
    await until(() => !tier!.serving, 'the heartbeat to give up', 1000)
    expect(await kept()).to.equal(undefined)
  })

  it('stays within maxEntries and maxBytes, least recently used out first', async () => {
    ;({ tier } = await openTier(redis.server.url, redis.server.url, { maxEntries: 5, maxBytes: 4000 }))
    for (let i = 0; i < 20; i++) {
      const entry = layout.entry(`Small:${i}`, 'test')
      await redis.direct.set(entry.key, sealed(i))
      await tier.readEntry(entry, undefined)
    }
    expect(tier.usage.entries).to.equal(5)
    expect(tier.entry(layout.entry('Small:19', 'test'))?.value).to.equal('19')
    expect(tier.entry(layout.entry('Small:0', 'test'))).to.equal(undefined)
    const large = 'x'.repeat(500)
    for (let i = 0; i < 5; i++) {
      const entry = layout.entry(`Large:${i}`, 'test')
      await redis.direct.set(entry.key, sealed(large))
      await tier.readEntry(entry, undefined)
    }
    expect(tier.usage.bytes).to.be.at.most(4000)
    expect(tier.usage.entries).to.be.below(5)
  })

  it("keeps an entry no longer than its envelope's ttl, nor the tier's or the method's", async () => {
    ;({ tier } = await openTier(redis.server.url, redis.server.url, { ttlMs: 10_000 }))
    await redis.direct.set('lt:short', `${Date.now() + 150}|1`)
    await tier.readEntry(layout.entry('short', 'test'), undefined)
    await redis.direct.set('lt:policy', sealed(2))
    await tier.readEntry(layout.entry('policy', 'test'), { ttlMs: 150 })
    expect(tier.usage.entries).to.equal(2)
    await sleep(250)
    expect(tier.entry(layout.entry('short', 'test'))).to.equal(undefined)
    expect(tier.entry(layout.entry('policy', 'test'))).to.equal(undefined)
  })
})
