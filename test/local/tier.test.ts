import { expect } from 'chai'
import Redis from 'ioredis'
import sinon from 'sinon'
import { KeyLayout } from '../../src/keys'
import type { LocalTier } from '../../src/local/local-tier'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { startTcpProxy, type TcpProxy } from '../../tools/tcp-proxy'
import { deferred, sleep } from '../support/backends'
import { openTier, redisCli, sealed, until } from './support'

describe('in-process tier: coherence through client tracking', function () {
  let server: RedisServer
  let direct: Redis
  let tier: LocalTier | undefined
  let proxy: TcpProxy | undefined
  const layout = new KeyLayout('lt:')
  const book = layout.entry('Book:1>owner', 'test')
  const sibling = layout.entry('Book:1>title', 'test')

  before(async () => {
    server = await startRedisServer()
    direct = new Redis(server.url)
  })
  after(async () => {
    direct.disconnect()
    await server.stop()
  })
  beforeEach(() => direct.flushall())
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
    ;({ tier } = await openTier(server.url))
    await direct.hset(book.key, book.field!, sealed('ann'))
    expect(await tier.readEntry(book, undefined)).to.equal('"ann"')
    expect(await kept()).to.equal('"ann"')
    await redisCli(server.port, 'HSET', book.key, book.field!, sealed('bob'))
    await until(async () => (await kept()) === undefined, 'the invalidation from redis-cli')
    expect(await tier.readEntry(book, undefined)).to.equal('"bob"')
  })

  it('drops every entry of a hash when any of its fields changes', async () => {
    ;({ tier } = await openTier(server.url))
    await direct.hset(book.key, book.field!, sealed('ann'), sibling.field!, sealed('Dune'))
    await tier.readEntry(book, undefined)
    await tier.readEntry(sibling, undefined)
    expect(tier.usage.entries).to.equal(2)
    await direct.hset(book.key, 'other', sealed(1))
    await until(() => tier!.usage.entries === 0, 'both fields to be dropped')
  })

  it('clears everything on FLUSHALL and FLUSHDB (a null message)', async () => {
    ;({ tier } = await openTier(server.url))
    for (const command of ['flushall', 'flushdb'] as const) {
      await direct.hset(book.key, book.field!, sealed('ann'))
      await direct.set('lt:plain', sealed(1))
      await tier.readEntry(book, undefined)
      await tier.readEntry(layout.entry('plain', 'test'), undefined)
      expect(tier.usage.entries).to.equal(2)
      await direct[command]()
      await until(() => tier!.usage.entries === 0, `${command} to clear the tier`)
    }
  })

  it('returns a reply that an invalidation overtook, but does not keep it', async () => {
    const opened = await openTier(server.url)
    tier = opened.tier
    await direct.hset(book.key, book.field!, sealed('old'))
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
    await direct.hset(book.key, book.field!, sealed('new'))
    await tier.caughtUp()
    release.resolve()
    expect(await read, 'the caller gets the reply').to.equal('"old"')
    expect(await kept(), 'the reply is not kept').to.equal(undefined)
    sinon.restore()
    expect(await tier.readEntry(book, undefined)).to.equal('"new"')
  })

  it('flushes and bypasses when the subscriber link is cut, and redirects to its new client id when it is back', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port })
    ;({ tier } = await openTier(server.url, proxy.url))
    await direct.hset(book.key, book.field!, sealed('ann'))
    await tier.readEntry(book, undefined)
    proxy.cut('reset')
    await until(() => !tier!.serving, 'the tier to stop serving')
    expect(await kept(), 'flushed on the loss').to.equal(undefined)
    // Changed while no message could arrive.
    await direct.hset(book.key, book.field!, sealed('bob'))
    proxy.heal()
    await until(() => tier!.serving, 'the tier to serve again')
    expect(await tier.readEntry(book, undefined)).to.equal('"bob"')
    await direct.hset(book.key, book.field!, sealed('cy'))
    await until(async () => (await kept()) === undefined, 'an invalidation through the new redirect')
  })

  it('flushes and bypasses when the data link is cut, and tracks again on the new connection', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port })
    ;({ tier } = await openTier(proxy.url, server.url))
    await direct.hset(book.key, book.field!, sealed('ann'))
    await tier.readEntry(book, undefined)
    proxy.cut('reset')
    await until(() => !tier!.serving, 'the tier to stop serving')
    expect(await kept(), 'flushed on the loss').to.equal(undefined)
    proxy.heal()
    await until(() => tier!.serving, 'the tier to serve again')
    expect(await tier.readEntry(book, undefined)).to.equal('"ann"')
    await direct.hset(book.key, book.field!, sealed('bob'))
    await until(async () => (await kept()) === undefined, 'an invalidation of a key read on the new connection')
  })

  it('notices a silent break of the channel by its heartbeat, flushes and bypasses', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: server.port })
    ;({ tier } = await openTier(server.url, proxy.url, { heartbeatMs: 100 }))
    await direct.hset(book.key, book.field!, sealed('ann'))
    await tier.readEntry(book, undefined)
    // The subscriber's socket stays open, and hears nothing more: no error, no close.
    proxy.cut('blackhole')
    await direct.hset(book.key, book.field!, sealed('bob'))
    await sleep(20)
    await until(() => !tier!.serving, 'the heartbeat to give up', 1000)
    expect(await kept()).to.equal(undefined)
  })

  it('stays within maxEntries and maxBytes, least recently used out first', async () => {
    ;({ tier } = await openTier(server.url, server.url, { maxEntries: 5, maxBytes: 4000 }))
    for (let i = 0; i < 20; i++) {
      const entry = layout.entry(`Small:${i}`, 'test')
      await direct.set(entry.key, sealed(i))
      await tier.readEntry(entry, undefined)
    }
    expect(tier.usage.entries).to.equal(5)
    expect(tier.entry(layout.entry('Small:19', 'test'))?.value).to.equal('19')
    expect(tier.entry(layout.entry('Small:0', 'test'))).to.equal(undefined)
    const large = 'x'.repeat(500)
    for (let i = 0; i < 5; i++) {
      const entry = layout.entry(`Large:${i}`, 'test')
      await direct.set(entry.key, sealed(large))
      await tier.readEntry(entry, undefined)
    }
    expect(tier.usage.bytes).to.be.at.most(4000)
    expect(tier.usage.entries).to.be.below(5)
  })

  it("keeps an entry no longer than its envelope's ttl, nor the tier's or the method's", async () => {
    ;({ tier } = await openTier(server.url, server.url, { ttlMs: 10_000 }))
    await direct.set('lt:short', `${Date.now() + 150}|1`)
    await tier.readEntry(layout.entry('short', 'test'), undefined)
    await direct.set('lt:policy', sealed(2))
    await tier.readEntry(layout.entry('policy', 'test'), { ttlMs: 150 })
    expect(tier.usage.entries).to.equal(2)
    await sleep(250)
    expect(tier.entry(layout.entry('short', 'test'))).to.equal(undefined)
    expect(tier.entry(layout.entry('policy', 'test'))).to.equal(undefined)
  })
})
