import { expect } from 'chai'
import { cacheme, CachemeError, configure } from '../src'

function decorationError(options: unknown): CachemeError {
  try {
    class Serializer {
      @cacheme(options as never)
      async getOwner() {
        return 1
      }
    }
    void Serializer
  } catch (error) {
    expect(error).to.be.instanceOf(CachemeError)
    expect((error as CachemeError).code).to.equal('INVALID_OPTIONS')
    return error as CachemeError
  }
  return expect.fail('the decorator accepted bad options')
}

describe('decorator options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a missing key', {}, /the key option is required/],
    ['a key that is not a function', { key: 'Book:1' }, /key must be a function, got string/],
    ['a negative ttl', { key: () => 'k', ttl: -1 }, /ttl must be a number of seconds >= 0, got -1/],
    ['a ttl that is not a number', { key: () => 'k', ttl: '5' }, /ttl must be a number/],
    ['an unknown option', { key: () => 'k', invalidKey: () => 'x' }, /unknown option 'invalidKey'/],
    ['invalidModels that are not models', { key: () => 'k', invalidModels: [{}] }, /invalidModels must contain Sequelize model classes, got object/],
    ['an empty tag', { key: () => 'k', tag: '' }, /tag must be a non-empty string/],
    ['a negative grace', { key: () => 'k', grace: -1 }, /grace must be a number of seconds >= 0/],
    ['a lease that is not a number', { key: () => 'k', lease: 'long' }, /lease must be a number of seconds >= 0/],
    ['options that are not an object', null, /options must be an object, got null/],
    ['a skip that is neither a boolean nor a function', { key: () => 'k', skip: 'yes' }, /skip must be a boolean or a function \(c\) => boolean, got string/],
  ]
  for (const [what, options, message] of cases) {
    it(`refuses ${what} when applied, naming the method`, () => {
      const error = decorationError(options)
      expect(error.message)
        .to.match(/^@cacheme on Serializer\.getOwner: /)
        .and.match(message)
    })
  }

  it('accepts skip as a boolean as well as a function', () => {
    for (const skip of [true, false, () => false]) expect(() => cacheme({ key: () => 'k', skip })(async function flagged() {})).not.to.throw()
  })

  it('refuses a plain function wrapper with bad options at once, naming the function', () => {
    expect(() => cacheme({ key: () => 'k', hit: 1 } as never)(function named() {})).to.throw(CachemeError, /^@cacheme on named: hit must be a function/)
  })
})

describe('configure', () => {
  afterEach(() => configure({ store: 'memory', onError: () => {} }))

  const cases: [string, unknown, RegExp][] = [
    ['an unknown option', { prefx: 'x' }, /unknown option 'prefx'/],
    ['a negative ttl', { ttl: -5 }, /ttl must be a number of seconds >= 0/],
    ['an unknown store', { store: 'disk' }, /store must be 'memory' or 'redis'/],
    ['both a client and the memory store', { store: 'memory', redis: 'redis://x' }, /not both/],
    ['a prefix with >', { prefix: 'a>' }, /prefix must be a non-empty string without '>'/],
    ['an onError that is not a function', { onError: 'log' }, /onError must be a function/],
    ['a timeout of 0', { timeout: 0 }, /timeout must be a number of seconds > 0, got 0/],
    ['a replay queue of 0', { replayQueueSize: 0 }, /replayQueueSize must be a whole number >= 1/],
    ['a negative maxValueBytes', { maxValueBytes: -1 }, /maxValueBytes must be a whole number of bytes >= 0/],
  ]
  for (const [what, options, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => configure(options as never)).to.throw(CachemeError, message)
    })
  }
})
