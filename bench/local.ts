import { Redis } from 'ioredis'
import { createRequire } from 'node:module'
import path from 'node:path'
import { cacheme, cachemeEvents, configure, invalidate } from '../src'
import { runtime } from '../src/config'
import { KeyLayout } from '../src/keys'
import type { LocalTierStore } from '../src/local/local-store'
import { ensurePeersInstalled, PEERS_DIR } from './peers/install'
import { compare, formatUs, roundRatio, runAlone, type BenchRedis, type Contender, type Measured, type Section, type Verdict } from './harness'

const KEYS = 64
/** The L1 hit's target against the raw read at concurrency 1: this many times faster. */
const RAW_READ_SPEEDUP = 20
const PREFIX = 'benchlocal:'

/** About 200 bytes of JSON. */
const ownerOf = (id: number) => ({
  id,
  name: `user ${id}`,
  email: `user${id}@example.com`,
  roles: ['reader', 'reviewer'],
  address: { city: 'Lyon', street: `${id} rue de la République`, postcode: '69002' },
  since: '2024-03-01T10:00:00.000Z',
})

// Shapes used from BentoCache, written here so type checking does not depend on its declarations.
interface BentoCacheInstance {
  getOrSet<T>(options: { key: string; factory: () => Promise<T> }): Promise<T>
  disconnectAll(): Promise<void>
}
interface BentoModules {
  BentoCache: new (options: object) => BentoCacheInstance
  bentostore(): { useL1Layer(driver: unknown): { useL2Layer(driver: unknown): { useBus(driver: unknown): unknown } } }
  memoryDriver(options: object): unknown
  redisDriver(options: object): unknown
  redisBusDriver(options: object): unknown
}

/** BentoCache wants ioredis 5: it comes from bench/peers, installed apart from the root's ioredis 6. */
function loadBento(): BentoModules {
  ensurePeersInstalled()
  const peerRequire = createRequire(path.join(PEERS_DIR, 'package.json'))
  const { BentoCache, bentostore } = peerRequire('bentocache')
  const { memoryDriver } = peerRequire('bentocache/drivers/memory')
  const { redisDriver, redisBusDriver } = peerRequire('bentocache/drivers/redis')
  return { BentoCache, bentostore, memoryDriver, redisDriver, redisBusDriver }
}

/** Two decorated getters of the same values: one with the in-process tier, one that always asks Redis. */
class OwnerSerializer {
  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${c.id}`] })
  async owner(id: number) {
    return ownerOf(id)
  }

  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${c.id}`], local: false })
  async ownerFromRedis(id: number) {
    return ownerOf(id)
  }
}

export async function localWorkload(redis: BenchRedis): Promise<Section[]> {
  const plain = redis.client()
  const serializer = new OwnerSerializer()
  const serving = new Promise(resolve => cachemeEvents.once('local', resolve))
  configure({ redis: plain, prefix: PREFIX, local: { maxEntries: 10_000 } })
  await serving
  for (let id = 0; id < KEYS; id++) {
    await plain.hset(`hand:Book:${id}`, 'owner', JSON.stringify(ownerOf(id)))
    // Stored, then read through the tracked connection, then served from the tier.
    for (let i = 0; i < 3; i++) await serializer.owner(id)
  }

  const { BentoCache, bentostore, memoryDriver, redisDriver, redisBusDriver } = loadBento()
  const url = new URL(redis.url)
  const bento = new BentoCache({
    default: 'tiered',
    prefix: 'bento',
    ttl: '1h',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '32mb' }))
        .useL2Layer(redisDriver({ connection: { host: url.hostname, port: Number(url.port) } }))
        .useBus(redisBusDriver({ connection: { host: url.hostname, port: Number(url.port) } })),
    },
  })
  const bentoRead = (id: number) => bento.getOrSet({ key: `Book:${id}:owner`, factory: async () => ownerOf(id) })
  for (let id = 0; id < KEYS; id++) await bentoRead(id)

  // The tier's own share of a hit: its lookup and the decode, without the decorator's call path.
  const { tier, layout } = runtime().store as LocalTierStore
  const entries = Array.from({ length: KEYS }, (_, id) => layout.entry(`Book:${id}>owner`, 'bench'))
  const lookup = async (id: number) => JSON.parse(tier.entry(entries[id])!.value!)

  const sections: Section[] = []
  for (const concurrency of [1, 64]) {
    const ids = Array.from({ length: concurrency }, (_, i) => i % KEYS)
    const many = (one: (id: number) => Promise<unknown>) => () => Promise.all(ids.map(one))
    const contenders: Contender[] = [
      { name: `ioredis HGET + JSON.parse, c=${concurrency}`, run: many(async id => JSON.parse((await plain.hget(`hand:Book:${id}`, 'owner'))!)), perOp: concurrency },
      { name: `@cacheme hit, Redis only (local: false), c=${concurrency}`, run: many(id => serializer.ownerFromRedis(id)), perOp: concurrency },
      { name: `@cacheme hit from the in-process tier, c=${concurrency}`, run: many(id => serializer.owner(id)), perOp: concurrency },
      { name: `BentoCache getOrSet, memory tier + Redis + bus, c=${concurrency}`, run: many(bentoRead), perOp: concurrency },
      { name: `in-process tier lookup + JSON.parse alone (no decorator), c=${concurrency}`, run: many(lookup), perOp: concurrency },
    ]
    const results = await compare(contenders, { rounds: 5, time: 250 })
    sections.push({
      title: `In-process tier hit, concurrency ${concurrency}`,
      description:
        concurrency === 1
          ? 'One warm call at a time. The in-process tier serves the value without Redis and decodes the kept JSON string on every hit (so no two callers share one object); BentoCache with its memory tier (L1), Redis (L2) and its Redis bus answers from its memory tier.'
          : `${concurrency} warm calls in flight (Promise.all over ${concurrency} keys); time per call is the batch time divided by ${concurrency}.`,
      reference: contenders[0].name,
      results,
      notes: ['The last row is the tier alone: the rest of an in-process hit is the decorator’s call path (container, key, metrics, events), shared with the Redis hit.'],
      verdicts: localVerdicts(concurrency, results),
    })
  }
  sections.push(await safeValuesSection())
  sections.push(await trackingCostSection(redis))

  await bento.disconnectAll()
  configure({ store: 'memory' })
  return sections
}

function localVerdicts(concurrency: number, results: Measured[]): Verdict[] {
  const [raw, , local, bento] = results
  const speedup = roundRatio(raw, local)
  const versusBento = roundRatio(local, bento)
  const verdicts: Verdict[] = [
    {
      target: `in-process hit at c=${concurrency} ≤ BentoCache's tiered get (time per call)`,
      measured: `cacheme / BentoCache = ${versusBento.toFixed(2)} (${formatUs(local.medianUs)} vs ${formatUs(bento.medianUs)})`,
      met: versusBento <= 1,
      verdict: versusBento <= 1 ? 'yes' : `no, ${versusBento.toFixed(2)}× slower`,
    },
  ]
  if (concurrency === 1) {
    verdicts.unshift({
      target: `in-process hit at c=1 ≥ ${RAW_READ_SPEEDUP}× faster than ioredis HGET + JSON.parse`,
      measured: `raw / in-process = ${speedup.toFixed(1)}× (${formatUs(raw.medianUs)} vs ${formatUs(local.medianUs)})`,
      met: speedup >= RAW_READ_SPEEDUP,
      verdict: speedup >= RAW_READ_SPEEDUP ? 'yes' : `no, ${speedup.toFixed(1)}×`,
    })
  }
  return verdicts
}

/**
 * What a hit could hand out without sharing one mutable object between callers: the kept string
 * parsed again (what the tier does), a structuredClone of a kept object, or one deep-frozen object
 * (shared, but a caller that mutates it throws in strict mode instead of changing it for others).
 */
async function safeValuesSection(): Promise<Section> {
  const payload = JSON.stringify(ownerOf(7))
  const kept = JSON.parse(payload)
  const frozen = deepFreeze(JSON.parse(payload))
  const contenders: Contender[] = [
    { name: 'JSON.parse of the kept string (per hit)', run: async () => JSON.parse(payload) },
    { name: 'structuredClone of a kept object (per hit)', run: async () => structuredClone(kept) },
    { name: 'one deep-frozen object, shared', run: async () => frozen },
  ]
  const results = await compare(contenders, { rounds: 3, time: 150 })
  return {
    title: 'Safe values: what each hit costs to hand out',
    description: `The value of one hit (${payload.length} bytes of JSON), made safe to hand to a caller that may mutate it, in three ways. Measured in process, without Redis.`,
    reference: contenders[0].name,
    results,
    chart: false,
    notes: [
      `Parsing the kept string costs ${formatUs(results[0].medianUs)} per hit, a clone ${formatUs(results[1].medianUs)}; a shared frozen object costs nothing but changes what callers may do with their result (a mutation throws in strict mode), so the tier keeps strings and parses per hit, as a Redis hit does.`,
    ],
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * What tracking costs Redis, default mode against BCAST PREFIX: the invalidation messages one
 * process receives while another changes entries it never read, and the tracking table's keys.
 */
async function trackingCostSection(redis: BenchRedis): Promise<Section> {
  const layout = new KeyLayout(PREFIX)
  const admin = new Redis(redis.url)
  const count = async (bcast: boolean, work: () => Promise<void>) => {
    const subscriber = new Redis(redis.url, { protocol: 2 })
    const data = new Redis(redis.url, { protocol: 2 })
    let messages = 0
    subscriber.on('messageBuffer', (_channel: Buffer, keys: Buffer[] | null) => (messages += keys?.length ?? 1))
    const id = Number(await subscriber.client('ID'))
    await subscriber.subscribe('__redis__:invalidate')
    await data.client('TRACKING', 'ON', 'REDIRECT', String(id), ...(bcast ? ['BCAST', 'PREFIX', PREFIX] : []))
    // The process reads 1000 entries it will keep.
    const tableKeys = async () => Number(/tracking_total_keys:(\d+)/.exec(await admin.info('stats'))?.[1] ?? 0)
    const before = await tableKeys()
    for (let i = 0; i < 1000; i++) await data.hget(layout.entry(`Kept:${i}>v`, 'bench').key, 'v')
    const trackedKeys = (await tableKeys()) - before
    await work()
    await subscriber.ping()
    subscriber.disconnect()
    data.disconnect()
    return { messages, trackedKeys }
  }
  // Another process's traffic: 200 entries computed and stored, then invalidated, on keys this one never read.
  const otherTraffic = async () => {
    const fn = cacheme({ key: c => `Other:${c.id}>v`, invalidKeys: c => `Row:${c.id}`, local: false })(async (id: number) => id)
    for (let i = 0; i < 200; i++) await fn(i)
    for (let i = 0; i < 200; i++) await invalidate({ invalidKey: `Row:${i}` })
  }
  const defaultMode = await count(false, otherTraffic)
  const bcastMode = await count(true, otherTraffic)
  admin.disconnect()
  const row = (name: string, value: number, extra: Record<string, string>): Measured => ({ name, medianUs: value, ratio: 1, rounds: 1, samples: 1, extra })
  return {
    title: 'What tracking costs Redis: default mode against BCAST PREFIX',
    description:
      'One process reads 1000 entries through a tracked connection; another process stores 200 entries it never read and invalidates them. Counted: the invalidation messages Redis sends the first process, and the keys its reads added to the tracking table.',
    reference: 'default mode (REDIRECT)',
    chart: false,
    measure: { header: 'messages received', format: value => String(value) },
    results: [
      row('default mode (REDIRECT)', defaultMode.messages, { 'tracked keys': String(defaultMode.trackedKeys) }),
      row(`BCAST PREFIX ${PREFIX}`, bcastMode.messages, { 'tracked keys': String(bcastMode.trackedKeys) }),
    ],
    extraColumns: ['tracked keys'],
    notes: [
      'Default mode costs Redis one tracking-table entry per key a process read (bounded by tracking-table-max-keys, past which Redis evicts entries and sends their invalidation) and one message per change of a key a process holds. BCAST keeps no table but sends every change under the prefix, entries, dependency sets, guards and the sequence alike, to every process: the tier uses default mode.',
    ],
  }
}

if (require.main === module) void runAlone(localWorkload)
