import { expect } from 'chai'
import Redis, { Cluster } from 'ioredis'
import { cacheme, configure, invalidate, shutdown } from '../../src'
import { KeyLayout } from '../../src/keys'
import { openTier } from '../../src/local/open-tier'
import type { Tier } from '../../src/local/tier'
import { metrics } from '../../src/metrics'
import { slotOf } from '../../src/slots'
import { shardWithReplica, waitForReplicas } from '../cluster/master-kills'
import { flushMasters, privateCluster } from '../support/private-cluster'
import { SETTINGS, sealed, until } from './support'

const layout = new KeyLayout('ct:', { cluster: true })
/** Entries whose keys fall on every master. */
const books = Array.from({ length: 30 }, (_, i) => layout.entry(`Book:${i}>owner`, 'test'))

describe('in-process tier on a Redis Cluster: a tier per master', function () {
  this.timeout(60_000)
  const own = privateCluster()
  let tier: Tier | undefined

  beforeEach(() => flushMasters(own.client))
  afterEach(async () => {
    await tier?.close()
    tier = undefined
    await shutdown()
  })

  it('keeps values read from every master, and drops each when its key changes outside cacheme', async () => {
    tier = openTier(own.client, layout, SETTINGS, 2_000, {})
    await until(() => tier!.serving, 'the tier of every master to serve')
    const masters = new Set(books.map(book => own.client.slots[slotOf(book.key)][0]))
    expect(masters.size, 'the keys are spread over the masters').to.equal(own.client.nodes('master').length)
    for (const book of books) await own.client.hset(book.key, book.field!, sealed(`old ${book.key}`))
    for (const book of books) expect(await tier.readEntry(book, undefined)).to.equal(JSON.stringify(`old ${book.key}`))
    expect(tier.usage.entries).to.equal(books.length)
    // A plain client changes them: each master tells only the tier that read from it.
    for (const book of books) await own.client.hset(book.key, book.field!, sealed(`new ${book.key}`))
    await until(() => tier!.usage.entries === 0, 'every master to invalidate its keys')
    for (const book of books) expect(await tier.readEntry(book, undefined)).to.equal(JSON.stringify(`new ${book.key}`))
  })

  it('reads the map again when a node answers its canary with MOVED (a map read from a node that had not learnt of a change)', async () => {
    // A client of its own that reads the map only when told to, given a map older than the Cluster.
    const client = new Cluster([...own.cluster.startupNodes], { slotsRefreshInterval: 600_000 })
    try {
      await client.ping()
      const [first, second] = [...new Set(client.slots.map(nodes => nodes[0]))]
      client.slots.forEach((nodes, slot) => {
        if (nodes[0] === first) client.slots[slot] = [second]
      })
      tier = openTier(client, layout, SETTINGS, 2_000, {})
      client.emit('refresh')
      await until(() => tier!.serving, 'the tier to serve on the map read again', 10_000)
      expect(
        client.slots.some(nodes => nodes[0] === first),
        'the map read again',
      ).to.equal(true)
    } finally {
      await tier?.close()
      tier = undefined
      client.disconnect()
    }
  })

  it('reads plain entries of many slots through their masters, one MGET per slot', async () => {
    tier = openTier(own.client, layout, SETTINGS, 2_000, {})
    await until(() => tier!.serving, 'the tier of every master to serve')
    const keys = Array.from({ length: 12 }, (_, i) => `${layout.prefix}row:${i}`)
    for (const key of keys.slice(1)) await own.client.set(key, key)
    expect(await tier.readPlain(keys, undefined)).to.deep.equal([null, ...keys.slice(1)])
    expect(keys.slice(1).map(key => tier!.plain(key))).to.deep.equal(keys.slice(1))
    await own.client.del(keys[5])
    await until(() => tier!.plain(keys[5]) === undefined, 'the deletion to reach the tier')
  })

  it('serves decorated calls from this process memory, and an invalidation here has cleared it when it returns', async () => {
    // A store timeout with room for a loaded machine: the tier serves once every master's is armed.
    configure({ redis: own.client, prefix: layout.prefix, timeout: 2, local: {} })
    let computed = 0
    const owner = cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`Book:${c.id}`], tag: 'ct.owner' })(async function owner(id: number) {
      return { id, name: `owner ${++computed}` }
    })
    const localHits = () => metrics.all().get('ct.owner')?.localHits ?? 0
    await until(
      async () => {
        await owner(1)
        return localHits() > 0
      },
      'a call served from the tier',
      15_000,
    )
    const kept = await owner(1)
    const computations = computed
    expect(await owner(1)).to.deep.equal(kept)
    await invalidate({ invalidKey: 'Book:1' })
    expect(await owner(1)).to.deep.equal({ id: 1, name: `owner ${computations + 1}` })
  })
})

describe('in-process tier on a Redis Cluster through a failover', function () {
  this.timeout(60_000)
  const own = privateCluster({ replicas: 1 })
  let tier: Tier | undefined

  afterEach(async () => {
    await tier?.close()
    tier = undefined
  })

  it('hears of a change through the demoted master until the new map is read, then empties itself and serves through the new master', async () => {
    await waitForReplicas(own.cluster)
    // A client of its own that reads the map only when told to: the test decides when the map changes.
    const client = new Cluster([...own.cluster.startupNodes], { slotsRefreshInterval: 600_000 })
    const states: string[] = []
    try {
      await client.ping()
      tier = openTier(client, layout, SETTINGS, 2_000, { onState: (state, reason) => states.push(`${state}: ${reason}`) })
      await until(() => tier!.serving, 'the tier of every master to serve', 10_000)
      const { masterPort, replicaPort } = await shardWithReplica(own.cluster)
      const book = books.find(entry => client.slots[slotOf(entry.key)][0].endsWith(`:${masterPort}`))!
      // On another master, which the failover leaves alone.
      const other = books.find(entry => !client.slots[slotOf(entry.key)][0].endsWith(`:${masterPort}`))!
      for (const entry of [book, other]) {
        await client.hset(entry.key, entry.field!, sealed('before'))
        expect(await tier.readEntry(entry, undefined)).to.equal('"before"')
        expect(tier.entry(entry)?.value).to.equal('"before"')
      }

      const promoted = new Redis({ host: '127.0.0.1', port: replicaPort })
      try {
        await promoted.call('CLUSTER', 'FAILOVER')
        await until(async () => ((await promoted.call('ROLE')) as string[])[0] === 'master', 'the replica to take over', 20_000)
        // Written on the new master, while the tier still holds the old map: the old master, now
        // its replica, applies the change and tells the tier that read from it.
        await promoted.hset(book.key, book.field!, sealed('changed'))
      } finally {
        promoted.disconnect()
      }
      await until(() => tier!.entry(book) === undefined, 'the demoted master to invalidate the key')
      expect(
        states.filter(state => state.includes('slot map')),
        'before the new map is read',
      ).to.deep.equal([])

      // The other nodes learn of the failover a moment later: the map is read until one tells it.
      await until(
        () => {
          client.refreshSlotsCache()
          return client.slots[slotOf(book.key)][0].endsWith(`:${replicaPort}`)
        },
        'the client to read the new map',
        10_000,
      )
      // The map changed: the tier of every master is emptied, that of a master the failover left alone too.
      await until(() => tier!.entry(other) === undefined, 'the tier to empty itself for the new map')
      expect(states.at(-1)).to.match(/^bypassed: /)
      await until(() => tier!.serving, 'the tiers of the new map to serve', 10_000)
      expect(await tier.readEntry(book, undefined)).to.equal('"changed"')
      expect(tier.entry(book)?.value).to.equal('"changed"')
      await client.hset(book.key, book.field!, sealed('after'))
      await until(() => tier!.entry(book) === undefined, 'the new master to invalidate the key')
    } finally {
      await tier?.close()
      tier = undefined
      client.disconnect()
    }
  })
})
