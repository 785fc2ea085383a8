import { randomUUID } from 'node:crypto'
import { CachemeError } from '../errors'
import type { EntryRef, KeyLayout } from '../keys'
import { open, seal, staleFrom } from './envelope'
import { globToRegExp } from './glob'
import {
  GUARD_TTL_MS,
  LAZY_PRUNE_MIN_SIZE,
  LAZY_PRUNE_SAMPLE,
  gcBatchSize,
  guardsOf,
  lifetime,
  type GcOptions,
  type GcReport,
  type InvalidateOptions,
  type ManyRead,
  type ManyWrite,
  type ReadResult,
  type Store,
  type WriteRequest,
} from './store'

/** A value that never expires. */
const NEVER = Infinity
const DEFAULT_SWEEP_INTERVAL_MS = 60_000

/** A hash field: its value is an envelope (envelope.ts), as in Redis; `expiresAt` ends its grace. */
interface Field {
  readonly value: string
  readonly expiresAt: number
}

interface Expiring {
  expiresAt: number
}

/**
 * One keyspace laid out as RedisStore lays out Redis: entries are strings or hash fields, sets list
 * entry names, guards are strings holding a sequence. Sharing one namespace keeps name clashes and
 * pattern matches identical to Redis.
 */
interface Slots {
  string: Expiring & { readonly kind: 'string'; readonly value: string }
  hash: Expiring & { readonly kind: 'hash'; readonly fields: Map<string, Field> }
  set: Expiring & { readonly kind: 'set'; readonly members: Set<string> }
}

type Slot = Slots[keyof Slots]

export interface MemoryStoreOptions {
  /** How often expired values are purged even if nobody reads them. */
  readonly sweepIntervalMs?: number
}

/**
 * The embedded backend: the semantics of RedisStore (and its scripts) in process memory. Every
 * method does its work synchronously, so each is atomic with respect to the others, as a Lua
 * script is on the server.
 */
export class MemoryStore implements Store {
  readonly #keys = new Map<string, Slot>()
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
    let size = 0
    for (const slot of this.#keys.values()) {
      size += slot.kind === 'hash' ? slot.fields.size : slot.kind === 'set' ? slot.members.size : 1
    }
    return size
  }

  async read(entry: EntryRef): Promise<ReadResult> {
    const now = Date.now()
    const stored = this.#value(entry, now)
    const opened = stored === undefined ? undefined : open(stored, now)
    return { value: opened?.payload, stale: opened?.stale ?? false, seq: this.#seq }
  }

  async write({ entry, value: payload, ttlMs, graceMs = 0, sets, seq }: WriteRequest): Promise<boolean> {
    const now = Date.now()
    for (const guard of guardsOf(this.layout, entry, sets)) {
      const raised = this.#slot(guard, 'string', now)
      if (raised && Number(raised.value) > seq) return false
    }
    const value = seal(payload, ttlMs, graceMs, now)
    const kept = lifetime(ttlMs, graceMs)
    const expiresAt = kept > 0 ? now + kept : NEVER
    if (entry.field === undefined) {
      this.#keys.set(entry.key, { kind: 'string', value, expiresAt })
    } else {
      this.#pruneSample(entry.key, 'hash', now)
      this.#container(entry.key, 'hash', expiresAt, now).fields.set(entry.field, { value, expiresAt })
    }
    for (const set of sets) {
      this.#pruneSample(set, 'set', now)
      this.#container(set, 'set', expiresAt, now).members.add(entry.full)
    }
    return true
  }

  async readMany(keys: readonly string[]): Promise<ManyRead> {
    const now = Date.now()
    return { values: keys.map(key => this.#slot(key, 'string', now)?.value), seq: this.#seq }
  }

  async claimMany(keys: readonly string[]): Promise<ManyRead> {
    this.#raise(keys.map(key => this.layout.gen(key)))
    return this.readMany(keys)
  }

  async writeMany(writes: readonly ManyWrite[], seq: number): Promise<number> {
    const now = Date.now()
    const raisedAfter = (guard: string) => Number(this.#slot(guard, 'string', now)?.value ?? 0) > seq
    const refuseAll = raisedAfter(this.layout.everythingGen)
    let done = 0
    for (const { key, value, ttlMs } of writes) {
      if (value === undefined) {
        done += this.#delete({ full: key, key, field: undefined }, now)
      } else if (!refuseAll && !raisedAfter(this.layout.gen(key))) {
        this.#keys.set(key, { kind: 'string', value, expiresAt: ttlMs > 0 ? now + ttlMs : NEVER })
        done++
      }
    }
    return done
  }

  async invalidateSets(sets: readonly string[], { grace = true }: InvalidateOptions = {}): Promise<number> {
    if (sets.length === 0) return 0
    this.#raise(sets.map(set => this.layout.gen(set)))
    const now = Date.now()
    let invalidated = 0
    for (const set of sets) {
      const slot = this.#slot(set, 'set', now)
      if (!slot) continue
      this.#keys.delete(set)
      for (const member of slot.members) {
        const entry = this.layout.entryOfMember(member)
        invalidated += grace && this.#keepStale(entry, now) ? 1 : this.#delete(entry, now)
      }
    }
    return invalidated
  }

  async deleteEntries(entries: readonly EntryRef[]): Promise<number> {
    if (entries.length === 0) return 0
    this.#raise(entries.map(entry => this.layout.gen(entry.full)))
    const now = Date.now()
    let deleted = 0
    for (const entry of entries) deleted += this.#delete(entry, now)
    return deleted
  }

  async deleteMatching(pattern: string): Promise<number> {
    this.#raise([this.layout.everythingGen])
    const match = globToRegExp(this.layout.pattern(pattern))
    const now = Date.now()
    let deleted = 0
    for (const [name, slot] of this.#keys) {
      // A full pass anyway: purge what has expired on the way, as SCAN skips it.
      if (slot.expiresAt <= now) {
        this.#keys.delete(name)
      } else if (match.test(name) && this.layout.isEntryName(name)) {
        this.#keys.delete(name)
        deleted++
      }
    }
    return deleted
  }

  async liveMembers(set: string): Promise<string[]> {
    const now = Date.now()
    const slot = this.#slot(set, 'set', now)
    if (!slot) return []
    const alive: string[] = []
    for (const member of slot.members) {
      if (this.#isLive(member, now)) alive.push(member)
      else slot.members.delete(member)
    }
    if (slot.members.size === 0) this.#keys.delete(set)
    return alive
  }

  async acquireLease(name: string, ms: number): Promise<string | undefined> {
    const now = Date.now()
    if (this.#slot(name, 'string', now)) return undefined
    const token = randomUUID()
    this.#keys.set(name, { kind: 'string', value: token, expiresAt: now + ms })
    return token
  }

  async releaseLease(name: string, token: string): Promise<void> {
    if (this.#slot(name, 'string', Date.now())?.value === token) this.#keys.delete(name)
  }

  async incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void> {
    const now = Date.now()
    for (const [tag, counters] of deltas) {
      const hash = this.#container(this.layout.statsHash(tag), 'hash', NEVER, now)
      for (const [counter, amount] of Object.entries(counters)) {
        const total = Number(hash.fields.get(counter)?.value ?? 0) + amount
        hash.fields.set(counter, { value: String(total), expiresAt: NEVER })
      }
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

  /** The live slot under `key`; a slot of another kind is an error, as WRONGTYPE is in Redis. */
  #slot<K extends keyof Slots>(key: string, kind: K, now: number): Slots[K] | undefined {
    const slot = this.#keys.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt <= now) {
      this.#keys.delete(key)
      return undefined
    }
    if (slot.kind !== kind) {
      throw new CachemeError('STORE_FAILED', `${JSON.stringify(key)} holds a ${slot.kind}, not a ${kind}`)
    }
    return slot as Slots[K]
  }

  /** A hash or set that lives at least as long as its longest-lived member. */
  #container<K extends 'hash' | 'set'>(key: string, kind: K, expiresAt: number, now: number): Slots[K] {
    const existing = this.#slot(key, kind, now)
    if (existing) {
      existing.expiresAt = Math.max(existing.expiresAt, expiresAt)
      return existing
    }
    const slot = (kind === 'hash' ? { kind, fields: new Map(), expiresAt } : { kind, members: new Set(), expiresAt }) as Slots[K]
    this.#keys.set(key, slot)
    return slot
  }

  #value(entry: EntryRef, now: number): string | undefined {
    if (entry.field === undefined) return this.#slot(entry.key, 'string', now)?.value
    const hash = this.#slot(entry.key, 'hash', now)
    const field = hash?.fields.get(entry.field)
    if (!hash || !field) return undefined
    if (field.expiresAt > now) return field.value
    this.#deleteField(entry.key, hash, entry.field)
    return undefined
  }

  /** Keeps a fresh entry that has grace, stale from now for its grace (pop-sets.lua); false if it has none. */
  #keepStale(entry: EntryRef, now: number): boolean {
    const stored = this.#value(entry, now)
    const stale = stored === undefined ? undefined : staleFrom(stored, now)
    if (!stale) return false
    const expiresAt = now + stale.graceMs
    if (entry.field === undefined) {
      this.#keys.set(entry.key, { kind: 'string', value: stale.sealed, expiresAt })
    } else {
      this.#container(entry.key, 'hash', expiresAt, now).fields.set(entry.field, { value: stale.sealed, expiresAt })
    }
    return true
  }

  /** Deletes one entry; returns 1 if it was stored and unexpired. */
  #delete(entry: EntryRef, now: number): number {
    if (entry.field === undefined) {
      // Like DEL: whatever the key holds goes.
      const slot = this.#keys.get(entry.key)
      this.#keys.delete(entry.key)
      return slot && slot.expiresAt > now ? 1 : 0
    }
    const live = this.#value(entry, now) !== undefined
    const hash = this.#slot(entry.key, 'hash', now)
    if (hash) this.#deleteField(entry.key, hash, entry.field)
    return live ? 1 : 0
  }

  #deleteField(key: string, hash: Slots['hash'], field: string): void {
    hash.fields.delete(field)
    if (hash.fields.size === 0) this.#keys.delete(key)
  }

  /** Records an invalidation: writes that read an older sequence are refused by these guards. */
  #raise(guards: readonly string[]): void {
    const seq = ++this.#seq
    const expiresAt = Date.now() + GUARD_TTL_MS
    for (const guard of guards) this.#keys.set(guard, { kind: 'string', value: String(seq), expiresAt })
  }

  /**
   * Purges expired keys and hash fields, then set members whose entries are gone: the periodic
   * sweep and gc(). Keys past their expiry are not counted, as Redis expires those by itself.
   */
  #purge(now: number): GcReport {
    let sets = 0
    let membersRemoved = 0
    let fieldsRemoved = 0
    for (const [key, slot] of this.#keys) {
      if (slot.expiresAt <= now) {
        this.#keys.delete(key)
      } else if (slot.kind === 'hash') {
        for (const [field, { expiresAt }] of slot.fields) {
          if (expiresAt > now) continue
          this.#deleteField(key, slot, field)
          fieldsRemoved++
        }
      }
    }
    for (const [key, slot] of this.#keys) {
      if (slot.kind !== 'set') continue
      sets++
      for (const member of slot.members) {
        if (this.#isLive(member, now)) continue
        slot.members.delete(member)
        membersRemoved++
      }
      if (slot.members.size === 0) this.#keys.delete(key)
    }
    return { sets, membersRemoved, fieldsRemoved }
  }

  /**
   * Lazy pruning before a write adds to a container (LAZY_PRUNE_SAMPLE): checks the members checked
   * least recently and drops the dead ones. Sets and Maps iterate in insertion order, so moving a
   * live member to the back makes the checks go round the container.
   */
  #pruneSample(key: string, kind: 'hash' | 'set', now: number): void {
    const slot = this.#slot(key, kind, now)
    if (!slot || (slot.kind === 'hash' ? slot.fields.size : slot.members.size) < LAZY_PRUNE_MIN_SIZE) return
    if (slot.kind === 'hash') {
      for (const [name, field] of first(slot.fields, LAZY_PRUNE_SAMPLE)) {
        slot.fields.delete(name)
        if (field.expiresAt > now) slot.fields.set(name, field)
      }
      if (slot.fields.size === 0) this.#keys.delete(key)
    } else {
      for (const member of first(slot.members, LAZY_PRUNE_SAMPLE)) {
        slot.members.delete(member)
        if (this.#isLive(member, now)) slot.members.add(member)
      }
      if (slot.members.size === 0) this.#keys.delete(key)
    }
  }

  /** Whether the entry a set member names is stored and unexpired; a name holding the other kind does not store it. */
  #isLive(member: string, now: number): boolean {
    const { key, field } = this.layout.entryOfMember(member)
    const slot = this.#keys.get(key)
    if (!slot || slot.expiresAt <= now) return false
    if (field === undefined) return slot.kind === 'string'
    return slot.kind === 'hash' && (slot.fields.get(field)?.expiresAt ?? 0) > now
  }
}

/** The first `count` items, taken before the caller changes the collection. */
function first<T>(items: Iterable<T>, count: number): T[] {
  const taken: T[] = []
  for (const item of items) {
    if (taken.length === count) break
    taken.push(item)
  }
  return taken
}
