import type { Redis } from 'ioredis'
import { cacheme } from '../src'
import { median, runAlone, useCacheme, type BenchRedis, type Measured, type Section, type Verdict } from './harness'
import { ownerOf } from './hit'
import { startPeers } from './peer-libraries'

const ENTRIES = 10_000
const REPEATS = 3
/** Entries written at once. */
const BATCH = 100
/** Entries per dependency key in the shared variant. */
const SHARING = 10

/** The hit workload's method: each entry depends on a key of its own (a book's owner, one set per entry). */
class OwnDependencySerializer {
  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${c.id}`] })
  async owner(id: number) {
    return ownerOf(id)
  }
}

/** The same entries, SHARING of them per dependency key (the owner of several books). */
class SharedDependencySerializer {
  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${Math.floor(c.id / SHARING)}`] })
  async owner(id: number) {
    return ownerOf(id)
  }
}

interface Subject {
  readonly name: string
  readonly write: (id: number) => Promise<unknown>
  /** Whether entry `id` was stored. */
  readonly stored: (admin: Redis, id: number) => Promise<boolean>
  /** MEMORY USAGE of entry `id`'s keys, and its share of the keys it shares, e.g. `256 + 216 + 96/1 = 568`. */
  readonly usage: (admin: Redis, id: number) => Promise<{ text: string; bytes: number }>
  readonly peer: boolean
}

const memoryUsage = async (admin: Redis, key: string): Promise<number> => Number((await admin.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0)

async function usedMemory(admin: Redis): Promise<number> {
  // Lets the server finish incremental rehashing and release the clients' buffers first.
  await new Promise(resolve => setTimeout(resolve, 250))
  const info = await admin.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)![1])
}

const sum = (parts: { bytes: number; share: number }[]) => parts.reduce((total, p) => total + p.bytes / p.share, 0)
const describe = (parts: { bytes: number; share: number }[]) => {
  const total = sum(parts)
  const terms = parts.map(p => (p.share === 1 ? `${p.bytes}` : `${p.bytes}/${p.share.toLocaleString('en')}`))
  return { text: parts.length === 1 ? terms[0] : `${terms.join(' + ')} = ${Math.round(total)}`, bytes: total }
}

export async function memoryWorkload(redis: BenchRedis): Promise<Section[]> {
  const client = redis.client()
  const admin = redis.client()
  await useCacheme(client)
  const peers = await startPeers(redis)
  const own = new OwnDependencySerializer()
  const shared = new SharedDependencySerializer()
  const cachemeSubject = (name: string, serializer: OwnDependencySerializer, tag: string, dependency: (id: number) => string, share: number): Subject => ({
    name,
    write: id => serializer.owner(id),
    stored: async (admin, id) => (await admin.hexists(`bench:Book:${id}`, 'owner')) === 1,
    usage: async (admin, id) =>
      describe([
        { bytes: await memoryUsage(admin, `bench:Book:${id}`), share: 1 },
        { bytes: await memoryUsage(admin, `bench:${dependency(id)}:invalid`), share },
        { bytes: await memoryUsage(admin, `bench:__tag:${tag}`), share: ENTRIES },
      ]),
    peer: false,
  })
  const subjects: Subject[] = [
    cachemeSubject('@cacheme, 1 invalid key of its own + tag set', own, 'OwnDependencySerializer.owner', id => `User:${id}`, 1),
    cachemeSubject(`@cacheme, 1 invalid key shared by ${SHARING} entries + tag set`, shared, 'SharedDependencySerializer.owner', id => `User:${Math.floor(id / SHARING)}`, SHARING),
    ...peers.map(peer => ({
      name: peer.name,
      write: (id: number) => peer.cached(`Book:${id}>owner`, async () => ownerOf(id), `User:${id}`),
      stored: async (admin: Redis, id: number) => (await admin.exists(peer.redisKey(`Book:${id}>owner`))) === 1,
      usage: async (admin: Redis, id: number) => describe([{ bytes: await memoryUsage(admin, peer.redisKey(`Book:${id}>owner`)), share: 1 }]),
      peer: true,
    })),
  ]

  // The other workloads log every command in SLOWLOG, whose entries would be counted with the cache's.
  const [, slowlogThreshold] = (await admin.config('GET', 'slowlog-log-slower-than')) as string[]
  await admin.config('SET', 'slowlog-log-slower-than', '-1')
  await admin.call('SLOWLOG', 'RESET')
  const measured: { subject: Subject; bytes: number; keys: number; usage: string }[] = []
  for (const subject of subjects) {
    const perEntry: number[] = []
    let keys = 0
    let usage = ''
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      // A few writes first, so that scripts are loaded and connections have their buffers before the baseline.
      await admin.call('FLUSHDB', 'SYNC')
      for (let id = 0; id < 10; id++) await subject.write(-1 - id)
      await admin.call('FLUSHDB', 'SYNC')
      const before = await usedMemory(admin)
      for (let from = 0; from < ENTRIES; from += BATCH) {
        await Promise.all(Array.from({ length: BATCH }, (_, i) => subject.write(from + i)))
      }
      const after = await usedMemory(admin)
      for (const id of [0, ENTRIES >> 1, ENTRIES - 1]) {
        if (!(await subject.stored(admin, id))) throw new Error(`memory: ${subject.name} did not store entry ${id}`)
      }
      perEntry.push((after - before) / ENTRIES)
      keys = (await admin.dbsize()) / ENTRIES
      usage = (await subject.usage(admin, ENTRIES >> 1)).text
    }
    measured.push({ subject, bytes: median(perEntry), keys, usage })
  }
  await admin.call('FLUSHDB', 'SYNC')
  await admin.config('SET', 'slowlog-log-slower-than', slowlogThreshold)
  for (const peer of peers) await peer.close()

  const best = measured.filter(m => m.subject.peer).reduce((a, b) => (b.bytes < a.bytes ? b : a))
  const results: Measured[] = measured.map(m => ({
    name: m.subject.name,
    medianUs: m.bytes,
    ratio: m.bytes / best.bytes,
    rounds: REPEATS,
    samples: REPEATS * ENTRIES,
    extra: { 'Redis keys per entry': m.keys.toFixed(2), 'MEMORY USAGE of the entry’s keys + its share of shared ones, bytes': m.usage },
  }))
  const verdicts: Verdict[] = measured
    .filter(m => !m.subject.peer)
    .map(m => {
      const ratio = m.bytes / best.bytes
      return {
        target: `memory per entry no worse than the best peer: ${m.subject.name}`,
        measured: `${Math.round(m.bytes)} B vs ${Math.round(best.bytes)} B (${best.subject.name}) = ${ratio.toFixed(2)}×`,
        met: ratio <= 1,
        verdict: ratio <= 1 ? 'yes' : `no, ${ratio.toFixed(2)}× the memory`,
      }
    })
  return [
    {
      title: 'Redis memory per cached entry',
      description: `Each contender writes ${ENTRIES.toLocaleString('en')} entries of the hit workload's JSON value into a flushed database (FLUSHDB SYNC), no expiry; the value is (used_memory after − used_memory before) / ${ENTRIES.toLocaleString('en')}, the median of ${REPEATS} repeats, so it includes the main dictionary's buckets and every index structure the library keeps. A @cacheme entry is a field of a hash named after the key's prefix, a member of its dependency set and a member of its method's tag set; the peers keep one string per entry (BentoCache stores its tags inside the entry). The reference is the peer with the fewest bytes.`,
      reference: best.subject.name,
      results,
      extraColumns: ['Redis keys per entry', 'MEMORY USAGE of the entry’s keys + its share of shared ones, bytes'],
      chart: false,
      measure: { header: 'Redis memory per entry', format: bytes => `${Math.round(bytes)} B` },
      notes: ['MEMORY USAGE (SAMPLES 0) is sampled on the middle entry; it leaves out the main dictionary’s buckets, which used_memory counts.'],
      verdicts,
    },
  ]
}

if (require.main === module) void runAlone(memoryWorkload)
