import { Cluster, Redis } from 'ioredis'
import { BaseCache, cacheme, cachemeSettled, configure } from '../src'
import { runtime } from '../src/config'
import { BATCH, type Deployment } from './cluster-deployment'
import { invalidationSection } from './cluster-invalidation'
import { startRedisCluster, type RedisCluster } from '../tools/redis-cluster'
import { CommandSpy, compare, formatUs, roundRatio, runAlone, useCacheme, type BenchRedis, type Contender, type Measured, type Section, type Verdict } from './harness'
import { ownerOf } from './hit'
import { slotOf } from '../src/slots'

/** A Cluster hit reaches at least this share of a standalone hit's calls per second. */
const HIT_TARGET = 0.9
const KEYS = 64
const LIST_SIZE = 100
const MEMORY_ENTRIES = 10_000
/**
 * The store's timeout here, on both deployments: long enough that a fill of 100,000 entries on a
 * busy machine does not fail open; it changes nothing while the store answers.
 */
const TIMEOUT_S = 5

class HitSerializer {
  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${c.id}`] })
  async owner(id: number) {
    return ownerOf(id)
  }
}

const dependencies = (n: number, count: number) => Array.from({ length: count }, (_, j) => `Dep:${n % 1000}:${j}`)

/** Every call a new key, so every call is a miss; its dependency sets fall in as many slots as it has. */
class MissSerializer {
  @cacheme({ key: c => `Miss1:${c.n}`, invalidKeys: c => dependencies(c.n, 1) })
  async one(n: number) {
    return { n }
  }

  @cacheme({ key: c => `Miss5:${c.n}`, invalidKeys: c => dependencies(c.n, 5) })
  async five(n: number) {
    return { n }
  }
}

let probeHits = 0

/** A call that answers from the cache once the store serves: the Cluster store writes its slot guards when it opens. */
class ReadinessProbe {
  @cacheme({ key: () => 'bench-ready', hit: () => probeHits++ })
  async value() {
    return 1
  }
}

const probe = new ReadinessProbe()
const READY_TIMEOUT_MS = 20_000

/** Waits until the configuration just put in force stores and serves. */
async function untilServing(): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (const before = probeHits; probeHits === before;) {
    if (Date.now() > deadline) throw new Error(`the store did not serve from the cache within ${READY_TIMEOUT_MS} ms of configure()`)
    await probe.value()
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

interface Item {
  id: number
  title: string
}

export async function clusterWorkload(redis: BenchRedis): Promise<Section[]> {
  const cluster = await startRedisCluster()
  const clusterClient = new Cluster([...cluster.startupNodes])
  const admins: Redis[] = []
  const standaloneClient = redis.client()
  const standaloneAdmin = redis.client()
  try {
    await clusterClient.ping()
    const standalone: Deployment = {
      name: 'standalone',
      use: async () => {
        configure({ redis: standaloneClient, prefix: 'bench:', timeout: TIMEOUT_S })
        await untilServing()
      },
      masters: async () => [standaloneAdmin],
      sockets: () => [standaloneClient],
      client: standaloneClient,
      sequenceOwner: () => standaloneClient,
    }
    const onCluster: Deployment = {
      name: 'Cluster',
      use: async () => {
        configure({ redis: clusterClient, prefix: 'bench:', timeout: TIMEOUT_S })
        await untilServing()
      },
      masters: () => clusterMasters(cluster, clusterClient, admins),
      sockets: () => clusterClient.nodes('master'),
      client: clusterClient,
      sequenceOwner: () => {
        const owner = clusterClient.slots[slotOf(runtime().layout.seq)][0]
        return clusterClient.nodes('master').find(node => `${node.options.host}:${node.options.port}` === owner)!
      },
    }
    const deployments = [standalone, onCluster]
    for (const deployment of deployments) {
      for (const admin of await deployment.masters()) {
        await admin.config('SET', 'slowlog-log-slower-than', '0')
        await admin.config('SET', 'slowlog-max-len', '100000')
      }
    }
    const masters = (await onCluster.masters()).length
    return [
      ...(await hitSections(deployments)),
      await missSection(deployments),
      await listSection(deployments, masters),
      await invalidationSection(deployments),
      await memorySection(deployments),
    ]
  } finally {
    // The standalone configuration stays in force, as the other workloads expect.
    await useCacheme(standaloneClient)
    clusterClient.disconnect()
    for (const admin of admins) admin.disconnect()
    await cluster.stop()
  }
}

/** An admin connection to every master the Cluster client knows now. */
async function clusterMasters(cluster: RedisCluster, client: Cluster, admins: Redis[]): Promise<Redis[]> {
  const ports = new Set(client.nodes('master').map(node => node.options.port))
  const known = admins.filter(admin => ports.has(admin.options.port!))
  for (const port of ports) {
    if (known.some(admin => admin.options.port === port)) continue
    const admin = new Redis({ host: cluster.startupNodes[0].host, port })
    admins.push(admin)
    known.push(admin)
  }
  return known
}

async function hitSections(deployments: Deployment[]): Promise<Section[]> {
  const serializer = new HitSerializer()
  for (const deployment of deployments) {
    await deployment.use()
    for (let id = 0; id < KEYS; id++) await serializer.owner(id)
    for (let id = 0; id < KEYS; id++) await deployment.client.hset(`hand:Book:${id}`, 'owner', JSON.stringify(ownerOf(id)))
  }
  const sections: Section[] = []
  for (const concurrency of [1, 64]) {
    const ids = Array.from({ length: concurrency }, (_, i) => i % KEYS)
    const many = (one: (id: number) => Promise<unknown>) => () => Promise.all(ids.map(one))
    const contenders: Contender[] = deployments.flatMap(deployment => [
      { name: `${deployment.name}: @cacheme hit, c=${concurrency}`, run: many(id => serializer.owner(id)), perOp: concurrency, before: deployment.use },
      {
        name: `${deployment.name}: ioredis HGET + JSON.parse, c=${concurrency}`,
        run: many(async id => JSON.parse((await deployment.client.hget(`hand:Book:${id}`, 'owner'))!)),
        perOp: concurrency,
      },
    ])
    const results = await compare(contenders, { rounds: 3, time: 200 })
    const [standaloneHit, , clusterHit] = results
    const share = roundRatio(standaloneHit, clusterHit)
    const met = share >= HIT_TARGET
    sections.push({
      title: `Redis Cluster: hit path, concurrency ${concurrency}`,
      description: `A warm decorated call (one HGET of the entry, ${KEYS} keys spread over the slots) on one redis-server and on a Cluster of 3 masters, with the hand-written HGET + JSON.parse of the same JSON on each for scale. Time per call.`,
      reference: contenders[0].name,
      results,
      verdicts: [
        {
          target: `a Cluster hit at c=${concurrency} ≥ ${HIT_TARGET} of a standalone hit (calls per second)`,
          measured: `standalone time / Cluster time = ${share.toFixed(2)} (${formatUs(standaloneHit.medianUs)} vs ${formatUs(clusterHit.medianUs)} per call)`,
          met,
          verdict: met ? 'yes' : `no, ${share.toFixed(2)}`,
        },
      ],
    })
  }
  return sections
}

async function missSection(deployments: Deployment[]): Promise<Section> {
  const serializer = new MissSerializer()
  let n = 0
  const methods: [string, (i: number) => Promise<unknown>][] = [
    ['1 invalid key', i => serializer.one(i)],
    ['5 invalid keys', i => serializer.five(i)],
  ]
  const contenders: Contender[] = methods.flatMap(([label, method]) =>
    deployments.map(deployment => ({ name: `${deployment.name}: @cacheme miss, ${label}`, run: () => method(1_000_000_000 + n++), before: deployment.use })),
  )
  // Round trips of one miss, counted as socket writes on every connection that carries cacheme's
  // commands; and the load on the sequence's server, which every miss reads.
  const roundTrips: Record<string, string> = {}
  const sequenceLoad: Record<string, string> = {}
  for (const [index, contender] of contenders.entries()) {
    const deployment = deployments[index % deployments.length]
    await contender.before!()
    await contender.run()
    await new Promise(resolve => setTimeout(resolve, 20))
    const sockets = deployment.sockets()
    const spies = sockets.map(socket => new CommandSpy(socket))
    const calls = 100
    for (let i = 0; i < calls; i++) await contender.run()
    // A miss returns before its store: the last stores are counted too.
    await cachemeSettled()
    const writes = spies.reduce((sum, spy) => sum + spy.writes, 0)
    const commands = spies.reduce((sum, spy) => sum + spy.commands, 0)
    for (const spy of spies) spy.restore()
    roundTrips[contender.name] = `${(writes / calls).toFixed(2)} writes, ${(commands / calls).toFixed(2)} commands`
    const onSequenceOwner = spies[sockets.indexOf(deployment.sequenceOwner())].commands
    sequenceLoad[contender.name] =
      `${(onSequenceOwner / calls).toFixed(2)} (${Math.round((100 * onSequenceOwner) / commands)}% of ${sockets.length === 1 ? 'one server' : `${sockets.length} masters`})`
  }
  const results = await compare(contenders, { rounds: 3, time: 200 })
  return {
    title: 'Redis Cluster: miss path',
    description:
      'A decorated call on a new key each time, with 1 or 5 invalid keys (whose sets fall in as many slots): the read, then the registration in each dependency set and the store, which run behind the caller (the time per call is what the caller waits, its next miss queuing behind them). The last columns count, for one miss, the writes to every socket that carries cacheme’s commands (on the Cluster, one per master touched: its round trips) and the commands sent, and the commands sent to the server that holds the invalidation sequence (on the Cluster, the heat on its master).',
    reference: contenders[0].name,
    results: results.map(r => ({ ...r, extra: { 'socket writes and commands per miss': roundTrips[r.name], 'commands per miss on the sequence’s server': sequenceLoad[r.name] } })),
    extraColumns: ['socket writes and commands per miss', 'commands per miss on the sequence’s server'],
  }
}

async function listSection(deployments: Deployment[], masters: number): Promise<Section> {
  const items: Item[] = Array.from({ length: LIST_SIZE }, (_, i) => ({ id: 7000 + i, title: `title ${i}` }))
  const table = new Map(items.map(item => [item.id, item]))
  const cache = new BaseCache().register<Item>('Item', { serializer: item => ({ id: item.id, title: item.title.toUpperCase() }), loader: pk => table.get(Number(pk)) })
  const read = async () => [...(await cache.getInstances(items.map(item => ['Item', item.id] as const))).values()].map(([data]) => data)
  const expected = JSON.stringify(items.map(item => ({ id: item.id, title: item.title.toUpperCase() })))
  const contenders: Contender[] = deployments.map(deployment => ({ name: `${deployment.name}: getInstances, ${LIST_SIZE} instances warm`, run: read, before: deployment.use }))
  const counted: Record<string, { writes: number; commands: number; sockets: number }> = {}
  for (const [index, contender] of contenders.entries()) {
    const deployment = deployments[index]
    await contender.before!()
    await read()
    if (JSON.stringify(await read()) !== expected) throw new Error(`list: ${deployment.name} serves other instances than the table holds`)
    await new Promise(resolve => setTimeout(resolve, 20))
    const spies = deployment.sockets().map(socket => new CommandSpy(socket))
    await read()
    counted[contender.name] = {
      writes: spies.reduce((sum, spy) => sum + spy.writes, 0),
      commands: spies.reduce((sum, spy) => sum + spy.commands, 0),
      sockets: spies.filter(spy => spy.writes > 0).length,
    }
    for (const spy of spies) spy.restore()
  }
  const results = await compare(contenders, { rounds: 3, time: 200 })
  const clusterCount = counted[contenders[1].name]
  const met = clusterCount.writes <= masters
  const verdicts: Verdict[] = [
    {
      target: `a warm list of ${LIST_SIZE} on the Cluster in at most one round trip per master (${masters})`,
      measured: `${clusterCount.writes} socket writes over ${clusterCount.sockets} masters for ${clusterCount.commands} commands`,
      met,
      verdict: met ? 'yes' : `no, ${clusterCount.writes} round trips`,
    },
  ]
  return {
    title: `Redis Cluster: list of ${LIST_SIZE} instances (getInstances), warm`,
    description: `The instance cache reads ${LIST_SIZE} cached instances in one \`getInstances\` call: one MGET on standalone Redis, one MGET per slot on the Cluster, the slots of one master in one pipeline. Time per list.`,
    reference: contenders[0].name,
    results: results.map(r => {
      const count = counted[r.name]
      return { ...r, extra: { 'commands per list': String(count.commands), 'socket writes (round trips) per list': `${count.writes} (over ${count.sockets} connections)` } }
    }),
    extraColumns: ['commands per list', 'socket writes (round trips) per list'],
    verdicts,
  }
}

async function usedMemory(admins: Redis[]): Promise<number> {
  // Lets the servers finish incremental rehashing and release the clients' buffers first.
  await new Promise(resolve => setTimeout(resolve, 250))
  const infos = await Promise.all(admins.map(admin => admin.info('memory')))
  return infos.reduce((sum, info) => sum + Number(/used_memory:(\d+)/.exec(info)![1]), 0)
}

async function memorySection(deployments: Deployment[]): Promise<Section> {
  const serializer = new HitSerializer()
  const results: Measured[] = []
  let reference = 0
  for (const deployment of deployments) {
    await deployment.use()
    const admins = await deployment.masters()
    const base = 10_000_000
    const before = await usedMemory(admins)
    for (let from = 0; from < MEMORY_ENTRIES; from += BATCH) await Promise.all(Array.from({ length: BATCH }, (_, i) => serializer.owner(base + from + i)))
    const perEntry = ((await usedMemory(admins)) - before) / MEMORY_ENTRIES
    if (reference === 0) reference = perEntry
    results.push({
      name: `${deployment.name}: an entry with one dependency of its own`,
      medianUs: perEntry,
      ratio: perEntry / reference,
      rounds: 1,
      samples: MEMORY_ENTRIES,
      extra: { servers: String(admins.length) },
    })
  }
  return {
    title: 'Redis Cluster: memory per entry',
    description: `The hit workload's entry (a hash field, and a dependency set of its own) written ${MEMORY_ENTRIES.toLocaleString('en')} times; INFO memory used_memory summed over every master, after minus before, divided by the entries. The Cluster also keeps its slot guards, written once when the store opens (before the measurement).`,
    reference: results[0].name,
    results,
    extraColumns: ['servers'],
    measure: { header: 'bytes per entry', format: bytes => String(Math.round(bytes)) },
    chart: false,
  }
}

if (require.main === module) void runAlone(clusterWorkload)
