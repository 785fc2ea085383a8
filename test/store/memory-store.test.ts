import { expect } from 'chai'
import sinon from 'sinon'
import { CachemeError } from '../../src/errors'
import { KeyLayout } from '../../src/keys'
import { MemoryStore } from '../../src/store/memory-store'
import { GUARD_TTL_MS, LAZY_PRUNE_SAMPLE } from '../../src/store/store'
import { storeConformance } from './conformance'

storeConformance('MemoryStore', async layout => new MemoryStore(layout))

describe('MemoryStore', () => {
  const layout = new KeyLayout('CM:')
  const entry = (key: string) => layout.entry(key, 'test')
  let clock: sinon.SinonFakeTimers
  let store: MemoryStore

  async function put(key: string, ttlMs: number, sets: string[] = []): Promise<void> {
    const { seq } = await store.read(entry(key))
    expect(await store.write({ entry: entry(key), value: 'v', ttlMs, sets, seq: seq! })).to.equal(true)
  }

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 })
    store = new MemoryStore(layout, { sweepIntervalMs: 1_000 })
  })

  afterEach(async () => {
    await store.close()
    clock.restore()
  })

  it('purges expired keys, hash fields and dead set members nobody reads', async () => {
    const set = layout.invalidSet('User:1')
    await put('Forever', 0, [set])
    await put('Book:1', 500, [set])
    await put('Book:2>owner', 500, [set])
    await put('Book:2>title', 0)
    expect(store.size).to.equal(7) // 3 entries + 1 sibling field + 3 set members

    await clock.tickAsync(600)
    expect(store.size, 'nothing purged before the sweep runs').to.equal(7)

    await clock.tickAsync(400)
    expect(store.size).to.equal(3) // Forever, Book:2>title and the set's one live member
    expect(await store.liveMembers(set)).to.deep.equal([entry('Forever').full])
  })

  it('checks the members a write checked least recently, so live ones cannot hide dead ones', async () => {
    const set = layout.invalidSet('User:1')
    const keys = (name: string) => Array.from({ length: 2 * LAZY_PRUNE_SAMPLE }, (_, i) => `${name}:${i}`)
    for (const key of keys('Live')) await put(key, 0, [set])
    for (const key of keys('Dead')) await put(key, 500, [set])
    await clock.tickAsync(600)

    // Two writes check the live members at the front, the next two the dead ones behind them.
    for (const key of keys('New').slice(0, 4)) await put(key, 0, [set])
    expect(await store.gc()).to.deep.equal({ sets: 1, membersRemoved: 0, fieldsRemoved: 0 })
  })

  it('purges guards once they have expired', async () => {
    await store.invalidateSets([layout.invalidSet('User:1')])
    expect(store.size).to.equal(1)
    await clock.tickAsync(GUARD_TTL_MS + 1_000)
    expect(store.size).to.equal(0)
  })

  it('drops an expired value when it is read, before any sweep', async () => {
    await put('Book:1', 100)
    await put('Book:2>owner', 100)
    await put('Book:2>title', 0)
    await clock.tickAsync(200)
    expect((await store.read(entry('Book:1'))).value).to.equal(undefined)
    expect((await store.read(entry('Book:2>owner'))).value).to.equal(undefined)
    expect(store.size).to.equal(1)
  })

  it('stops sweeping when closed', async () => {
    expect(clock.countTimers()).to.equal(1)
    await store.close()
    expect(clock.countTimers()).to.equal(0)
  })

  it('rejects a sweep interval that is not a positive number', () => {
    expect(() => new MemoryStore(layout, { sweepIntervalMs: 0 })).to.throw(CachemeError, /sweepIntervalMs/)
  })

  it('reports a value of the wrong kind under a name as a store failure, as Redis does', async () => {
    await put('Book:1', 0)
    const { seq } = await store.read(entry('Book:1'))
    const write = store.write({ entry: entry('Book:1>owner'), value: 'v', ttlMs: 0, sets: [], seq: seq! })
    const error = await write.then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).to.be.instanceOf(CachemeError).with.property('code', 'STORE_FAILED')
  })
})
