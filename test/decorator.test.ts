import { expect } from 'chai'
import Redis from 'ioredis'
import sinon from 'sinon'
import { cacheme, cachemeSettled, cachemeTags, configure, CachemeError, invalidate, shutdown, type Container } from '../src'
import { testRedisUrl } from './support/fixtures'
import { BACKENDS, configureBackend, redisClient, sleep } from './support/backends'

for (const backend of BACKENDS) {
  describe(`@cacheme on the ${backend} store`, () => {
    beforeEach(() => {
      configureBackend(backend)
    })

    class BookSerializer {
      calls = 0
      @cacheme({
        key: c => `Book:${c.book.id}>owner`,
        invalidKeys: c => [`User:${c.book.ownerId}`, [null, `Book:${c.book.id}`], `Book:${c.book.id}`],
      })
      async getOwner(book: { id: number; ownerId: number }) {
        this.calls++
        return { owner: book.ownerId }
      }

      @cacheme({ key: c => `value:${c.name}`, tag: 'values' })
      async value(name: string, result: unknown) {
        this.calls++
        return result
      }
    }

    it('computes on a miss and serves the stored result on a hit', async () => {
      const serializer = new BookSerializer()
      expect(await serializer.getOwner({ id: 1, ownerId: 7 })).to.deep.equal({ owner: 7 })
      expect(await serializer.getOwner({ id: 1, ownerId: 7 })).to.deep.equal({ owner: 7 })
      expect(serializer.calls).to.equal(1)
    })

    for (const falsy of [null, 0, '', false, [], undefined]) {
      it(`caches ${JSON.stringify(falsy) ?? 'undefined'} like any value`, async () => {
        const serializer = new BookSerializer()
        expect(await serializer.value('f', falsy)).to.deep.equal(falsy)
        expect(await serializer.value('f', 'other')).to.deep.equal(falsy)
        expect(serializer.calls).to.equal(1)
      })
    }

    it('deletes exactly the entries of an invalidated dependency', async () => {
      const serializer = new BookSerializer()
      await serializer.getOwner({ id: 1, ownerId: 7 })
      await serializer.getOwner({ id: 2, ownerId: 8 })
      expect(await invalidate({ invalidKey: 'User:7' })).to.equal(1)
      await serializer.getOwner({ id: 1, ownerId: 7 })
      await serializer.getOwner({ id: 2, ownerId: 8 })
      expect(serializer.calls).to.equal(3)
    })

    it('records the entry under every flattened, deduplicated dependency', async () => {
      const serializer = new BookSerializer()
      await serializer.getOwner({ id: 3, ownerId: 9 })
      expect(await invalidate({ invalidKey: 'Book:3' })).to.equal(1)
      await serializer.getOwner({ id: 3, ownerId: 9 })
      expect(await invalidate({ invalidKey: 'User:9' })).to.equal(1)
      expect(serializer.calls).to.equal(2)
    })

    it('lists and invalidates the keys of a tag', async () => {
      const serializer = new BookSerializer()
      await serializer.getOwner({ id: 1, ownerId: 7 })
      await serializer.getOwner({ id: 2, ownerId: 7 })
      await serializer.value('a', 1)
      const tag = cachemeTags['BookSerializer.getOwner']
      expect((await tag.keys()).sort()).to.deep.equal(['Book:1>owner', 'Book:2>owner'])
      expect(await cachemeTags.values.keys()).to.deep.equal(['value:a'])
      expect(await tag.invalidate()).to.equal(2)
      expect(await tag.keys()).to.deep.equal([])
      expect(await cachemeTags.values.keys()).to.deep.equal(['value:a'])
    })

    it('tags a wrapped function with its name by default', async () => {
      const loadUser = cacheme({ key: c => `User:${c.id}>profile` })(async function loadUser(id: number) {
        return { id }
      })
      await loadUser(1)
      expect(await cachemeTags.loadUser.keys()).to.deep.equal(['User:1>profile'])
    })

    it('invalidates by key, by tag and by pattern', async () => {
      const serializer = new BookSerializer()
      await serializer.getOwner({ id: 1, ownerId: 7 })
      await serializer.getOwner({ id: 2, ownerId: 7 })
      await serializer.value('a', 1)
      await serializer.value('b', 2)
      expect(await invalidate({ key: 'Book:1>owner' })).to.equal(1)
      expect(await invalidate({ pattern: 'value:*' })).to.equal(2)
      expect(await invalidate({ tag: 'BookSerializer.getOwner' })).to.equal(1)
      const calls = serializer.calls
      await serializer.getOwner({ id: 1, ownerId: 7 })
      await serializer.getOwner({ id: 2, ownerId: 7 })
      await serializer.value('a', 1)
      expect(serializer.calls).to.equal(calls + 3)
    })

    it('keeps pattern invalidation away from dependency sets, so later invalidations still work', async () => {
      const serializer = new BookSerializer()
      await serializer.getOwner({ id: 1, ownerId: 7 })
      await invalidate({ pattern: '*' })
      await serializer.getOwner({ id: 1, ownerId: 7 })
      expect(await invalidate({ invalidKey: 'User:7' })).to.equal(1)
    })

    it('refuses a manual invalidation that names no target or two', async () => {
      await expectRejection(invalidate({} as never), /exactly one of key, invalidKey, tag, pattern, got none/)
      await expectRejection(invalidate({ key: 'a', tag: 'b' } as never), /got key and tag/)
    })

    it('expires an entry after its ttl, also a hash field beside a field without one', async () => {
      let calls = 0
      const short = cacheme({ key: c => `Book:1>${c.name}`, ttl: 0.15 })(async (name: string) => ++calls)
      const long = cacheme({ key: c => `Book:1>${c.name}` })(async (name: string) => ++calls)
      const own = cacheme({ key: () => 'own', ttl: 0.15 })(async () => ++calls)
      await short('a')
      await long('b')
      await own()
      await short('a')
      await long('b')
      await own()
      expect(calls).to.equal(3)
      await sleep(300)
      await short('a')
      await long('b')
      await own()
      expect(calls).to.equal(5)
    })

    it('uses the configured default ttl unless the decorator gives one', async () => {
      configureBackend(backend, { ttl: 0.15 })
      let calls = 0
      const withDefault = cacheme({ key: () => 'default' })(async () => ++calls)
      const forever = cacheme({ key: () => 'forever', ttl: 0 })(async () => ++calls)
      await withDefault()
      await forever()
      await sleep(300)
      await withDefault()
      await forever()
      expect(calls).to.equal(3)
    })

    it('passes each call its own container: parameters by name, self, args and the result', async () => {
      const seen: Container[] = []
      class Serializer {
        @cacheme({
          key: c => `c:${c.a}:${c.rest.join(',')}`,
          invalidKeys: c => {
            seen.push({ ...c })
            return null
          },
        })
        async method(a: number, ...rest: number[]) {
          return a + rest.length
        }
      }
      const serializer = new Serializer()
      await serializer.method(1, 2, 3)
      await serializer.method(5)
      expect(seen[0]).to.deep.include({ self: serializer, args: [1, 2, 3], a: 1, rest: [2, 3], result: 3, cachemeResult: 3 })
      expect(seen[1]).to.deep.include({ args: [5], a: 5, rest: [], result: 5 })
    })

    it('reads parameter names once, when applied, not on every call', async () => {
      const fn = cacheme({ key: c => `p:${c.x}` })(async (x: number) => x)
      const toString = sinon.spy(Function.prototype, 'toString')
      try {
        await fn(1)
        await fn(2)
        await fn(1)
      } finally {
        toString.restore()
      }
      expect(toString.callCount).to.equal(0)
    })

    it('calls hit and miss with the key, and runs uncached when skip says so', async () => {
      const hit = sinon.spy()
      const miss = sinon.spy()
      let calls = 0
      const fn = cacheme({ key: c => `k:${c.x}`, hit, miss, skip: c => c.x < 0 })(async (x: number) => {
        calls++
        return x * 2
      })
      await fn(1)
      await cachemeSettled()
      await fn(1)
      await fn(-1)
      await fn(-1)
      expect(miss.callCount).to.equal(1)
      expect(miss.firstCall.args[0]).to.equal('k:1')
      expect(hit.callCount).to.equal(1)
      expect(hit.firstCall.args.slice(0, 2)).to.deep.equal(['k:1', 2])
      expect(calls).to.equal(3)
    })

    it('runs every call uncached with skip: true, without building its key, and caches with skip: false', async () => {
      const key = sinon.spy((c: Container) => `flag:${c.x}`)
      let calls = 0
      const body = async (x: number) => {
        calls++
        return x * 2
      }
      const skipped = cacheme({ key, skip: true })(body)
      expect([await skipped(1), await skipped(1)]).to.deep.equal([2, 2])
      expect(calls, 'computed on each call').to.equal(2)
      expect(key.callCount, 'no key is made for a skipped call').to.equal(0)

      calls = 0
      const cached = cacheme({ key, skip: false })(body)
      await cached(1)
      await cached(1)
      expect(calls, 'the skipped calls stored nothing, and skip: false is the same as no skip').to.equal(1)
    })

    it('rejects a bad key at call time with a CachemeError naming the method', async () => {
      class Serializer {
        @cacheme({ key: c => c.key })
        async method(key: unknown) {
          return key
        }
      }
      const serializer = new Serializer()
      await expectRejection(serializer.method('a>b>c'), /^Serializer\.method: .*more than one '>'/)
      await expectRejection(serializer.method(''), /^Serializer\.method: .*empty string/)
      await expectRejection(serializer.method(5), /^Serializer\.method: .*got number/)
    })

    it('rejects when the key function or invalidKeys throw, naming the method', async () => {
      const broken = cacheme({
        key: () => {
          throw new Error('boom')
        },
      })(async function brokenKey() {
        return 1
      })
      await expectRejection(broken(), /^brokenKey: the key function threw: boom/)
      const badDeps = cacheme({ key: () => 'k', invalidKeys: () => [5 as unknown as string] })(async function badDependencies() {
        return 1
      })
      await expectRejection(badDeps(), /^badDependencies: invalidKeys must give non-empty strings, got number/)
    })

    it('returns an unserializable result uncached and reports it', async () => {
      const onError = sinon.spy()
      configureBackend(backend, { onError })
      let calls = 0
      const fn = cacheme({ key: () => 'big' })(async function bigint() {
        calls++
        return 10n
      })
      expect(await fn()).to.equal(10n)
      expect(await fn()).to.equal(10n)
      expect(calls).to.equal(2)
      expect(onError.firstCall.args[0]).to.be.instanceOf(CachemeError).and.have.property('code', 'UNSERIALIZABLE_RESULT')
    })

    it('runs uncached and writes nothing when disabled', async () => {
      const prefix = configureBackend(backend, { enabled: false })
      let calls = 0
      const fn = cacheme({ key: () => 'off' })(async () => ++calls)
      await fn()
      await fn()
      expect(calls).to.equal(2)
      if (backend === 'redis') expect(await redisClient().keys(`${prefix}*`)).to.deep.equal([])
    })

    it('uses the configuration active at call time', async () => {
      let calls = 0
      const fn = cacheme({ key: () => 'switch' })(async () => ++calls)
      await fn()
      await fn()
      configureBackend(backend)
      await fn()
      await fn()
      expect(calls).to.equal(2)
    })
  })
}

describe('@cacheme Redis layout', () => {
  it('writes a > key as a hash field, its dependencies and its tag as sets, under the prefix', async () => {
    const prefix = configureBackend('redis')
    const fn = cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => `User:${c.result}`, tag: 'owners' })(async (id: number) => id * 10)
    await fn(4)
    const redis = redisClient()
    expect(await redis.hkeys(`${prefix}Book:4`)).to.deep.equal(['owner'])
    expect(await redis.smembers(`${prefix}User:40:invalid`)).to.deep.equal([`${prefix}Book:4>owner`])
    expect(await redis.smembers(`${prefix}__tag:owners`)).to.deep.equal([`${prefix}Book:4>owner`])
    const keys = await redis.keys('*')
    expect(keys.filter(key => !key.startsWith(prefix) && key.includes('Book:4'))).to.deep.equal([])
  })

  it('gives sets and hashes an expiry at least as long as their members', async () => {
    const prefix = configureBackend('redis')
    const short = cacheme({ key: () => 'Book:5>a', invalidKeys: () => 'User:5', ttl: 10 })(async () => 1)
    const long = cacheme({ key: () => 'Book:5>b', invalidKeys: () => 'User:5', ttl: 100 })(async () => 2)
    await long()
    await short()
    const redis = redisClient()
    expect(await redis.ttl(`${prefix}Book:5`)).to.be.within(90, 100)
    expect(await redis.ttl(`${prefix}User:5:invalid`)).to.be.within(90, 100)
    const forever = cacheme({ key: () => 'Book:5>c', invalidKeys: () => 'User:5' })(async () => 3)
    await forever()
    expect(await redis.ttl(`${prefix}Book:5`)).to.equal(-1)
    expect(await redis.ttl(`${prefix}User:5:invalid`)).to.equal(-1)
  })

  it('stores the value, its sets and its tag in one atomic round trip, after reading the value and then the sequence', async () => {
    configureBackend('redis')
    const fn = cacheme({ key: () => 'Book:6>x', invalidKeys: () => ['a', 'b', 'c', 'd', 'e'] })(async () => 1)
    const sent = sinon.spy(redisClient(), 'sendCommand')
    try {
      await fn()
    } finally {
      sent.restore()
    }
    const commands = sent.getCalls().map(call => (call.args[0] as { name: string }).name)
    expect(commands).to.have.length(3)
    expect(commands.slice(0, 2), 'the miss, then the sequence').to.deep.equal(['hget', 'get'])
    expect(['evalsha', 'eval'], 'one script call stores it all').to.include(commands[2])
  })

  for (const [form, redis] of [
    ['a URL', () => testRedisUrl()],
    ['ioredis options', () => ({ port: Number(new URL(testRedisUrl()).port), host: '127.0.0.1' })],
  ] as const) {
    it(`connects from ${form} and closes the client it opened on shutdown`, async () => {
      const connections = async () =>
        String(await redisClient().client('LIST'))
          .trim()
          .split('\n').length
      const before = await connections()
      configure({ redis: redis(), prefix: `own${Date.now()}:` })
      let calls = 0
      const fn = cacheme({ key: () => 'own-client' })(async () => ++calls)
      await fn()
      await fn()
      expect(calls).to.equal(1)
      expect(await connections()).to.equal(before + 1)
      await shutdown()
      for (let tries = 0; tries < 50 && (await connections()) > before; tries++) await sleep(20)
      expect(await connections()).to.equal(before)
      configureBackend('redis')
    })
  }

  it('works with an auto-pipelining client from its first call', async () => {
    const client = new Redis(testRedisUrl(), { enableAutoPipelining: true })
    try {
      configure({ redis: client, prefix: `auto${Date.now()}:`, onError: error => expect.fail(String(error)) })
      let calls = 0
      const fn = cacheme({ key: c => `a:${c.id}` })(async (id: number) => (calls++, id))
      expect(await Promise.all([fn(1), fn(2), fn(1)])).to.deep.equal([1, 2, 1])
      await fn(1)
      expect(calls).to.equal(2)
    } finally {
      configureBackend('redis')
      client.disconnect()
    }
  })

  it('reports Redis faults to onError and still returns the computed value', async () => {
    const onError = sinon.spy()
    configureBackend('redis', { onError })
    const fn = cacheme({ key: () => 'k' })(async function computed() {
      return 'value'
    })
    const failing = sinon.stub(redisClient(), 'get').rejects(new Error('connection lost'))
    try {
      expect(await fn()).to.equal('value')
    } finally {
      failing.restore()
    }
    expect(onError.calledOnce).to.equal(true)
    expect(onError.firstCall.args[0].message).to.equal('connection lost')
    expect(onError.firstCall.args[1]).to.deep.equal({ operation: 'read', key: 'k', method: 'computed' })
  })
})

export async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<CachemeError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(CachemeError)
    expect((error as Error).message).to.match(message)
    return error as CachemeError
  }
  return expect.fail(`expected a rejection matching ${message}`)
}
