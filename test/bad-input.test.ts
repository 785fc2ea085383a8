import { expect } from 'chai'
import sinon from 'sinon'
import { BaseCache, cacheme, CachemeError, configure, gc, invalidate } from '../src'
import { cli } from './cli/support'
import { BACKENDS, configureBackend, redisClient, sleep } from './support/backends'
import { testRedisUrl } from './support/fixtures'

/** The error a promise rejects with, or undefined when it resolves. */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

const uniqueId = () => Math.random().toString(36).slice(2, 8)

/** Results: a value JSON cannot hold is returned uncached and reported, never thrown. */
for (const backend of BACKENDS) {
  describe(`bad results on the ${backend} store`, () => {
    let onError: sinon.SinonSpy
    beforeEach(() => {
      onError = sinon.spy()
      configureBackend(backend, { onError, maxValueBytes: 1000 })
    })

    const circular: Record<string, unknown> = { name: 'loop' }
    circular.self = circular
    const results: [string, () => unknown, string][] = [
      ['a circular object', () => circular, 'UNSERIALIZABLE_RESULT'],
      ['a function', () => () => 1, 'UNSERIALIZABLE_RESULT'],
      ['a BigInt', () => ({ big: 10n }), 'UNSERIALIZABLE_RESULT'],
      ['a value over maxValueBytes', () => 'x'.repeat(2000), 'VALUE_TOO_LARGE'],
    ]
    for (const [what, make, code] of results) {
      it(`returns ${what} uncached and tells onError (${code}) naming the method`, async () => {
        let computations = 0
        const fn = cacheme({ key: () => 'bad' })(async function badResult() {
          computations++
          return make()
        })
        const value = make()
        expect(typeof (await fn())).to.equal(typeof value)
        await fn()
        expect(computations).to.equal(2)
        const [error, context] = onError.firstCall.args
        expect(error).to.be.instanceOf(CachemeError).and.have.property('code', code)
        expect(error.message).to.match(/^badResult: /)
        expect(context).to.deep.equal({ operation: 'write', key: 'bad', method: 'badResult' })
      })
    }

    it('caches undefined as a value', async () => {
      let computations = 0
      const fn = cacheme({ key: () => 'void' })(async () => {
        computations++
      })
      await fn()
      await fn()
      expect(computations).to.equal(1)
      expect(onError.called).to.equal(false)
    })

    it('cannot pollute prototypes through a cached __proto__ key', async () => {
      const fn = cacheme({ key: () => 'proto' })(async () => JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'))
      await fn()
      const cached = await fn()
      expect(cached.ok).to.equal(1)
      expect(({} as { polluted?: boolean }).polluted).to.equal(undefined)
      expect(Object.getPrototypeOf(cached)).to.equal(Object.prototype)
    })
  })
}

describe('what a caller passes stays inside the prefix', () => {
  it('matches patterns, glob characters and all, inside the prefix only', async () => {
    const prefix = configureBackend('redis')
    const redis = redisClient()
    await redis.set('outside:Book:1', 'x')
    const fn = cacheme({ key: c => `Book:${c.id}` })(async (id: number) => id)
    await fn(1)
    await fn(2)
    expect(await invalidate({ pattern: '*' })).to.equal(2)
    expect(await invalidate({ pattern: '[a-z]*:Book:1' })).to.equal(0)
    expect(await redis.get('outside:Book:1')).to.equal('x')
    expect(await redis.exists(`${prefix}__seq`)).to.equal(1)
    await redis.del('outside:Book:1')
  })

  it("refuses keys that would name cacheme's own bookkeeping", async () => {
    configureBackend('redis')
    const fn = cacheme({ key: c => c.key })(async function own(key: string) {
      return key
    })
    for (const key of ['__seq', '__tag:x', 'x:invalid', 'x:invalid>f']) {
      const error = await fn(key).catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(CachemeError).and.have.property('code', 'INVALID_KEY')
    }
    await invalidate({ invalidKey: '__gen:x' }).then(
      () => expect.fail('accepted a reserved invalid key'),
      (error: unknown) => expect(error).to.be.instanceOf(CachemeError).and.have.property('code', 'INVALID_KEY'),
    )
  })
})

describe("nothing outside cacheme's namespace is touched", () => {
  afterEach(() => configure({ store: 'memory', onError: () => {} }))

  it('refuses a prefix that does not end with a separator, in configure(), a BaseCache of its own and the CLI', async () => {
    const message = /^prefix must end with one of : \/ \. \|, or its patterns and gc would reach the names of other applications that merely start with it, got "app"$/
    expect(() => configure({ store: 'memory', prefix: 'app' }))
      .to.throw(CachemeError, message)
      .with.property('code', 'INVALID_CONFIG')
    expect(() => new BaseCache({ store: 'memory', prefix: 'rows' }))
      .to.throw(CachemeError, /prefix must end with one of/)
      .with.property('code', 'INVALID_CONFIG')
    const run = await cli(['--redis', testRedisUrl(), '--prefix', 'app', 'tags'])
    expect(run).to.include({ code: 2, stdout: '' })
    expect(run.stderr).to.match(/^cacheme: prefix must end with one of : \/ \. \|/)
  })

  it('cacheme gc and invalidate --pattern under --prefix app leave the keys of an application named apple alone', async () => {
    const app = `app${uniqueId()}`
    const redis = redisClient()
    await redis.hset(`${app}le:cart`, 'item', '3')
    await redis.set(`${app}le:session`, 'token')
    try {
      const gcRun = await cli(['--redis', testRedisUrl(), '--prefix', app, 'gc'])
      expect(await redis.hgetall(`${app}le:cart`)).to.deep.equal({ item: '3' })
      const patternRun = await cli(['--redis', testRedisUrl(), '--prefix', app, 'invalidate', '--pattern', '*'])
      expect(await redis.get(`${app}le:session`)).to.equal('token')
      expect([gcRun.code, patternRun.code]).to.deep.equal([2, 2])
    } finally {
      await redis.del(`${app}le:cart`, `${app}le:session`)
    }
  })

  it("gc deletes expired fields of cacheme's hashes and leaves fields without cacheme's envelope alone", async () => {
    const prefix = configureBackend('redis')
    const redis = redisClient()
    const short = cacheme({ key: c => `Book:${c.id}>short`, ttl: 0.05 })(async (id: number) => id)
    const forever = cacheme({ key: c => `Book:${c.id}>forever` })(async (id: number) => id)
    await short(1)
    await forever(1)
    await redis.hset(`${prefix}Book:1`, 'foreign', 'x')
    await redis.hset(`${prefix}cart`, 'item', '3', 'note', 'not|an envelope')
    await sleep(120)

    expect(await gc()).to.include({ fieldsRemoved: 1 })
    expect(await redis.hkeys(`${prefix}Book:1`)).to.have.members(['forever', 'foreign'])
    expect(await redis.hgetall(`${prefix}cart`)).to.deep.equal({ item: '3', note: 'not|an envelope' })
  })
})

for (const backend of BACKENDS) {
  describe(`keys that Redis could not tell apart, on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    it('refuses a key with a lone surrogate, which Redis stores as U+FFFD like every other one', async () => {
      const codeUnit = cacheme({ key: c => `S:${c.text}` })(async (text: string) => text.charCodeAt(0))
      for (const text of ['\uD800', '\uDBFF', '\uDC00']) {
        expect(await rejection(codeUnit(text)), JSON.stringify(text))
          .to.be.instanceOf(CachemeError)
          .with.property('code', 'INVALID_KEY')
      }
      expect(await codeUnit('\u{1F600}')).to.equal(0xd83d)
      expect(await codeUnit('\u{1F601}')).to.equal(0xd83d)
    })

    it('refuses invalid keys, tags and patterns with a lone surrogate', async () => {
      const dependent = cacheme({ key: () => 'dependent', invalidKeys: () => 'User:\uD800' })(async () => 1)
      expect(() => cacheme({ key: () => 'tagged', tag: 'tag\uDFFF' })(async function tagged() {}))
        .to.throw(CachemeError, /^@cacheme on tagged: tag "tag\\udfff" has a lone surrogate/)
        .with.property('code', 'INVALID_KEY')
      const calls = [dependent, () => invalidate({ invalidKey: 'User:\uD800' }), () => invalidate({ tag: 'tag\uDFFF' }), () => invalidate({ pattern: '\uD800*' })]
      for (const call of calls) {
        expect(await rejection(call()))
          .to.be.instanceOf(CachemeError)
          .with.property('code', 'INVALID_KEY')
      }
    })

    it('keys a parameter named __proto__ by its argument, not by Object.prototype', async () => {
      let computed = 0
      const echo = cacheme({ key: c => `P:${c.__proto__}` })(async function echo(__proto__: number) {
        computed++
        return __proto__
      })
      expect(await echo(1)).to.equal(1)
      expect(await echo(2)).to.equal(2)
      expect(await echo(1)).to.equal(1)
      expect(computed).to.equal(2)
    })

    it('keys a method parameter named __proto__ by its argument (legacy decorator)', async () => {
      class Echo {
        @cacheme({ key: c => `EP:${c.__proto__}` })
        async echo(__proto__: number) {
          return __proto__
        }
      }
      const echo = new Echo()
      expect([await echo.echo(1), await echo.echo(2)]).to.deep.equal([1, 2])
    })
  })

  describe(`patterns of hash fields, on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    it('matches nothing with a pattern whose > no key can have: a second one, or an empty side', async () => {
      const field = cacheme({ key: c => `HB:${c.id}>${c.name}` })(async (id: number, name: string) => `${name} ${id}`)
      await field(1, 'owner')
      for (const pattern of ['HB:1>owner>x', 'HB:1>ow>ner', '>owner', 'HB:1>', '<b>HB*</b>']) expect(await invalidate({ pattern }), pattern).to.equal(0)
      expect(await invalidate({ pattern: 'HB:1>owner' })).to.equal(1)
    })

    it("invalidate({ pattern }) deletes the hash fields a '>' pattern matches, and whole keys otherwise", async () => {
      const computed: string[] = []
      const field = cacheme({ key: c => `HB:${c.id}>${c.name}` })(async (id: number, name: string) => {
        computed.push(`${id}>${name}`)
        return `${name} ${id}`
      })
      const calls: [number, string][] = [
        [1, 'owner'],
        [1, 'title'],
        [2, 'owner'],
        [2, 'title'],
      ]
      /** The calls that miss, computing again. */
      const recomputed = async () => {
        computed.length = 0
        for (const [id, name] of calls) await field(id, name)
        return [...computed]
      }
      expect(await recomputed()).to.have.length(4)

      expect(await invalidate({ pattern: 'HB:*>owner' })).to.equal(2)
      expect(await recomputed()).to.deep.equal(['1>owner', '2>owner'])
      // Without '>', the pattern names whole keys: the hash HB:1 with both its fields.
      expect(await invalidate({ pattern: 'HB:1' })).to.equal(1)
      expect(await recomputed()).to.deep.equal(['1>owner', '1>title'])
      expect(await invalidate({ pattern: 'HB:[2]>t*' })).to.equal(1)
      expect(await recomputed()).to.deep.equal(['2>title'])
    })
  })
}

describe('configure() refuses a redis option it cannot connect with', () => {
  afterEach(() => configure({ store: 'memory', onError: () => {} }))

  const refused: [string, unknown, RegExp][] = [
    ['an empty array', [], /redis must be an ioredis client, a redis:\/\/ or rediss:\/\/ URL, a Unix socket path or ioredis options, got an array/],
    ['an array of URLs', ['redis://localhost'], /got an array/],
    [
      'a string that is not a URL',
      'not a url at all',
      /^configure\(\): redis "not a url at all" is not a Redis URL: expected redis:\/\/\[\[user\]:password@\]host\[:port\]\[\/db\], rediss:\/\/\.\.\. or a Unix socket path$/,
    ],
    ['a URL of another scheme', 'http://localhost:6379', /redis "http:\/\/localhost:6379" is not a Redis URL/],
    ['an empty string', '', /redis "" is not a Redis URL/],
    ['a redis URL that does not parse', 'redis://host:port', /redis "redis:\/\/host:port" is not a Redis URL/],
    ['a URL that does not parse, without showing its password', 'redis://user:s3cret@host:port', /redis "redis:\/\/\*\*\*@host:port" is not a Redis URL/],
    ['null', null, /got null/],
    ['a number', 6379, /got number/],
  ]
  for (const [what, redis, message] of refused) {
    it(`refuses ${what} with INVALID_CONFIG`, () => {
      expect(() => configure({ redis: redis as never }))
        .to.throw(CachemeError, message)
        .with.property('code', 'INVALID_CONFIG')
    })
  }

  it('accepts a redis:// URL', () => {
    expect(() => configure({ redis: testRedisUrl() })).not.to.throw()
  })
})
