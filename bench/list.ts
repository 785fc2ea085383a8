import { BaseCache, cacheme } from '../src'
import { CommandSpy, compare, runAlone, useCacheme, type BenchRedis, type Contender, type Section, type Verdict } from './harness'

interface Item {
  id: number
  authorId: number
  title: string
}

/** A stand-in for a small indexed query: one event-loop turn and about 50 µs of CPU. */
async function smallQuery(): Promise<void> {
  await new Promise(resolve => setImmediate(resolve))
  const until = performance.now() + 0.05
  while (performance.now() < until);
}

const titleOf = (item: Item) => ({ id: item.id, title: item.title.toUpperCase() })
const authorOf = (item: Item) => ({ id: item.authorId, name: `author ${item.authorId}` })

class PlainItemSerializer {
  async title(item: Item) {
    await smallQuery()
    return titleOf(item)
  }

  async author(item: Item) {
    await smallQuery()
    return authorOf(item)
  }
}

class CachedItemSerializer {
  @cacheme({ key: c => `Item:${c.item.id}>title`, invalidKeys: c => [`Item:${c.item.id}`] })
  async title(item: Item) {
    await smallQuery()
    return titleOf(item)
  }

  @cacheme({ key: c => `Item:${c.item.id}>author`, invalidKeys: c => [`Author:${c.item.authorId}`] })
  async author(item: Item) {
    await smallQuery()
    return authorOf(item)
  }
}

const serializeList = (serializer: PlainItemSerializer | CachedItemSerializer, items: Item[]) =>
  Promise.all(items.map(async item => ({ id: item.id, title: await serializer.title(item), author: await serializer.author(item) })))

/** The same representation kept whole per item by the instance cache, loaded from an in-memory table on a miss. */
function itemCache(table: ReadonlyMap<number, Item>): BaseCache {
  return new BaseCache().register<Item>('Item', {
    serializer: item => ({ id: item.id, title: titleOf(item), author: authorOf(item) }),
    loader: pk => table.get(Number(pk)),
  })
}

const readInstances = async (cache: BaseCache, items: Item[]) => [...(await cache.getInstances(items.map(item => ['Item', item.id] as const))).values()].map(([data]) => data)

/** A list in at most this many round trips. */
const ROUND_TRIPS_TARGET = 2

export async function listWorkload(redis: BenchRedis): Promise<Section[]> {
  const plain = redis.client()
  const piped = redis.client({ enableAutoPipelining: true })
  await useCacheme(piped)
  await useCacheme(plain)
  const uncached = new PlainItemSerializer()
  const cached = new CachedItemSerializer()
  const sections: Section[] = []
  for (const size of [100, 1000]) {
    const items = Array.from({ length: size }, (_, i) => ({ id: size * 10 + i, authorId: i % 50, title: `title ${i}` }))
    const instances = itemCache(new Map(items.map(item => [item.id, item])))
    // Warm.
    await serializeList(cached, items)
    await readInstances(instances, items)
    const expected = JSON.stringify(await serializeList(uncached, items))
    if (JSON.stringify(await serializeList(cached, items)) !== expected) throw new Error('list: cached and uncached differ')
    if (JSON.stringify(await readInstances(instances, items)) !== expected) throw new Error('list: the instance cache and uncached differ')

    const contenders: (Contender & { client?: typeof plain })[] = [
      { name: `uncached, ${size} items`, run: () => serializeList(uncached, items) },
      { name: `@cacheme warm, ${size} items`, run: () => serializeList(cached, items), before: () => useCacheme(plain), client: plain },
      { name: `@cacheme warm, auto-pipelining, ${size} items`, run: () => serializeList(cached, items), before: () => useCacheme(piped), client: piped },
      { name: `BaseCache getInstances warm, ${size} items`, run: () => readInstances(instances, items), before: () => useCacheme(plain), client: plain },
    ]
    // Commands and socket writes of one list, each contender alone; one write carries a whole pipeline, so writes are round trips.
    const counted = new Map<string, { commands: number; writes: number }>()
    for (const contender of contenders) {
      if (!contender.client) continue
      await contender.before?.()
      await new Promise(resolve => setTimeout(resolve, 20))
      const spy = new CommandSpy(contender.client)
      await contender.run()
      counted.set(contender.name, { commands: spy.commands, writes: spy.writes })
      spy.restore()
    }
    const results = await compare(contenders, { rounds: 5, time: 250 })
    const verdicts: Verdict[] = [...counted].map(([name, { commands, writes }]) => ({
      target: `warm list of ${size} in ≤ ${ROUND_TRIPS_TARGET} round trips: ${name.replace(/, \d+ items$/, '')}`,
      measured: `${writes} socket write${writes === 1 ? '' : 's'} for ${commands} Redis command${commands === 1 ? '' : 's'}`,
      met: writes <= ROUND_TRIPS_TARGET,
      verdict: writes <= ROUND_TRIPS_TARGET ? 'yes' : `no, ${writes} round trips`,
    }))
    sections.push({
      title: `List of ${size} items, two getters each, warm`,
      description: `The list is serialized with Promise.all over its items, each item awaiting its two getters in turn. Uncached getters do a stand-in for a small indexed query (one event-loop turn and 50 µs of CPU). The instance cache (\`BaseCache\`, one model registered over an in-memory table) keeps each item's whole representation under a key of its own and reads the list with one \`getInstances\` call. Time is per list.`,
      reference: contenders[0].name,
      results: results.map(r => {
        const count = counted.get(r.name) ?? { commands: 0, writes: 0 }
        return { ...r, extra: { 'Redis commands per list': String(count.commands), 'socket writes (round trips) per list': String(count.writes) } }
      }),
      extraColumns: ['Redis commands per list', 'socket writes (round trips) per list'],
      notes: [
        'A round trip is counted as one write of the client’s socket to the kernel. cacheme sends the reads of one event-loop turn together, with the invalidation sequence, whatever the client’s setting (a default ioredis client would otherwise write each command on its own); `getInstances` sends one MGET.',
      ],
      verdicts: size === 100 ? verdicts : undefined,
    })
  }
  await useCacheme(plain)
  return sections
}

if (require.main === module) void runAlone(listWorkload)
