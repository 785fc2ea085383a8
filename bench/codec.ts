import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { BaseCache } from '../src'
import type { ChapterSummary, Person } from '../examples/bookstore/serializer'
import { compare, formatUs, roundRatio, runAlone, type BenchRedis, type Contender, type Measured, type Section, type Verdict } from './harness'
import { ensurePeersInstalled, PEERS_DIR } from './peers/install'

// The shape used from msgpackr (under bench/peers), written here so that type checking does not need it installed.
interface Packr {
  pack(value: unknown): Buffer
  unpack(buffer: Buffer): unknown
}
interface MsgpackrModule extends Packr {
  Packr: new (options: { useRecords: boolean }) => Packr
  isNativeAccelerationEnabled: boolean
}

/** msgpackr decode must beat JSON.parse by this much, and a GET + decode by READ_WIN at both concurrencies, to replace the stored JSON. */
const DECODE_WIN = 1.5
const READ_WIN = 1.2
/** About this many values are encoded or decoded per measured run, so that the run's own overhead is negligible. */
const VALUES_PER_RUN = 100

// Seed-like catalogue: same shapes as examples/bookstore (names, titles, 3 chapters, 2 to 4 readers), deterministic.
const FIRST = ['Ada', 'Alan', 'Barbara', 'Claude', 'Donald', 'Edsger', 'Frances', 'Grace', 'Hedy', 'Ivan', 'Katherine', 'Leslie']
const LAST = ['Abbott', 'Baker', 'Carter', 'Diaz', 'Evans', 'Fischer', 'Garcia']
const WORDS = ['Silent', 'Distributed', 'Lazy', 'Eventual', 'Hidden', 'Atomic', 'Stale', 'Concurrent', 'Garden', 'River', 'Lighthouse', 'Protocol']
const person = (id: number): Person => ({ id, name: `${FIRST[id % FIRST.length]} ${LAST[id % LAST.length]}` })
const book = (id: number) => ({
  id,
  title: `The ${WORDS[id % WORDS.length]} ${WORDS[(id * 5 + 3) % WORDS.length]}`,
  ownerId: 1 + ((id * 37) % 200),
  chapterIds: [1, 2, 3].map(k => 3 * id - 3 + k),
})
const chapters = (id: number): ChapterSummary => {
  const pages = [1, 2, 3].map(k => 5 + ((id * 7 + k * 13) % 40))
  return { count: 3, pages: pages.reduce((a, b) => a + b, 0), titles: ['Chapter 1', 'Chapter 2', 'Chapter 3'] }
}
const readers = (id: number): Person[] => Array.from({ length: 2 + (id % 3) }, (_, k) => person(1 + ((id * 53 + k * 71) % 200)))

/** A book as the example's BookstoreCache serializer stores it: owner and chapters as PK / PKList references. */
function instance(cache: BaseCache, id: number) {
  const { title, ownerId, chapterIds } = book(id)
  return Object.fromEntries([['id', id], ['title', title], cache.fieldToJson('PK', 'owner', 'User', ownerId), cache.fieldToJson('PKList', 'chapters', 'Chapter', chapterIds)])
}

interface Payload {
  readonly name: string
  readonly title: string
  /** Stored values, each under its own key (as cacheme and the instance cache store them). */
  readonly values: unknown[]
  readonly note?: string
}

interface Codec {
  readonly encode: string
  readonly decode: string
  readonly pack: (value: unknown) => string | Buffer
  readonly unpack: (stored: never) => unknown
}

const versus = (ratio: number) => (ratio < 1 ? `msgpackr ${(1 / ratio).toFixed(2)}× faster` : `JSON ${ratio.toFixed(2)}× faster`)

export async function codecWorkload(redis: BenchRedis): Promise<Section[]> {
  ensurePeersInstalled()
  const msgpackr = createRequire(path.join(PEERS_DIR, 'package.json'))('msgpackr') as MsgpackrModule
  const version = JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', 'msgpackr', 'package.json'), 'utf8')).version as string
  const packr = new msgpackr.Packr({ useRecords: false })
  const json: Codec = { encode: 'JSON.stringify', decode: 'JSON.parse', pack: value => JSON.stringify(value), unpack: (stored: string) => JSON.parse(stored) }
  const codecs: Codec[] = [
    json,
    { encode: 'msgpackr pack', decode: 'msgpackr unpack', pack: value => msgpackr.pack(value), unpack: (stored: Buffer) => msgpackr.unpack(stored) },
    {
      encode: 'msgpackr Packr({ useRecords: false }).pack',
      decode: 'msgpackr Packr({ useRecords: false }).unpack',
      pack: value => packr.pack(value),
      unpack: (stored: Buffer) => packr.unpack(stored),
    },
  ]
  const cache = new BaseCache()
  const payloads: Payload[] = [
    {
      name: 'catalogue',
      title: 'a @cacheme catalogue entry (owner, chapters, readers of one book)',
      values: [person(book(17).ownerId), chapters(17), readers(17)],
      note: ' cacheme reads these as fields of one hash (HGET each); the command is the same for both codecs.',
    },
    { name: 'instance', title: 'one BaseCache book instance', values: [instance(cache, 17)] },
    { name: 'page', title: 'a page of 100 BaseCache book instances', values: Array.from({ length: 100 }, (_, i) => instance(cache, i + 1)) },
  ]
  const client = redis.client()
  const sections: Section[] = []
  for (const payload of payloads) {
    const { values } = payload
    // Copies: pack returns views of msgpackr's reused buffer.
    const copy = (encoded: string | Buffer) => (typeof encoded === 'string' ? encoded : Buffer.from(encoded))
    const stored = codecs.map(codec => values.map(value => copy(codec.pack(value))))
    const bytes = stored.map(encoded => encoded.reduce((sum, e) => sum + Buffer.byteLength(e), 0))
    codecs.forEach((codec, c) => {
      if (JSON.stringify(stored[c].map(e => codec.unpack(e as never))) !== JSON.stringify(values))
        throw new Error(`codec: ${codec.decode} does not give back the ${payload.name} payload`)
    })
    const keys = values.map((_, i) => `bench:codec:${payload.name}:${i}`)
    const packedKeys = keys.map(key => `${key}:msgpackr`)
    await client.mset(keys.flatMap((key, i) => [key, stored[0][i], packedKeys[i], stored[1][i]]))

    const repeat = Math.max(1, Math.round(VALUES_PER_RUN / values.length))
    const loop = (one: () => unknown) => async () => {
      for (let r = 0; r < repeat; r++) one()
    }
    const extra = (c: number) => ({ 'encoded size': `${bytes[c]} B` })
    const contenders: (Contender & { codec: number; group: string })[] = [
      ...codecs.map((codec, c) => ({ name: `encode: ${codec.encode}`, run: loop(() => values.map(codec.pack)), perOp: repeat, codec: c, group: 'encode' })),
      ...codecs.map((codec, c) => ({ name: `decode: ${codec.decode}`, run: loop(() => stored[c].map(e => codec.unpack(e as never))), perOp: repeat, codec: c, group: 'decode' })),
    ]
    const one = keys.length === 1
    const read = one ? 'GET' : 'MGET'
    for (const concurrency of [1, 64]) {
      const many = (call: () => Promise<unknown>) => () => Promise.all(Array.from({ length: concurrency }, call))
      const readJson = async () => (one ? [await client.get(keys[0])] : await client.mget(keys)).map(s => JSON.parse(s!))
      const readPacked = async () => (one ? [await client.getBuffer(packedKeys[0])] : await client.mgetBuffer(packedKeys)).map(b => msgpackr.unpack(b!))
      const group = `read c=${concurrency}`
      contenders.push(
        { name: `${read} + JSON.parse, c=${concurrency}`, run: many(readJson), perOp: concurrency, codec: 0, group },
        { name: `${one ? 'getBuffer' : 'mgetBuffer'} + msgpackr unpack, c=${concurrency}`, run: many(readPacked), perOp: concurrency, codec: 1, group },
      )
    }

    const results = await compare(contenders, { rounds: 5, time: 200 })
    await client.del(...keys, ...packedKeys)
    const reference = (group: string) => results[contenders.findIndex(c => c.group === group && c.codec === 0)]
    const measured: Measured[] = results.map((r, i) => ({ ...r, ratio: roundRatio(r, reference(contenders[i].group)), extra: extra(contenders[i].codec) }))
    const ratioOf = (group: string, codec: number) => measured[contenders.findIndex(c => c.group === group && c.codec === codec)].ratio
    const decode = Math.min(ratioOf('decode', 1), ratioOf('decode', 2))
    const [read1, read64] = [ratioOf('read c=1', 1), ratioOf('read c=64', 1)]
    const wins = decode <= 1 / DECODE_WIN && read1 <= 1 / READ_WIN && read64 <= 1 / READ_WIN
    const reads = `${read} + decode ${versus(read1)} at c=1, ${versus(read64)} at c=64`
    const verdict: Verdict = {
      target: `serializer of ${payload.title}: JSON unless msgpackr decodes ≥ ${DECODE_WIN}× and a read (${read} + decode) ≥ ${READ_WIN}× faster at c=1 and c=64`,
      measured: `msgpackr decode ${decode.toFixed(2)}× JSON.parse's time (${formatUs(reference('decode').medianUs)}), ${read} + decode ${read1.toFixed(2)}× at c=1, ${read64.toFixed(2)}× at c=64; ${bytes[1]} B vs ${bytes[0]} B`,
      met: !wins,
      verdict: wins
        ? `switch to msgpackr: decode ${versus(decode)}, ${reads}`
        : decode > 1 / DECODE_WIN
          ? `keep JSON: msgpackr decode is not clearly faster (${versus(decode)})`
          : `keep JSON: msgpackr decodes ${(1 / decode).toFixed(2)}× faster, but ${reads}`,
    }
    sections.push({
      title: `Codec: ${payload.title}`,
      description: `The serializer choice on what the bookstore caches: JSON (what cacheme stores) against msgpackr ${version} (native acceleration ${msgpackr.isNativeAccelerationEnabled ? 'on' : 'off'}). The payload is ${values.length} value${one ? '' : 's'} shaped as examples/bookstore stores ${one ? 'it' : 'them'}; encode and decode times are per payload (all its values). Reads: each value under its own key, fetched with one ${read} as a string or a Buffer, then decoded, c concurrent reads. Each ratio is to the JSON row of its group (encode, decode, read at one concurrency), all measured in one compare run.${payload.note ?? ''}`,
      reference: `encode: ${json.encode}`,
      results: measured,
      extraColumns: ['encoded size'],
      notes:
        payload.name === 'catalogue'
          ? [
              'The stored form stays JSON text unless msgpackr wins clearly: the instance cache’s MGET consumers read it as text, `cacheme inspect` decodes it, and cacheme’s envelope header (`<fresh until>[+<grace>]|`) is text before the payload. The sizes leave out that header.',
              'msgpackr’s `pack` is its default `Packr`, itself `useRecords: false`, so its two rows measure one encoding: their difference is noise.',
            ]
          : [],
      chart: false,
      verdicts: [verdict],
    })
  }
  return sections
}

if (require.main === module) void runAlone(codecWorkload)
