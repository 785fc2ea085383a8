import { randomUUID } from 'node:crypto'
import { CachemeError } from '../errors'
import type { EntryRef, KeyLayout } from '../keys'
import { open, seal, staleFrom } from './envelope'
import { globToRegExp } from './glob'
import { MemoryKeyspace, expiryAfter } from './memory-keyspace'
import { GUARD_TTL_MS, LAZY_PRUNE_MIN_SIZE, LAZY_PRUNE_SAMPLE, gcBatchSize, guardsOf, lifetime } from './store'
import type { GcOptions, GcReport, InvalidateOptions, ManyRead, ManyWrite, ReadResult, Store, WriteRequest } from './store'

const DEFAULT_SWEEP_INTERVAL_MS = 60_000

export interface MemoryStoreOptions {
  /** How often expired values are purged even if nobody reads them. */
  readonly sweepIntervalMs?: number
}

/**
 * The embedded backend: RedisStore and its scripts, step for step, over a keyspace in process
 * memory laid out as RedisStore lays out Redis (sharing one namespace keeps name clashes and
 * pattern matches identical). Every method does its work synchronously, so each is atomic with
 * respect to the others, as a Lua script is on the server.
 */
export class MemoryStore implements Store {
  readonly #keys = new MemoryKeyspace()
  #seq = 0
  #sweeper: NodeJS.Timeout | undefined

  constructor(
    readonly layout: KeyLayout,
    options: MemoryStoreOptions = {},
  ) {
    const interval = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS
    if (!(interval > 0) || !Number.isFinite(interval)) {
      throw new CachemeError('INVALID_CONFIG', `sweepIntervalMs must be a positive number of milliseconds, got ${interval}`)
    }
    this.#sweeper = setInterval(() => this.#purge(Date.now()), interval)
    // The sweep is housekeeping: it must not keep the process alive.
    this.#sweeper.unref()
  }

  /** Values held (entries, hash fields, set members, guards), counting expired ones not yet purged. */
  get size(): number {
    return this.#keys.size
  }

  async read(entry: EntryRef): Promise<ReadResult> {
    const now = Date.now()
    const stored = this.#value(entry, now)
    const opened = stored === undefined ? undefined : open(stored, now)
    return { value: opened?.payload, stale: opened?.stale ?? false, seq: this.#seq }
  }

  /** Mirrors write.lua. */
  async write({ entry, value: payload, ttlMs, graceMs = 0, sets, seq }: WriteRequest): Promise<boolean> {
    const now = Date.now()
    if (guardsOf(this.layout, entry, sets).some(guard => this.#raisedAfter(guard, seq, now))) return false
    const value = seal(payload, ttlMs, graceMs, now)
    const expiresAt = expiryAfter(lifetime(ttlMs, graceMs), now)
    if (entry.field === undefined) {
      this.#keys.set(entry.key, value, expiresAt)
    } else {
      this.#pruneFieldsSample(entry.key, now)
      this.#keys.hset(entry.key, entry.field, value, expiresAt, now)
    }
    for (const set of sets) {
      this.#pruneMembersSample(set, now)
      this.#keys.sadd(set, entry.full, expiresAt, now)
    }
    return true
  }

  async readMany(keys: readonly string[]): Promise<ManyRead> {
    const now = Date.now()
    return { values: keys.map(key => this.#keys.get(key, now)), seq: this.#seq }
  }

  async claimMany(keys: readonly string[]): Promise<ManyRead> {
    this.#raise(keys.map(key => this.layout.guard(key)))
    return this.readMany(keys)
  }

  /** Mirrors write-many.lua. */
  async writeMany(writes: readonly ManyWrite[], seq: number): Promise<number> {
    const now = Date.now()
    const refuseAll = this.#raisedAfter(this.layout.everythingGuard, seq, now)
    let done = 0
    for (const { key, value, ttlMs } of writes) {
      if (value === undefined) {
        done += this.#keys.del(key, now)
      } else if (!refuseAll && !this.#raisedAfter(this.layout.guard(key), seq, now)) {
        this.#keys.set(key, value, expiryAfter(ttlMs, now))
        done++
      }
    }
    return done
  }

  /** Mirrors pop-sets.lua, with every set and member in one step (one raise of the sequence, as there). */
  async invalidateSets(sets: readonly string[], { grace = true, onProgress }: InvalidateOptions = {}): Promise<number> {
    if (sets.length === 0) return 0
    this.#raise(sets.map(set => this.layout.guard(set)))
    const now = Date.now()
    let invalidated = 0
    for (const set of sets) {
      const members = this.#keys.smembers(set, now)
      this.#keys.del(set, now)
      for (const member of members) {
        const entry = this.layout.entryOfMember(member)
        invalidated += grace && this.#keepStale(entry, now) ? 1 : this.#delete(entry, now)
      }
    }
    onProgress?.(sets.length)
    return invalidated
  }

  /** Mirrors delete-entries.lua, in one step. */
  async deleteEntries(entries: readonly EntryRef[], { onProgress }: Pick<InvalidateOptions, 'onProgress'> = {}): Promise<number> {
    if (entries.length === 0) return 0
    this.#raise(entries.map(entry => this.layout.guard(entry.full)))
    const now = Date.now()
    let deleted = 0
    for (const entry of entries) deleted += this.#delete(entry, now)
    onProgress?.(entries.length)
    return deleted
  }

  /** As RedisStore: whole keys without `>`, the matching fields of the matching hashes with one. */
  async deleteMatching(pattern: string): Promise<number> {
    const { keys, field } = this.layout.match(pattern, 'deleteMatching')
    this.#raise([this.layout.everythingGuard])
    const names = globToRegExp(keys)
    const fields = field === undefined ? undefined : globToRegExp(field)
    const now = Date.now()
    let deleted = 0
    for (const name of this.#keys.scan(now, fields === undefined ? undefined : 'hash')) {
      if (!names.test(name) || !this.layout.isEntryName(name)) continue
      if (fields === undefined) {
        deleted += this.#keys.del(name, now)
        continue
      }
      for (const each of this.#keys.hkeys(name, now)) if (fields.test(each)) deleted += this.#keys.hdel(name, each, now)
    }
    return deleted
  }

  /** Mirrors live-members.lua. */
  async liveMembers(set: string): Promise<string[]> {
    const now = Date.now()
    return this.#pruneMembers(set, this.#keys.smembers(set, now), now).alive
  }

  async acquireLease(name: string, ms: number): Promise<string | undefined> {
    const now = Date.now()
    if (this.#keys.get(name, now) !== undefined) return undefined
    const token = randomUUID()
    this.#keys.set(name, token, now + ms)
    return token
  }

  /** Mirrors release-lease.lua. */
  async releaseLease(name: string, token: string): Promise<void> {
    const now = Date.now()
    if (this.#keys.get(name, now) === token) this.#keys.del(name, now)
  }

  async incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void> {
    const now = Date.now()
    for (const [tag, counters] of deltas) {
      const hash = this.layout.statsHash(tag)
      for (const [counter, amount] of Object.entries(counters)) this.#keys.hincrbyfloat(hash, counter, amount, now)
    }
  }

  async gc(options?: GcOptions): Promise<GcReport> {
    // One synchronous pass, so the batch size has nothing to bound here; it is still checked.
    gcBatchSize(options)
    return this.#purge(Date.now())
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
    this.#keys.clear()
  }

  /** Whether an invalidation stamped `guard` with a sequence later than the one a computation read. */
  #raisedAfter(guard: string, seq: number, now: number): boolean {
    return Number(this.#keys.get(guard, now) ?? 0) > seq
  }

  /** raise-guards.lua: records an invalidation; writes that read an older sequence are refused by these guards. */
  #raise(guards: readonly string[]): void {
    const seq = String(++this.#seq)
    const expiresAt = Date.now() + GUARD_TTL_MS
    for (const guard of guards) this.#keys.set(guard, seq, expiresAt)
  }

  #value(entry: EntryRef, now: number): string | undefined {
    return entry.field === undefined ? this.#keys.get(entry.key, now) : this.#keys.hget(entry.key, entry.field, now)
  }

  /**
   * Keeps a fresh entry that has grace, stale from now for its grace (pop-sets.lua); false if it has
   * none, or if its name holds the other kind (the script reads it under pcall).
   */
  #keepStale(entry: EntryRef, now: number): boolean {
    const stored = this.#keys.holds(entry.key, entry.field, now) ? this.#value(entry, now) : undefined
    const stale = stored === undefined ? undefined : staleFrom(stored, now)
    if (!stale) return false
    const expiresAt = now + stale.graceMs
    if (entry.field === undefined) this.#keys.set(entry.key, stale.sealed, expiresAt)
    else this.#keys.hset(entry.key, entry.field, stale.sealed, expiresAt, now)
    return true
  }

  /**
   * Deletes one entry; returns 1 if it was stored and unexpired. A field of a name that holds a
   * string is not stored: nothing is deleted (the scripts' HDEL runs under pcall).
   */
  #delete(entry: EntryRef, now: number): number {
    if (entry.field === undefined) return this.#keys.del(entry.key, now)
    return this.#keys.holds(entry.key, undefined, now) ? 0 : this.#keys.hdel(entry.key, entry.field, now)
  }

  /** liveness.lua: whether the entry a set member names is stored and unexpired. */
  #isLive(member: string, now: number): boolean {
    const { key, field } = this.layout.entryOfMember(member)
    return this.#keys.holds(key, field, now)
  }

  /** prune_members (liveness.lua): removes the members whose entries are dead. */
  #pruneMembers(set: string, members: readonly string[], now: number): { removed: number; alive: string[] } {
    let removed = 0
    const alive: string[] = []
    for (const member of members) {
      if (this.#isLive(member, now)) {
        alive.push(member)
      } else {
        this.#keys.srem(set, member, now)
        removed++
      }
    }
    return { removed, alive }
  }

  /** Lazy pruning of a set a write adds to (LAZY_PRUNE_SAMPLE). */
  #pruneMembersSample(set: string, now: number): void {
    if (this.#keys.scard(set, now) < LAZY_PRUNE_MIN_SIZE) return
    this.#pruneMembers(set, this.#keys.sampleMembers(set, LAZY_PRUNE_SAMPLE, now), now)
  }

  /** Lazy pruning of a hash a write adds to: prune_fields (liveness.lua) on a sample. */
  #pruneFieldsSample(hash: string, now: number): void {
    if (this.#keys.hlen(hash, now) < LAZY_PRUNE_MIN_SIZE) return
    for (const field of this.#keys.sampleFields(hash, LAZY_PRUNE_SAMPLE, now)) {
      if (!this.#keys.holds(hash, field, now)) this.#keys.hdel(hash, field, now)
    }
  }

  /**
   * The periodic sweep and gc() (prune-set.lua, prune-hash.lua): purges expired names and hash
   * fields, then set members whose entries are gone. Names past their expiry are not counted, as
   * Redis expires those by itself.
   */
  #purge(now: number): GcReport {
    const fieldsRemoved = this.#keys.purgeExpired(now)
    const sets = this.#keys.scan(now, 'set')
    let membersRemoved = 0
    for (const set of sets) membersRemoved += this.#pruneMembers(set, this.#keys.smembers(set, now), now).removed
    return { sets: sets.length, membersRemoved, fieldsRemoved }
  }
}
