import { cacheme } from '../src'
import { compare, runAlone, useCacheme, type BenchRedis, type Contender, type Section } from './harness'

const KEYS = 64

/** A serializer method as an application would write it; warm, so it is never called. */
class BookSerializer {
  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${c.id}`] })
  async owner(id: number) {
    return ownerOf(id)
  }
}

const ownerOf = (id: number) => ({ id, name: `user ${id}`, email: `user${id}@example.com`, roles: ['reader'] })

export async function hitWorkload(redis: BenchRedis): Promise<Section[]> {
  const plain = redis.client()
  const piped = redis.client({ enableAutoPipelining: true })
  const serializer = new BookSerializer()
  const usePlain = () => useCacheme(plain)
  const usePiped = () => useCacheme(piped)

  // The same JSON stored where a hand-written cache would keep it.
  for (let id = 0; id < KEYS; id++) {
    await plain.hset(`hand:Book:${id}`, 'owner', JSON.stringify(ownerOf(id)))
  }
  await usePiped()
  await usePlain()
  for (let id = 0; id < KEYS; id++) await serializer.owner(id)
  const check = await serializer.owner(3)
  const expected = JSON.parse((await plain.hget('hand:Book:3', 'owner'))!)
  if (JSON.stringify(check) !== JSON.stringify(expected)) throw new Error('hit: cacheme and the hand-written read disagree')

  const sections: Section[] = []
  for (const concurrency of [1, 64]) {
    const ids = Array.from({ length: concurrency }, (_, i) => i % KEYS)
    const many = (one: (id: number) => Promise<unknown>) => () => Promise.all(ids.map(one))
    const handRead = (client: typeof plain) => async (id: number) => JSON.parse((await client.hget(`hand:Book:${id}`, 'owner'))!)
    const contenders: Contender[] = [
      { name: `ioredis HGET + JSON.parse, c=${concurrency}`, run: many(handRead(plain)), perOp: concurrency },
      { name: `ioredis HGET + JSON.parse, auto-pipelining, c=${concurrency}`, run: many(handRead(piped)), perOp: concurrency },
      { name: `@cacheme hit, c=${concurrency}`, run: many(id => serializer.owner(id)), perOp: concurrency, before: usePlain },
      { name: `@cacheme hit, auto-pipelining, c=${concurrency}`, run: many(id => serializer.owner(id)), perOp: concurrency, before: usePiped },
    ]
    const results = await compare(contenders, { rounds: 5, time: 250 })
    sections.push({
      title: `Hit path, concurrency ${concurrency}`,
      description:
        concurrency === 1
          ? 'One warm call at a time: a decorated method (one EVALSHA of read.lua: the value and the invalidation sequence) against the best hand-written read of the same JSON (HGET + JSON.parse).'
          : `${concurrency} warm calls in flight (Promise.all over ${concurrency} keys); time per call is the batch time divided by ${concurrency}.`,
      reference: contenders[0].name,
      results,
    })
  }
  await usePlain()
  return sections
}

if (require.main === module) void runAlone(hitWorkload)
