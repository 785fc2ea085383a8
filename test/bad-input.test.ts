import { expect } from 'chai'
import sinon from 'sinon'
import { cacheme, CachemeError, invalidate } from '../src'
import { BACKENDS, configureBackend, redisClient } from './support/backends'

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
