import { expect } from 'chai'
import Redis from 'ioredis'
import { KeyLayout } from '../../src/keys'
import { slotOf } from '../../src/slots'
import { ClusterStore } from '../../src/store/cluster/cluster-store'
import { privateCluster } from '../support/private-cluster'

/** Failover durability: on masters with replicas, an invalidation returns only once a replica holds it. */
describe('ClusterStore on a Cluster with replicas', function () {
  this.timeout(60_000)
  const own = privateCluster({ replicas: 1 })
  let store: ClusterStore
  let layout: KeyLayout

  /** Until the client's map lists a replica for every slot. */
  const untilReplicasListed = async () => {
    while (own.client.slots.length < 16384 || !own.client.slots.every(nodes => nodes.length > 1)) {
      await new Promise(resolve => setTimeout(resolve, 250))
      await new Promise(resolve => own.client.refreshSlotsCache(resolve))
    }
  }

  before(async () => {
    // Replicas appear in CLUSTER SLOTS once they have synchronised (several seconds after creation).
    await untilReplicasListed()
    store = new ClusterStore(own.client, new KeyLayout('rep:'), { replicaAckMs: 300 })
    layout = store.layout
    await store.ready()
  })

  const entry = (key: string) => layout.entry(key, 'replica test')
  const seqNow = async () => (await store.read(entry('never:written'))).seq!
  /** The replica of the master that owns this name's slot, read-only. */
  const replicaOf = (name: string) => {
    const [, replica] = own.client.slots[slotOf(name)]
    const [host, port] = replica.split(':')
    return new Redis({ host, port: Number(port), readOnly: true, lazyConnect: true })
  }

  it('has a replica hold the guard and the deletion of an invalidation as soon as it returns', async () => {
    const set = layout.invalidSet('User:1')
    expect(await store.write({ entry: entry('Book:1'), value: 'v', ttlMs: 0, sets: [set], seq: await seqNow() })).to.equal(true)
    const setReplica = replicaOf(set)
    const entryReplica = replicaOf(entry('Book:1').key)
    try {
      expect(await setReplica.sismember(set, entry('Book:1').full), 'the registration').to.equal(1)
      const seq = await store.invalidateSets([set]).then(seqNow)
      expect(Number(await setReplica.get(layout.guard(set))))
        .to.be.at.most(seq)
        .and.above(0)
      expect(Number(await entryReplica.get(layout.entryGuard(entry('Book:1'))))).to.be.above(0)
      expect(await entryReplica.exists(entry('Book:1').key)).to.equal(0)
    } finally {
      setReplica.disconnect()
      entryReplica.disconnect()
    }
  })

  it('waits for a replica the own.client does not know of yet (a map read before the replica attached)', async () => {
    const set = layout.invalidSet('User:3')
    expect(await store.write({ entry: entry('Book:3'), value: 'v', ttlMs: 0, sets: [set], seq: await seqNow() })).to.equal(true)
    const probe = replicaOf(set)
    const pid = Number(/process_id:(\d+)/.exec(await probe.info('server'))![1])
    probe.disconnect()
    // The map as ioredis held it before the replicas attached: masters only.
    own.client.slots.forEach((nodes, slot) => (own.client.slots[slot] = nodes.slice(0, 1)))
    // The replica stays connected but cannot acknowledge: the invalidation must not pass as durable.
    process.kill(pid, 'SIGSTOP')
    try {
      const failed = await store.invalidateSets([set]).then(
        () => undefined,
        (error: { code?: string; message: string }) => error,
      )
      expect(failed, 'an invalidation no replica held').to.have.property('code', 'STORE_FAILED')
      expect(failed!.message).to.match(/no replica .* acknowledged/)
    } finally {
      process.kill(pid, 'SIGCONT')
      await new Promise(resolve => own.client.refreshSlotsCache(resolve))
    }
    await store.invalidateSets([set])
    expect((await store.read(entry('Book:3'))).value, 'deleted by the retry, once the replica answers').to.equal(undefined)
  })

  it('sends a step over slots of one master that the map lists with different nodes, as while a redirection is being learnt', async () => {
    // Two entries on one master, in two slots.
    const names = Array.from({ length: 200 }, (_, i) => entry(`Moved:${i}`))
    const first = names[0]
    const master = own.client.slots[slotOf(first.key)][0]
    const second = names.find(name => slotOf(name.key) !== slotOf(first.key) && own.client.slots[slotOf(name.key)][0] === master)!
    for (const name of [first, second]) expect(await store.write({ entry: name, value: 'v', ttlMs: 0, sets: [], seq: await seqNow() })).to.equal(true)
    // What ioredis does on a MOVED: the slot alone gets the node it was sent to, and a group of its own.
    const moved = slotOf(first.key)
    const client = own.client as unknown as { _groupsBySlot: number[]; _groupsIds: Record<string, number> }
    own.client.slots[moved] = [master]
    client._groupsBySlot[moved] = client._groupsIds[master]
    try {
      expect(await store.deleteEntries([first, second])).to.equal(2)
    } finally {
      await untilReplicasListed()
    }
    for (const name of [first, second]) expect((await store.read(name)).value, name.key).to.equal(undefined)
  })

  it('fails an invalidation, and a registration, that no replica acknowledged, so that it is retried', async () => {
    const set = layout.invalidSet('User:2')
    const [, replicaKey] = own.client.slots[slotOf(set)]
    const replica = own.cluster.nodes.find(node => `${node.host}:${node.port}` === replicaKey)!
    await replica.server.stop()
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: { code?: string; message: string }) => error,
      )
    const invalidation = await failure(store.invalidateSets([set]))
    expect(invalidation).to.have.property('code', 'STORE_FAILED')
    expect(invalidation!.message).to.match(/no replica .* acknowledged/)
    const registration = await failure(store.write({ entry: entry('Book:2'), value: 'v', ttlMs: 0, sets: [set], seq: await seqNow() }))
    expect(registration).to.have.property('code', 'STORE_FAILED')
  })
})
