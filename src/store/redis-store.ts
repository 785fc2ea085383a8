import { randomUUID } from 'node:crypto'
import type { ChainableCommander, Cluster, Redis } from 'ioredis'
import type { EntryRef, KeyLayout } from '../keys'
import { closeClient } from './close-client'
import { open, seal } from './envelope'
import { scanKeys } from './key-scan'
import { deleteMatchingFields, pruneInSteps } from './scan-steps'
import { ReadBatcher } from './read-batcher'
import { readAlone } from './read-alone'
import { CONTAINERS, ENTRY_INVALIDATION, LIVENESS, PLAIN_ENTRIES, SEQUENCE, defineScripts, type ScriptDefinition } from './script-registry'
import { GUARD_TTL_MS, LAZY_PRUNE_MIN_SIZE, LAZY_PRUNE_SAMPLE, gcBatchSize, guardsOf, lifetime } from './store'
import type { GcOptions, GcReport, InvalidateOptions, ManyRead, ManyWrite, ReadResult, Store, WriteRequest } from './store'

/**
 * A large invalidation goes in steps so that Redis keeps serving others between them, each step one
 * script call of at most this many sets (or entries) and popped members: about a millisecond of
 * server time, and never more arguments than a call can carry.
 */
export const SETS_PER_STEP = 128
export const MEMBERS_PER_STEP = 256
export const ENTRIES_PER_STEP = 256
const SCAN_COUNT = 1000

type Client = Redis | Cluster

/** The scripts, registered on the client with defineCommand so they ride pipelines and EVALSHA. */
interface ScriptCommands {
  cachemeWrite(numberOfKeys: number, ...args: (string | number)[]): Promise<number>
  cachemeRaiseGuards(numberOfKeys: number, ...args: (string | number)[]): Promise<number>
  /** One step of invalidateSets: resolves to [its sequence, entries invalidated, sets emptied]. */
  cachemePopSets(numberOfKeys: number, ...args: (string | number)[]): Promise<[number, number, number]>
  /** One step of deleteEntries: resolves to [its sequence, entries deleted]. */
  cachemeDeleteEntries(numberOfKeys: number, ...args: (string | number)[]): Promise<[number, number]>
  cachemeLiveMembers(set: string, now: number): Promise<string[]>
  cachemeReleaseLease(lease: string, token: string): Promise<number>
  cachemeWriteMany(numberOfKeys: number, ...args: (string | number)[]): Promise<number>
  /** One SSCAN / HSCAN page of gc: resolves to [next cursor, members or fields removed]. */
  cachemePruneSet(set: string, now: number, cursor: string, count: number): Promise<[string, number]>
  cachemePruneHash(hash: string, now: number, cursor: string, count: number): Promise<[string, number]>
}

const SCRIPTS: Record<keyof ScriptCommands, ScriptDefinition> = {
  cachemeWrite: { file: 'write.lua', uses: [LIVENESS, CONTAINERS] },
  cachemeRaiseGuards: { file: 'raise-guards.lua', uses: [SEQUENCE] },
  cachemePopSets: { file: 'pop-sets.lua', uses: [SEQUENCE, LIVENESS, CONTAINERS, ENTRY_INVALIDATION] },
  cachemeDeleteEntries: { file: 'delete-entries.lua', uses: [SEQUENCE] },
  cachemeLiveMembers: { file: 'live-members.lua', numberOfKeys: 1, uses: [LIVENESS] },
  cachemeReleaseLease: { file: 'release-lease.lua', numberOfKeys: 1 },
  cachemeWriteMany: { file: 'write-many.lua', uses: [PLAIN_ENTRIES] },
  cachemePruneSet: { file: 'prune-set.lua', numberOfKeys: 1, uses: [LIVENESS] },
  cachemePruneHash: { file: 'prune-hash.lua', numberOfKeys: 1, uses: [LIVENESS] },
}

/** A batched read as the store answers it: the envelope opened (a dead value is a miss). */
function opened(stored: string | null, seq: number): ReadResult {
  const found = typeof stored === 'string' ? open(stored) : undefined
  return found === undefined ? { value: undefined, stale: false, seq } : { value: found.payload, stale: found.stale, seq }
}

/** The Redis backend: reads batched per turn of the event loop, one script call per write, all of it atomic on the server. */
export class RedisStore implements Store {
  readonly #client: Client & ScriptCommands
  readonly #owned: boolean
  /** Undefined on a Cluster, whose pipelines must stay within one slot: each read is sent alone there. */
  readonly #batcher: ReadBatcher<ReadResult> | undefined

  /** `owned`: the store created the client and quits it on close. */
  constructor(
    client: Client,
    readonly layout: KeyLayout,
    owned = false,
  ) {
    this.#client = defineScripts<ScriptCommands>(client, SCRIPTS)
    this.#owned = owned
    this.#batcher = client.isCluster ? undefined : new ReadBatcher(client as Redis, layout.seq, opened)
  }

  get client(): Client {
    return this.#client
  }

  /** One round trip: the value and the sequence come back together (see ReadBatcher). */
  read(entry: EntryRef): Promise<ReadResult> {
    return this.#batcher === undefined ? readAlone(this.#client, this.layout, entry) : this.#batcher.read(entry)
  }

  async write({ entry, value, ttlMs, graceMs = 0, sets, seq }: WriteRequest): Promise<boolean> {
    const guards = guardsOf(this.layout, entry, sets)
    const now = Date.now()
    const written = await this.#client.cachemeWrite(
      2 + sets.length + guards.length,
      entry.key,
      ...sets,
      ...guards,
      this.layout.seq,
      entry.field ?? '',
      seal(value, ttlMs, graceMs, now),
      lifetime(ttlMs, graceMs),
      seq,
      sets.length,
      entry.full,
      now,
      LAZY_PRUNE_SAMPLE,
      LAZY_PRUNE_MIN_SIZE,
    )
    return written === 1
  }

  /** One MGET: the sequence rides along as its last key. */
  async readMany(keys: readonly string[]): Promise<ManyRead> {
    const values = await this.#client.mget(...keys, this.layout.seq)
    const seq = values.pop()
    return { values: values.map(value => value ?? undefined), seq: seq == null ? 0 : Number(seq) }
  }

  /** One round trip: the guards are raised before the read, in one pipeline. */
  async claimMany(keys: readonly string[]): Promise<ManyRead> {
    const pipeline = this.#client.pipeline() as ChainableCommander & { cachemeRaiseGuards(numberOfKeys: number, ...args: (string | number)[]): ChainableCommander }
    const results = await pipeline
      .cachemeRaiseGuards(1 + keys.length, this.layout.seq, ...keys.map(key => this.layout.guard(key)), GUARD_TTL_MS)
      .mget(...keys)
      .exec()
    const [[raiseError, seq], [readError, values]] = results as [[Error | null, number], [Error | null, (string | null)[]]]
    if (raiseError || readError) throw raiseError ?? readError
    return { values: values.map(value => value ?? undefined), seq: Number(seq) }
  }

  async writeMany(writes: readonly ManyWrite[], seq: number): Promise<number> {
    if (writes.length === 0) return 0
    const keys = writes.flatMap(({ key }) => [key, this.layout.guard(key)])
    const values = writes.flatMap(({ value, ttlMs }) => [value ?? '', ttlMs])
    return this.#client.cachemeWriteMany(2 + keys.length, this.layout.seq, this.layout.everythingGuard, ...keys, seq, ...values)
  }

  /**
   * In steps of at most SETS_PER_STEP sets and MEMBERS_PER_STEP members: the first raises the
   * sequence, and every step stamps the guards of its sets with that one sequence before it pops
   * them, so a large invalidation neither blocks Redis nor raises the sequence more than once.
   */
  async invalidateSets(sets: readonly string[], { grace = true, onProgress }: InvalidateOptions = {}): Promise<number> {
    let seq = 0
    let invalidated = 0
    for (let done = 0; done < sets.length;) {
      const step = sets.slice(done, done + SETS_PER_STEP)
      const keys = step.flatMap(set => [set, this.layout.guard(set)])
      const [raised, removed, emptied] = await this.#client.cachemePopSets(
        1 + keys.length,
        this.layout.seq,
        ...keys,
        seq,
        GUARD_TTL_MS,
        MEMBERS_PER_STEP,
        Date.now(),
        grace ? 1 : 0,
      )
      seq = raised
      invalidated += removed
      done += emptied
      onProgress?.(done)
    }
    return invalidated
  }

  /** In steps of at most ENTRIES_PER_STEP entries, sharing one sequence as invalidateSets' steps do. */
  async deleteEntries(entries: readonly EntryRef[], { onProgress }: Pick<InvalidateOptions, 'onProgress'> = {}): Promise<number> {
    let seq = 0
    let deleted = 0
    for (let done = 0; done < entries.length; done += ENTRIES_PER_STEP) {
      const step = entries.slice(done, done + ENTRIES_PER_STEP)
      const keys = step.flatMap(({ key, full }) => [key, this.layout.guard(full)])
      const [raised, removed] = await this.#client.cachemeDeleteEntries(1 + keys.length, this.layout.seq, ...keys, seq, GUARD_TTL_MS, ...step.map(({ field }) => field ?? ''))
      seq = raised
      deleted += removed
      onProgress?.(done + step.length)
    }
    return deleted
  }

  /** A pattern without `>` unlinks whole keys; one with `>` deletes the matching fields of the matching hashes (KeyLayout.match). */
  async deleteMatching(pattern: string, { onProgress }: Pick<InvalidateOptions, 'onProgress'> = {}): Promise<number> {
    const { keys, field } = this.layout.match(pattern, 'deleteMatching')
    await this.#raise([this.layout.everythingGuard])
    let deleted = 0
    for await (const names of this.#scan(keys, SCAN_COUNT, field === undefined ? undefined : 'hash')) {
      const entries = names.filter(name => this.layout.isEntryName(name))
      if (field !== undefined) {
        for (const hash of entries) deleted += await deleteMatchingFields(this.#client, hash, field, onProgress)
      } else if (entries.length > 0) {
        deleted += await this.#client.unlink(...entries)
      }
      onProgress?.()
    }
    return deleted
  }

  liveMembers(set: string): Promise<string[]> {
    return this.#client.cachemeLiveMembers(set, Date.now())
  }

  async acquireLease(name: string, ms: number): Promise<string | undefined> {
    const token = randomUUID()
    return (await this.#client.set(name, token, 'PX', ms, 'NX')) === 'OK' ? token : undefined
  }

  async releaseLease(name: string, token: string): Promise<void> {
    await this.#client.cachemeReleaseLease(name, token)
  }

  async incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void> {
    const pipeline = this.#client.pipeline()
    for (const [tag, counters] of deltas) {
      for (const [counter, amount] of Object.entries(counters)) {
        if (amount !== 0) pipeline.hincrbyfloat(this.layout.statsHash(tag), counter, amount)
      }
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error
  }

  async gc(options?: GcOptions): Promise<GcReport> {
    const batch = gcBatchSize(options)
    let sets = 0
    let membersRemoved = 0
    let fieldsRemoved = 0
    const everything = this.layout.pattern('*')
    for await (const names of this.#scan(everything, batch, 'set')) {
      const indexSets = names.filter(name => this.layout.isIndexSet(name))
      sets += indexSets.length
      membersRemoved += await pruneInSteps(indexSets, (set, cursor) => this.#client.cachemePruneSet(set, Date.now(), cursor, batch))
    }
    for await (const names of this.#scan(everything, batch, 'hash')) {
      const hashes = names.filter(name => this.layout.isEntryName(name))
      fieldsRemoved += await pruneInSteps(hashes, (hash, cursor) => this.#client.cachemePruneHash(hash, Date.now(), cursor, batch))
    }
    return { sets, membersRemoved, fieldsRemoved }
  }

  async close(): Promise<void> {
    if (!this.#owned) return
    await closeClient(this.#client)
  }

  /** The names matching a glob (of one type if given), a SCAN page at a time, empty pages included: each is a step. */
  async *#scan(match: string, count: number, type?: 'set' | 'hash'): AsyncGenerator<string[]> {
    for await (const { names } of scanKeys(this.#client, match, count, type)) yield names
  }

  #raise(guards: string[]): Promise<number> {
    return this.#client.cachemeRaiseGuards(1 + guards.length, this.layout.seq, ...guards, GUARD_TTL_MS)
  }
}
