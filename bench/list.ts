import { cacheme } from '../src'
import { CommandSpy, compare, runAlone, useCacheme, type BenchRedis, type Contender, type Section } from './harness'

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

class PlainItemSerializer {
  async title(item: Item) {
    await smallQuery()
    return { id: item.id, title: item.title.toUpperCase() }
  }

  async author(item: Item) {
    await smallQuery()
    return { id: item.authorId, name: `author ${item.authorId}` }
  }
}

class CachedItemSerializer {
  @cacheme({ key: c => `Item:${c.item.id}>title`, invalidKeys: c => [`Item:${c.item.id}`] })
  async title(item: Item) {
    await smallQuery()
    return { id: item.id, title: item.title.toUpperCase() }
  }

  @cacheme({ key: c => `Item:${c.item.id}>author`, invalidKeys: c => [`Author:${c.item.authorId}`] })
  async author(item: Item) {
    await smallQuery()
    return { id: item.authorId, name: `author ${item.authorId}` }
  }
}

const serializeList = (serializer: PlainItemSerializer | CachedItemSerializer, items: Item[]) =>
  Promise.all(items.map(async item => ({ id: item.id, title: await serializer.title(item), author: await serializer.author(item) })))

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
    await serializeList(cached, items) // warm
    if (JSON.stringify(await serializeList(cached, items)) !== JSON.stringify(await serializeList(uncached, items))) throw new Error('list: cached and uncached differ')

    const counted: Record<string, Record<string, string>> = {}
    for (const [name, client] of [
      ['plain', plain],
      ['piped', piped],
    ] as const) {
      await useCacheme(client)
      await new Promise(resolve => setTimeout(resolve, 20))
      const spy = new CommandSpy(client)
      await serializeList(cached, items)
      counted[name] = { 'Redis commands per list': String(spy.commands), 'socket writes per list': String(spy.writes) }
      spy.restore()
    }
    const contenders: Contender[] = [
      { name: `uncached, ${size} items`, run: () => serializeList(uncached, items) },
      { name: `@cacheme warm, ${size} items`, run: () => serializeList(cached, items), before: () => useCacheme(plain) },
      { name: `@cacheme warm, auto-pipelining, ${size} items`, run: () => serializeList(cached, items), before: () => useCacheme(piped) },
    ]
    const extras = [{ 'Redis commands per list': '0', 'socket writes per list': '0' }, counted.plain, counted.piped]
    const results = await compare(contenders, { rounds: 5, time: 250 })
    sections.push({
      title: `List of ${size} items, two getters each, warm`,
      description: `The list is serialized with Promise.all over its items, each item awaiting its two getters in turn. Uncached getters do a stand-in for a small indexed query (one event-loop turn and 50 µs of CPU). Time is per list.`,
      reference: contenders[0].name,
      results: results.map((r, i) => ({ ...r, extra: extras[i] })),
      extraColumns: ['Redis commands per list', 'socket writes per list'],
    })
  }
  await useCacheme(plain)
  return sections
}

if (require.main === module) void runAlone(listWorkload)
