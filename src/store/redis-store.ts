import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import type { EntryRef, KeyLayout } from '../keys'
import { open, seal } from './envelope'
import { GUARD_TTL_MS, guardsOf, type ReadResult, type Store, type WriteRequest } from './store'

/** Members removed per script call: large sets are emptied in steps so Redis keeps serving others. */
const POP_BATCH = 500
const SCAN_COUNT = 1000

type Client = Redis | Cluster

/** The scripts, registered on the client with defineCommand so they ride pipelines and EVALSHA. */
interface ScriptCommands {
  cachemeRead(entry: string, seq: string, field: string): Promise<[string | null, string | null]>
  cachemeWrite(numberOfKeys: number, ...args: (string | number)[]): Promise<number>
  cachemeRaiseGuards(numberOfKeys: number, ...args: (string | number)[]): Promise<number>
  cachemePopSets(numberOfKeys: number, ...args: (string | number)[]): Promise<[number, number]>
  cachemeLiveMembers(set: string, now: number): Promise<string[]>
}

const SCRIPTS: Record<keyof ScriptCommands, { file: string; numberOfKeys?: number }> = {
  cachemeRead: { file: 'read.lua', numberOfKeys: 2 },
  cachemeWrite: { file: 'write.lua' },
  cachemeRaiseGuards: { file: 'raise-guards.lua' },
  cachemePopSets: { file: 'pop-sets.lua' },
  cachemeLiveMembers: { file: 'live-members.lua', numberOfKeys: 1 },
}

function defineScripts(client: Client): Client & ScriptCommands {
  const target = client as Client & Partial<ScriptCommands>
  for (const [name, { file, numberOfKeys }] of Object.entries(SCRIPTS)) {
    if (typeof (target as unknown as Record<string, unknown>)[name] === 'function') continue
    const lua = readFileSync(join(__dirname, 'scripts', file), 'utf8')
    client.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys })
  }
  return target as Client & ScriptCommands
}

/** The Redis backend: one script call per read and per write, all of it atomic on the server. */
export class RedisStore implements Store {
  readonly #client: Client & ScriptCommands
  readonly #owned: boolean

  /** `owned`: the store created the client and quits it on close. */
  constructor(client: Client, readonly layout: KeyLayout, owned = false) {
    this.#client = defineScripts(client)
    this.#owned = owned
  }

  get client(): Client {
    return this.#client
  }

  async read(entry: EntryRef): Promise<ReadResult> {
    const [stored, seq] = await this.#client.cachemeRead(entry.key, this.layout.seq, entry.field ?? '')
    return { value: stored === null ? undefined : open(stored), seq: seq === null ? 0 : Number(seq) }
  }

  async write({ entry, value, ttlMs, sets, seq }: WriteRequest): Promise<boolean> {
    const guards = guardsOf(this.layout, entry, sets)
    const written = await this.#client.cachemeWrite(
      1 + sets.length + guards.length,
      entry.key, ...sets, ...guards,
      entry.field ?? '', seal(value, ttlMs), ttlMs, seq, sets.length, entry.full,
    )
    return written === 1
  }

  async invalidateSets(sets: readonly string[]): Promise<number> {
    if (sets.length === 0) return 0
    await this.#raise(sets.map(set => this.layout.gen(set)))
    let deleted = 0
    for (let left = 1; left > 0;) {
      const [removed, remaining] = await this.#client.cachemePopSets(sets.length, ...sets, POP_BATCH)
      deleted += removed
      left = remaining
    }
    return deleted
  }

  async deleteEntries(entries: readonly EntryRef[]): Promise<number> {
    if (entries.length === 0) return 0
    await this.#raise(entries.map(entry => this.layout.gen(entry.full)))
    const pipeline = this.#client.pipeline()
    for (const { key, field } of entries) {
      if (field === undefined) pipeline.del(key)
      else pipeline.hdel(key, field)
    }
    const results = (await pipeline.exec()) ?? []
    let deleted = 0
    for (const [error, count] of results) {
      if (error) throw error
      deleted += Number(count)
    }
    return deleted
  }

  async deleteMatching(pattern: string): Promise<number> {
    await this.#raise([this.layout.everythingGen])
    const match = this.layout.pattern(pattern)
    let deleted = 0
    let cursor = '0'
    do {
      const [next, names] = await (this.#client as Redis).scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT)
      cursor = next
      const entries = names.filter(name => this.layout.isEntryName(name))
      if (entries.length > 0) deleted += await this.#client.unlink(...entries)
    } while (cursor !== '0')
    return deleted
  }

  liveMembers(set: string): Promise<string[]> {
    return this.#client.cachemeLiveMembers(set, Date.now())
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit()
  }

  #raise(guards: string[]): Promise<number> {
    return this.#client.cachemeRaiseGuards(1 + guards.length, this.layout.seq, ...guards, GUARD_TTL_MS)
  }
}
