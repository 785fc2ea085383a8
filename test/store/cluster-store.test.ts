import { expect } from 'chai'
import fs from 'fs'
import path from 'path'
import sinon from 'sinon'
import { spyOnCommands } from '../support/command-spy'
import { flushMasters, privateCluster } from '../support/private-cluster'
import { CachemeError } from '../../src/errors'
import { KeyLayout } from '../../src/keys'
import { ClusterStore } from '../../src/store/cluster/cluster-store'
import { ReplicaAcks, type StepCall } from '../../src/store/cluster/replica-acks'
import { slotOf, slotTag } from '../../src/slots'
import { storeConformance } from './conformance'

describe('ClusterStore on a 3-master Redis Cluster', function () {
  this.timeout(60_000)
  const own = privateCluster()

  beforeEach(() => flushMasters(own.client))

  storeConformance(
    'ClusterStore',
    async (layout: KeyLayout) => {
      const store = new ClusterStore(own.client, layout)
      await store.ready()
      return store
    },
    () => flushMasters(own.client),
  )
})

describe('ClusterStore: one slot per script, on every master', function () {
  this.timeout(60_000)
  const own = privateCluster()
  let store: ClusterStore
  let layout: KeyLayout

  beforeEach(async () => {
    await flushMasters(own.client)
    store = new ClusterStore(own.client, new KeyLayout(`c${Math.random().toString(36).slice(2, 8)}:`))
    layout = store.layout
    await store.ready()
  })

  afterEach(() => sinon.restore())

  const entry = (key: string) => layout.entry(key, 'cluster test')
  const seqNow = async () => (await store.read(entry('never:written'))).seq!
  const put = async (key: string, sets: string[] = []) => expect(await store.write({ entry: entry(key), value: 'v', ttlMs: 0, sets, seq: await seqNow() }), key).to.equal(true)
  const get = async (key: string) => (await store.read(entry(key))).value
  /** Names whose slots are all different, and on more than one master. */
  const spread = (make: (i: number) => string, count: number) => {
    const names: string[] = []
    const slots = new Set<number>()
    for (let i = 0; names.length < count; i++) {
      const name = make(i)
      if (!slots.has(slotOf(name))) {
        slots.add(slotOf(name))
        names.push(name)
      }
    }
    return names
  }
  /** Every step that runs `script` fails, as if the connection dropped before its reply. */
  const failSteps = (script: string) => {
    const runAll = ReplicaAcks.prototype.runAll
    sinon.stub(ReplicaAcks.prototype, 'runAll').callsFake(function (this: ReplicaAcks, calls: readonly StepCall[]) {
      return calls.some(({ command }) => command === script) ? Promise.reject(new Error('connection lost')) : runAll.call(this, calls)
    })
  }
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (error: Error) => error.message,
    )
  const mastersOf = (names: string[]) => new Set(names.map(name => own.client.slots[slotOf(name)][0]))

  it('refuses braces in keys, invalid keys, tags and the prefix on a Cluster only', () => {
    expect(() => layout.entry('Book:{1}', 'Books.get'))
      .to.throw(CachemeError, /Books.get: key "Book:\{1\}" has '\{' or '\}'/)
      .with.property('code', 'INVALID_KEY')
    expect(() => layout.invalidSet('User:{1}'))
      .to.throw(CachemeError, /hash tag/)
      .with.property('code', 'INVALID_KEY')
    expect(() => layout.tagSet('a}b'))
      .to.throw(CachemeError, /tag "a\}b"/)
      .with.property('code', 'INVALID_KEY')
    expect(() => new ClusterStore(own.client, new KeyLayout('{app}:')))
      .to.throw(CachemeError, /prefix/)
      .with.property('code', 'INVALID_CONFIG')
    expect(new KeyLayout('{app}:').entry('Book:{1}', 'x').full).to.equal('{app}:Book:{1}')
  })

  it('keeps each guard in the slot of what it guards', () => {
    const field = entry('Book:1>owner')
    expect(slotOf(layout.entryGuard(field))).to.equal(slotOf(field.key))
    expect(slotOf(layout.guard(layout.invalidSet('User:1')))).to.equal(slotOf(layout.invalidSet('User:1')))
    expect(slotOf(layout.popped(layout.tagSet('books')))).to.equal(slotOf(layout.tagSet('books')))
    for (const slot of [0, 1, 5000, 16383]) expect(slotOf(layout.slotGuard(slotTag(slot)))).to.equal(slot)
  })

  it('writes scripts that Redis refuses to run across slots (#!lua)', async () => {
    for (const file of fs.readdirSync(path.join(__dirname, '../../src/store/scripts')).filter(name => name.startsWith('cluster-'))) {
      expect(fs.readFileSync(path.join(__dirname, '../../src/store/scripts', file), 'utf8'), file).to.match(/^#!lua/)
    }
    const [a, b] = spread(i => layout.invalidSet(`Row:${i}`), 2)
    const crossing = store.client.cachemeClusterRegister(4, a, layout.guard(a), b, layout.guard(b), 0, 'm', 0, 3, 8)
    expect(await failure(crossing)).to.match(/CROSSSLOT|same slot/)
  })

  it('lists an entry in sets of many slots on every master, and invalidating any one deletes it', async () => {
    const sets = spread(i => layout.invalidSet(`Row:${i}`), 24)
    expect(mastersOf(sets).size).to.equal(3)
    await put('Book:1>owner', sets)
    for (const set of sets) expect(await store.liveMembers(set), set).to.deep.equal([entry('Book:1>owner').full])
    expect(await store.invalidateSets([sets[17]])).to.equal(1)
    expect(await get('Book:1>owner')).to.equal(undefined)
  })

  it('refuses a write computed before an invalidation of a set, or of the entry, in another slot', async () => {
    const [set] = spread(i => layout.invalidSet(`User:${i}`), 1)
    const key = spread(i => `Book:${i}`, 40).find(name => slotOf(layout.prefix + name) !== slotOf(set))!
    const seq = await seqNow()
    await store.invalidateSets([set])
    expect(await store.write({ entry: entry(key), value: 'stale', ttlMs: 0, sets: [set], seq })).to.equal(false)
    expect(await get(key)).to.equal(undefined)
    expect(await store.liveMembers(set)).to.deep.equal([])

    const before = await seqNow()
    await store.deleteEntries([entry(key)])
    expect(await store.write({ entry: entry(key), value: 'stale', ttlMs: 0, sets: [set], seq: before })).to.equal(false)
    expect(await get(key)).to.equal(undefined)
  })

  it('refuses a store whose registration an invalidation popped, though the writer read the sequence that invalidation raised', async () => {
    // The writer reads the sequence after the invalidation raised it and registers before the pop
    // takes its member; its store lands after the entry's stamp. Stored, it would be listed nowhere.
    const [set] = spread(i => layout.invalidSet(`Author:${i}`), 1)
    const key = spread(i => `Novel:${i}`, 40).find(name => slotOf(layout.prefix + name) !== slotOf(set))!
    let invalidated!: () => void
    const invalidation = new Promise<void>(resolve => (invalidated = resolve))
    const storeEntry = store.client.cachemeClusterStoreEntry.bind(store.client)
    sinon.stub(store.client, 'cachemeClusterStoreEntry').callsFake(async (...args) => {
      await invalidation
      return storeEntry(...args)
    })
    let write: Promise<boolean> | undefined
    let registered!: () => void
    const registration = new Promise<void>(resolve => (registered = resolve))
    const runAll = ReplicaAcks.prototype.runAll
    sinon.stub(ReplicaAcks.prototype, 'runAll').callsFake(async function (this: ReplicaAcks, calls: readonly StepCall[]) {
      if (write === undefined && calls.some(({ command }) => command === 'cachemeClusterPop')) {
        write = store.write({ entry: entry(key), value: 'from the new rows', ttlMs: 0, sets: [set], seq: await seqNow() })
        await registration
      }
      const answer = await runAll.call(this, calls)
      if (calls.some(({ command }) => command === 'cachemeClusterRegister')) registered()
      return answer
    })
    await store.invalidateSets([set])
    invalidated()
    const stored = await write!
    sinon.restore()
    if (stored) expect(await store.liveMembers(set), 'a stored entry is listed').to.deep.equal([entry(key).full])
    await store.invalidateSets([set])
    expect(await get(key)).to.equal(undefined)
  })

  it('leaves the members listed when an invalidation fails after popping them, so the next one deletes their entries', async () => {
    const set = layout.invalidSet('User:1')
    const keys = spread(i => `Book:${i}`, 12)
    for (const key of keys) await put(key, [set])
    failSteps('cachemeClusterInvalidateEntries')
    expect(await failure(store.invalidateSets([set]))).to.equal('connection lost')
    sinon.restore()
    expect((await own.client.smembers(layout.popped(set))).sort()).to.deep.equal(keys.map(key => entry(key).full).sort())
    for (const key of keys) expect(await get(key), key).to.equal('v')

    expect(await store.invalidateSets([set])).to.equal(keys.length)
    for (const key of keys) expect(await get(key), key).to.equal(undefined)
    expect(await own.client.exists(layout.popped(set), set)).to.equal(0)
  })

  it('finishes in gc an invalidation that failed midway', async () => {
    const set = layout.invalidSet('User:2')
    await put('Book:1', [set])
    failSteps('cachemeClusterInvalidateEntries')
    expect(await failure(store.invalidateSets([set]))).to.equal('connection lost')
    sinon.restore()
    await store.gc()
    expect(await get('Book:1')).to.equal(undefined)
    expect(await own.client.exists(layout.popped(set))).to.equal(0)
  })

  it('refuses writes computed before a shard lost its slot guards (FLUSHALL on one master), then accepts new ones', async () => {
    const key = 'Book:lost'
    const seq = await seqNow()
    const slot = slotOf(entry(key).key)
    const master = own.client.nodes('master').find(node => `${node.options.host}:${node.options.port}` === own.client.slots[slot][0])!
    await master.flushall()
    expect(await store.write({ entry: entry(key), value: 'stale', ttlMs: 0, sets: [], seq })).to.equal(false)
    expect(await get(key)).to.equal(undefined)
    await put(key)
    expect(await get(key)).to.equal('v')
  })

  it('reaches every master with a pattern invalidation, and refuses writes in flight anywhere', async () => {
    const keys = spread(i => `P:${i}`, 30)
    expect(mastersOf(keys.map(key => layout.prefix + key)).size).to.equal(3)
    for (const key of keys) await put(key)
    const seq = await seqNow()
    expect(await store.deleteMatching('P:*')).to.equal(30)
    for (const key of keys) expect(await get(key), key).to.equal(undefined)
    expect(await store.write({ entry: entry('Elsewhere:1'), value: 'stale', ttlMs: 0, sets: [], seq })).to.equal(false)
  })

  it('prunes with gc the dead members of sets on every master, and keeps the live ones', async () => {
    const sets = spread(i => layout.invalidSet(`G:${i}`), 30)
    expect(mastersOf(sets).size).to.equal(3)
    for (const [i, set] of sets.entries()) {
      await put(`Live:${i}`, [set])
      await put(`Dead:${i}`, [set])
    }
    await store.deleteEntries(sets.map((_, i) => entry(`Dead:${i}`)))
    expect(await store.gc()).to.deep.equal({ sets: 30, membersRemoved: 30, fieldsRemoved: 0 })
    for (const [i, set] of sets.entries()) expect(await store.liveMembers(set)).to.deep.equal([entry(`Live:${i}`).full])
  })

  it('keeps the guards of plain entries with braces in their slots (primary keys are not refused)', async () => {
    const keys = [`${layout.prefix}Book:{a}`, `${layout.prefix}Book:x{y}z`, `${layout.prefix}Book:{}`]
    const { seq } = await store.readMany(keys)
    expect(
      await store.writeMany(
        keys.map(key => ({ key, value: '1', ttlMs: 0 })),
        seq,
      ),
    ).to.equal(3)
    const claim = await store.claimMany(keys)
    expect(claim.values).to.deep.equal(['1', '1', '1'])
    expect(
      await store.writeMany(
        keys.map(key => ({ key, value: 'stale', ttlMs: 0 })),
        seq,
      ),
    ).to.equal(0)
    expect(await store.deleteEntries(keys.map(key => ({ full: key, key, field: undefined })))).to.equal(3)
  })

  it('reads a hit with one command to one master', async () => {
    await put('Book:hit>owner')
    const sent = sinon.spy(own.client, 'sendCommand')
    expect(await get('Book:hit>owner')).to.equal('v')
    expect(sent.callCount).to.equal(1)
    expect(sent.firstCall.args[0].name).to.equal('hget')
  })

  it('reads the hits of one turn with one pipeline per master; the misses among them then read the sequence once', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `Book:turn${i}>owner`)
    for (const key of keys) await put(key)
    const masters = own.client.nodes('master').length
    expect(mastersOf(keys.map(key => entry(key).key)).size, 'the entries are spread over the masters').to.equal(masters)
    const seq = await seqNow()
    const spy = spyOnCommands(own.client)
    let reads: Awaited<ReturnType<typeof store.read>>[]
    try {
      reads = await Promise.all([...keys, 'Book:never>owner'].map(key => store.read(entry(key))))
    } finally {
      spy.restore()
    }
    expect(reads.slice(0, -1).map(read => read.value)).to.deep.equal(keys.map(() => 'v'))
    expect(reads.at(-1)).to.deep.equal({ value: undefined, stale: false, seq })
    expect(spy.commands().filter(name => name === 'hget')).to.have.length(31)
    expect(
      spy.commands().filter(name => name === 'get'),
      'the sequence, once',
    ).to.have.length(1)
    // One write to each master's socket for the entries, one more for the sequence.
    expect(spy.writes()).to.equal(masters + 1)
  })

  it('reads plain entries of many slots with one pipeline per master (an MGET per slot), the sequence among them', async () => {
    const keys = spread(i => `${layout.prefix}row:${i}`, 9)
    const { seq } = await store.readMany([])
    expect(
      await store.writeMany(
        keys.map(key => ({ key, value: key, ttlMs: 0 })),
        seq,
      ),
    ).to.equal(9)
    const masters = own.client.nodes('master').length
    const spy = spyOnCommands(own.client)
    try {
      expect((await store.readMany(keys)).values).to.deep.equal(keys)
    } finally {
      spy.restore()
    }
    // One write to each master's socket, the sequence's GET in the pipeline of its master.
    expect(spy.writes()).to.equal(masters)
    expect(spy.commands().filter(name => name === 'mget')).to.have.length(9)
  })
  it('sends each invalidation step as one pipeline per master, however many slots it spans', async () => {
    const [set] = spread(i => layout.invalidSet(`Shelf:${i}`), 1)
    const keys = spread(i => `Book:${i}>shelf`, 30)
    for (const key of keys) await put(key, [set])
    const masters = own.client.nodes('master').length
    expect(mastersOf(keys.map(key => entry(key).key)).size, 'the entries are spread over the masters').to.equal(masters)
    const spy = spyOnCommands(own.client)
    try {
      expect(await store.invalidateSets([set])).to.equal(30)
    } finally {
      spy.restore()
    }
    for (const key of keys) expect(await get(key), key).to.equal(undefined)
    const count = (name: string) => spy.commands().filter(command => command.toLowerCase() === name).length
    // 30 scripts, one per slot, in one pipeline per master, each pipeline ending with one ROLE (no
    // replicas here); a pipeline per script would end each with its own ROLE.
    expect(count('evalsha') + count('eval')).to.be.at.least(2 + 30)
    expect(count('role'), spy.commands().join(' ')).to.equal(masters + 2) // the entries' step, and the set's two pops
  })
})
