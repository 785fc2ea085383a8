import { expect } from 'chai'
import Redis, { type RedisOptions } from 'ioredis'
import { checkEvictionPolicy } from '../../src/store/eviction-policy'
import { freePort, startRedisServer, type RedisServer } from '../../tools/redis-server'

const UNSAFE = ['allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl']

/** The warnings one check gives. */
async function warningsFor(client: Redis): Promise<string[]> {
  const warnings: string[] = []
  await checkEvictionPolicy(client, message => warnings.push(message))
  return warnings
}

describe('checkEvictionPolicy', () => {
  // Servers of their own: these tests change server-wide settings.
  let server: RedisServer
  let locked: RedisServer
  const clients: Redis[] = []
  const connect = (url: string, options: RedisOptions = {}) => {
    const client = new Redis(url, options)
    clients.push(client)
    return client
  }

  before(async () => {
    ;[server, locked] = await Promise.all([startRedisServer(), startRedisServer({ args: ['--rename-command', 'CONFIG', ''] })])
  })

  after(async () => {
    await Promise.all(clients.splice(0).map(client => client.quit().catch(() => client.disconnect())))
    await Promise.all([server?.stop(), locked?.stop()])
  })

  afterEach(async () => {
    await connect(server.url).config('SET', 'maxmemory-policy', 'noeviction')
  })

  it('is silent under noeviction', async () => {
    expect(await warningsFor(connect(server.url))).to.deep.equal([])
  })

  for (const policy of UNSAFE) {
    it(`warns under ${policy}, which can evict dependency sets or guards`, async () => {
      const client = connect(server.url)
      await client.config('SET', 'maxmemory-policy', policy)
      const warnings = await warningsFor(client)
      expect(warnings).to.have.length(1)
      expect(warnings[0]).to.include(`maxmemory-policy ${policy}`).and.include('noeviction').and.include('Redis memory and eviction')
    })
  }

  it('reads the policy over RESP3 as well', async () => {
    const client = connect(server.url, { protocol: 3 })
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru')
    expect(await warningsFor(client)).to.have.length(1)
    await client.config('SET', 'maxmemory-policy', 'noeviction')
    expect(await warningsFor(client)).to.deep.equal([])
  })

  it('is silent when CONFIG is disabled', async () => {
    const client = connect(locked.url)
    expect(await client.ping()).to.equal('PONG')
    expect(await warningsFor(client)).to.deep.equal([])
  })

  it('is silent, and does not reject, when the server cannot be reached', async () => {
    const client = connect(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    expect(await warningsFor(client)).to.deep.equal([])
  })
})

describe('invalidation on a full Redis', () => {
  let server: RedisServer
  let client: Redis
  before(async () => {
    server = await startRedisServer()
    client = new Redis(server.url)
  })
  after(async () => {
    await client.quit()
    await server.stop()
  })

  it('still gets through when maxmemory is reached under noeviction', async () => {
    const { RedisStore } = await import('../../src/store/redis-store')
    const { KeyLayout } = await import('../../src/keys')
    const layout = new KeyLayout('oom:')
    const store = new RedisStore(client, layout)
    const entry = layout.entry('Book:1>owner', 'test')
    const { seq } = await store.read(entry)
    expect(await store.write({ entry, value: '"ann"', ttlMs: 0, sets: [layout.invalidSet('User:1')], seq: seq! })).to.equal(true)
    const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1])
    await client.config('SET', 'maxmemory', String(used))
    try {
      await client.set('filler', 'x'.repeat(100_000)).catch(() => undefined)
      expect(await client.set('more', 'x').catch((error: Error) => error.message)).to.match(/OOM/)
      expect(await store.invalidateSets([layout.invalidSet('User:1')])).to.equal(1)
      expect((await store.read(entry)).value).to.equal(undefined)
    } finally {
      await client.config('SET', 'maxmemory', '0')
    }
  })
})
