import { cacheme } from '../src'
import {
  commandStats,
  compare,
  describeCommands,
  formatUs,
  roundRatio,
  runAlone,
  statsDelta,
  useCacheme,
  type BenchRedis,
  type Contender,
  type Measured,
  type Section,
  type Verdict,
} from './harness'
import { startPeers, type Peer } from './peer-libraries'

const KEYS = 64
/** The share of the best raw read's calls per second a hit reaches at least, at the concurrency with verdicts. */
const RAW_READ_TARGET = 0.85
const VERDICT_CONCURRENCY = 64
/** A lone hit costs at most this many times the raw read at c=1. */
const LONE_READ_TARGET = 1.1

/** A serializer method as an application would write it; warm, so it is never called. */
class BookSerializer {
  @cacheme({ key: c => `Book:${c.id}>owner`, invalidKeys: c => [`User:${c.id}`] })
  async owner(id: number) {
    return ownerOf(id)
  }
}

export const ownerOf = (id: number) => ({ id, name: `user ${id}`, email: `user${id}@example.com`, roles: ['reader'] })

export async function hitWorkload(redis: BenchRedis): Promise<Section[]> {
  const plain = redis.client()
  const piped = redis.client({ enableAutoPipelining: true })
  const admin = redis.client()
  const peers = await startPeers(redis)
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
  // Each peer holds the same 64 values under the same key (in its own key space), with User:<id> as the tag of the tagging one.
  const peerRead = (peer: (typeof peers)[number]) => (id: number) => peer.cached(`Book:${id}>owner`, async () => ownerOf(id), `User:${id}`)
  for (const peer of peers) {
    for (let id = 0; id < KEYS; id++) await peerRead(peer)(id)
    if (JSON.stringify(await peerRead(peer)(3)) !== JSON.stringify(expected)) throw new Error(`hit: ${peer.name} and the hand-written read disagree`)
  }

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
      ...peers.map(peer => ({ name: `${peer.name}, c=${concurrency}`, run: many(peerRead(peer)), perOp: concurrency })),
    ]

    // Commands per call, from the server's INFO commandstats around batches of each contender alone (after one to load scripts).
    const commands: Record<string, string> = {}
    for (const contender of contenders) {
      await contender.before?.()
      await contender.run()
      const batches = Math.ceil(256 / concurrency)
      const before = await commandStats(admin)
      for (let i = 0; i < batches; i++) await contender.run()
      commands[contender.name] = describeCommands(statsDelta(before, await commandStats(admin)), batches * concurrency)
    }

    const results = await compare(contenders, { rounds: 5, time: 250 })
    sections.push({
      title: `Hit path, concurrency ${concurrency}`,
      description:
        concurrency === 1
          ? 'One warm call at a time: a decorated method (its read and the invalidation sequence in one round trip) against the best hand-written read of the same JSON (HGET + JSON.parse), and the peer libraries reading the same JSON value, each with its own connection to the same Redis (BentoCache with its Redis tier only, no memory tier; cache-manager 7 with a @keyv/redis store; type-cacheable with its ioredis adapter). The last column counts the commands Redis ran per call.'
          : `${concurrency} warm calls in flight (Promise.all over ${concurrency} keys); time per call is the batch time divided by ${concurrency}.`,
      reference: contenders[0].name,
      results: results.map(r => ({ ...r, extra: { 'Redis commands per call (INFO commandstats)': commands[r.name] } })),
      extraColumns: ['Redis commands per call (INFO commandstats)'],
      notes:
        concurrency === 1
          ? ['BentoCache with a tag also reads the tag’s invalidation key on every hit.']
          : [
              `The ${RAW_READ_TARGET} target compares each @cacheme row with the hand-written read on the same client setting, the headline with the faster of the two raw reads; a share of the raw read's calls per second is its time per call / @cacheme's, per round.`,
              'Peers are compared like with like: cache-manager’s client (node-redis, through @keyv/redis) writes the commands issued in one event-loop turn to the socket together by default, as ioredis does with enableAutoPipelining, so its verdict compares `@cacheme hit, auto-pipelining`; BentoCache and type-cacheable use plain ioredis clients, so theirs compare the default `@cacheme hit` row.',
            ],
      verdicts: concurrency === VERDICT_CONCURRENCY ? hitVerdicts(concurrency, results, peers) : loneReadVerdict(results),
    })
  }
  await usePlain()
  for (const peer of peers) await peer.close()
  return sections
}

/**
 * A lone read waits for the end of its tick before it is sent with whatever else that tick read
 * (ReadBatcher): at c=1 that wait must not show beside the round trip.
 */
function loneReadVerdict([raw, , cachemePlain]: Measured[]): Verdict[] {
  const ratio = roundRatio(cachemePlain, raw)
  const met = ratio <= LONE_READ_TARGET
  return [
    {
      target: `a lone @cacheme hit (c=1, default client) ≤ ${LONE_READ_TARGET}× the raw read's time: batching adds no latency beyond its turn`,
      measured: `@cacheme time / raw time = ${ratio.toFixed(2)} (${formatUs(cachemePlain.medianUs)} vs ${formatUs(raw.medianUs)} per call)`,
      met,
      verdict: met ? 'yes' : `no, ${ratio.toFixed(2)}×`,
    },
  ]
}

/** `results` in the order of the contenders: the two raw reads, @cacheme default and auto-pipelining, then the peers. */
function hitVerdicts(concurrency: number, results: Measured[], peers: Peer[]): Verdict[] {
  const [raw, rawPiped, cachemePlain, cachemePiped, ...peerResults] = results
  const row = (result: Measured) => result.name.replace(/, c=\d+$/, '')

  const settings = [
    { raw, cacheme: cachemePlain },
    { raw: rawPiped, cacheme: cachemePiped },
  ]
  // The faster raw read first: its verdict is the headline.
  if (roundRatio(rawPiped, raw) < 1) settings.reverse()
  const versusRaw = settings.map(({ raw, cacheme }, i): Verdict => {
    const share = roundRatio(raw, cacheme)
    const met = share >= RAW_READ_TARGET
    return {
      target: `${row(cacheme)} at c=${concurrency} ≥ ${RAW_READ_TARGET} of ${i === 0 ? `the best raw ioredis read (${row(raw)})` : row(raw)}`,
      measured: `raw time / @cacheme time = ${share.toFixed(2)} (${formatUs(raw.medianUs)} vs ${formatUs(cacheme.medianUs)} per call)`,
      met,
      verdict: met ? 'yes' : `no, ${share.toFixed(2)}`,
    }
  })

  const versusPeers = peerResults.map((peer, i) => {
    const cacheme = peers[i].pipelines ? cachemePiped : cachemePlain
    return { peer, cacheme, ratio: roundRatio(cacheme, peer) }
  })
  const worst = versusPeers.reduce((a, b) => (b.ratio > a.ratio ? b : a))
  const verdict = (ratio: number) => (ratio <= 1 ? 'yes' : `no, ${ratio.toFixed(2)}× slower`)
  return [
    ...versusRaw,
    {
      target: `@cacheme hit at c=${concurrency} ≥ 1.0 of every peer (its time per call ≤ each peer's, same client setting)`,
      measured: `@cacheme time / peer time, worst: ${worst.ratio.toFixed(2)}× (${row(worst.peer)} vs ${row(worst.cacheme)})`,
      met: worst.ratio <= 1,
      verdict: verdict(worst.ratio),
    },
    ...versusPeers.map(({ peer, cacheme, ratio }) => ({
      target: `@cacheme hit at c=${concurrency} ≥ 1.0 of ${row(peer)}`,
      measured: `${row(cacheme)} time / peer time = ${ratio.toFixed(2)}×`,
      met: ratio <= 1,
      verdict: verdict(ratio),
    })),
  ]
}

if (require.main === module) void runAlone(hitWorkload)
