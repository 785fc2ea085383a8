import { expect } from 'chai'
import Redis, { ReplyError } from 'ioredis'
import sinon from 'sinon'
import { cacheme, CachemeError, cachemeEvents, configure, invalidate } from '../../src'
import { runtime } from '../../src/config'
import { invalidateDependencies } from '../../src/invalidation'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { sleep } from '../support/backends'

type Scripts = Record<'cachemePopSets' | 'cachemeDeleteEntries' | 'scan', (...args: unknown[]) => Promise<unknown>>

/** Waits, within a bound, for the replay queue to empty. */
async function drained(): Promise<void> {
  for (const deadline = Date.now() + 10_000; runtime().pendingInvalidations!() > 0; await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`still ${runtime().pendingInvalidations!()} invalidations waiting`)
  }
}

/**
 * An invalidation that fails for a reason retrying cannot fix (a script error, CROSSSLOT, a
 * request too large to send) must not wait in the replay queue for ever, keeping the process from
 * serving: it is reported, everything under the prefix is invalidated instead, and the process
 * serves again. One that fails for a while resumes at the step that failed.
 */
describe('invalidations that retrying cannot deliver', function () {
  this.timeout(60_000)
  let server: RedisServer
  let client: Redis
  let scripts: Scripts
  let onError: sinon.SinonSpy
  let circuit: sinon.SinonSpy
  let prefix = 0

  before(async () => {
    server = await startRedisServer()
  })
  after(() => server.stop())
  beforeEach(() => {
    client = new Redis(server.url)
    onError = sinon.spy()
    circuit = sinon.spy()
    cachemeEvents.on('circuit', circuit)
    configure({ redis: client, prefix: `po${++prefix}:`, timeout: 1, onError })
    scripts = client as unknown as Scripts
  })
  afterEach(() => {
    sinon.restore()
    cachemeEvents.off('circuit', circuit)
    configure({ store: 'memory', onError: () => {} })
    client.disconnect()
  })

  function counter(key: string, invalidKey: string) {
    let computations = 0
    const fn = cacheme({ key: () => key, invalidKeys: () => invalidKey })(async () => ++computations)
    return { fn, computations: () => computations }
  }

  /** A dependency set of `count` entries, larger than one step of the store. */
  async function bigSet(count: number): Promise<string[]> {
    const fn = cacheme({ key: c => `Big:${c.id}`, invalidKeys: () => 'Big' })(async (id: number) => id)
    for (let from = 0; from < count; from += 250) await Promise.all(Array.from({ length: 250 }, (_, i) => fn(from + i)))
    return Array.from({ length: count }, (_, i) => `po${prefix}:Big:${i}`)
  }

  /** Fails the `failing`-th call (0-based) of a script command with `error`, and passes the others through. */
  function failOnce(name: keyof Scripts, failing: number, error: Error): sinon.SinonStub {
    const original = scripts[name].bind(client)
    let calls = 0
    return sinon.stub(scripts, name).callsFake((...args: unknown[]) => (calls++ === failing ? Promise.reject(error) : original(...args)))
  }

  /** The fault was reported once, as a store failure caused by `cause`, and everything under the prefix was invalidated instead. */
  async function expectFellBackToEverything(cause: new (...args: never[]) => Error, unrelated: ReturnType<typeof counter>): Promise<void> {
    expect(onError.callCount, 'reports').to.equal(1)
    const [error, context] = onError.firstCall.args
    expect(error).to.be.instanceOf(CachemeError).with.property('code', 'STORE_FAILED')
    expect(error.message).to.match(/retrying cannot help .*every entry under the prefix is invalidated instead/)
    expect(error.cause).to.be.instanceOf(cause)
    expect(context).to.include({ operation: 'invalidate' })
    await drained()
    await unrelated.fn()
    expect(unrelated.computations(), 'an entry the invalidation did not name is invalidated too').to.equal(2)
    await unrelated.fn()
    expect(unrelated.computations(), 'served from the cache again').to.equal(2)
    expect(circuit.called, 'a refusal is an answer: the circuit stays closed').to.equal(false)
  }

  it('a script error in one step of a large invalidation: reported, everything invalidated instead, and the process serves again', async () => {
    const entries = await bigSet(1_000)
    const unrelated = counter('Unrelated', 'Other')
    await unrelated.fn()
    failOnce('cachemePopSets', 1, new ReplyError('ERR user_script:52: Script attempted to access a non local key in a cluster node script'))

    expect(await invalidate({ invalidKey: 'Big' })).to.equal(0)
    await expectFellBackToEverything(ReplyError, unrelated)
    expect(await client.exists(...entries)).to.equal(0)
  })

  it('CROSSSLOT on deleting entries: reported, everything invalidated instead, and the process serves again', async () => {
    const target = counter('Target', 'Target')
    const unrelated = counter('Unrelated', 'Other')
    await target.fn()
    await unrelated.fn()
    failOnce('cachemeDeleteEntries', 0, new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"))

    expect(await invalidate({ key: 'Target' })).to.equal(0)
    await expectFellBackToEverything(ReplyError, unrelated)
    await target.fn()
    expect(target.computations()).to.equal(2)
  })

  it('a request too large to send (RangeError): reported, everything invalidated instead, and the process serves again', async () => {
    const entries = await bigSet(300)
    const unrelated = counter('Unrelated', 'Other')
    await unrelated.fn()
    sinon.stub(scripts, 'cachemePopSets').onFirstCall().throws(new RangeError('Maximum call stack size exceeded')).callThrough()

    await invalidateDependencies(['Big'])
    await expectFellBackToEverything(RangeError, unrelated)
    expect(await client.exists(...entries)).to.equal(0)
  })

  it('when invalidating everything is refused too, it is reported and given up, so that the process serves again', async () => {
    const unrelated = counter('Unrelated', 'Other')
    await unrelated.fn()
    sinon.stub(scripts, 'cachemePopSets').rejects(new ReplyError('ERR user_script:1: broken'))
    sinon.stub(scripts, 'scan').rejects(new ReplyError("NOPERM this user has no permissions to run the 'scan' command"))

    await invalidate({ invalidKey: 'Big' })
    await drained()
    expect(onError.callCount).to.equal(2)
    expect(onError.secondCall.args[0]).to.be.instanceOf(CachemeError).with.property('code', 'STORE_FAILED')
    expect(onError.secondCall.args[0].message).to.match(/every entry under the prefix failed .*given up so that this process serves again/)
    const before = unrelated.computations()
    await unrelated.fn()
    await unrelated.fn()
    expect(unrelated.computations(), 'served from the cache again').to.be.at.most(before + 1)
  })

  it('a step that fails for a while is retried on its own: the invalidation resumes at that step', async () => {
    const keys = Array.from({ length: 1_000 }, (_, i) => `Row:${i}`)
    const sets = keys.map(key => `po${prefix}:${key}:invalid`)
    const rows = [0, 300, 999].map(i => counter(`Cached:${i}`, keys[i]))
    for (const row of rows) await row.fn()
    const original = scripts.cachemePopSets.bind(client)
    const firstSets: unknown[] = []
    sinon.stub(scripts, 'cachemePopSets').callsFake((...args: unknown[]) => {
      firstSets.push(args[2])
      return firstSets.length === 3 ? Promise.reject(new Error('Connection is closed.')) : original(...args)
    })
    const replayed = new Promise(resolve => cachemeEvents.once('replay', resolve))

    await invalidateDependencies(keys)
    expect(onError.callCount).to.equal(1)
    expect(onError.firstCall.args[0].message).to.equal('Connection is closed.')
    await replayed
    expect(firstSets[3], 'the first set sent again is the first of the step that failed').to.equal(firstSets[2])
    expect(
      firstSets.filter(set => set === sets[0]),
      'the steps delivered before are not sent again',
    ).to.have.length(1)
    for (const row of rows) {
      await row.fn()
      expect(row.computations()).to.equal(2)
    }
  })

  it('a step that times out ends its delivery there: the replay sends that step again, and every later step once', async () => {
    configure({ redis: client, prefix: `po${prefix}:`, timeout: 0.2, onError })
    const keys = Array.from({ length: 1_000 }, (_, i) => `Row:${i}`)
    const original = scripts.cachemePopSets.bind(client)
    const firstSets: unknown[] = []
    sinon.stub(scripts, 'cachemePopSets').callsFake(async (...args: unknown[]) => {
      firstSets.push(args[2])
      if (firstSets.length === 2) await sleep(1_500)
      return original(...args)
    })

    await invalidateDependencies(keys)
    await drained()
    await sleep(2_000) // past the slow step: a delivery that went on would have sent its next steps by now
    expect(onError.firstCall.args[0]).to.be.instanceOf(CachemeError).with.property('code', 'STORE_TIMEOUT')
    const sends = new Map<unknown, number>()
    for (const set of firstSets) sends.set(set, (sends.get(set) ?? 0) + 1)
    expect(sends.get(firstSets[1]), 'the step that timed out: once, and once by the replay').to.equal(2)
    expect(
      [...sends].filter(([set, count]) => set !== firstSets[1] && count !== 1),
      'every other step once',
    ).to.deep.equal([])
  })

  it('delivers an invalidation of 150,000 keys, and keeps serving', async () => {
    const keys = Array.from({ length: 150_000 }, (_, i) => `Row:${i}`)
    const rows = [0, 75_000, 149_999].map(i => counter(`Cached:${i}`, keys[i]))
    for (const row of rows) await row.fn()

    await invalidateDependencies(keys)
    await drained()
    for (const row of rows) {
      await row.fn()
      await row.fn()
      expect(row.computations(), 'invalidated once, then served from the cache').to.equal(2)
    }
    expect(
      onError
        .getCalls()
        .map(call => call.args[0])
        .filter(error => !(error instanceof CachemeError && error.code === 'STORE_TIMEOUT')),
    ).to.deep.equal([])
  })
})
