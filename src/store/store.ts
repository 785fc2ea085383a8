import { CachemeError } from '../errors'
import type { EntryRef, KeyLayout } from '../keys'
import type { LocalPolicy } from '../local/local-options'
import { OptionChecks } from '../option-checks'

/**
 * How long an invalidation is remembered for computations that were already running when it
 * happened. A computation that takes longer than this is returned but not cached, because the
 * store could no longer tell whether its inputs changed meanwhile.
 */
export const GUARD_TTL_MS = 5 * 60_000

/**
 * Lazy pruning: every write checks this many members of each set and hash it adds to, and removes
 * the dead ones (expired or deleted entries). Each write adds at most one member, and a check finds
 * a dead one in proportion to the dead share, so that share settles at or below 1/3: a container
 * that is written to holds at most about 1.5 times its live members. Checking on every write, not
 * every Nth, is what gives the bound (every Nth would allow a dead share of N/3). Containers nobody
 * writes to any more are left to their expiry and to gc().
 */
export const LAZY_PRUNE_SAMPLE = 3

/**
 * Containers smaller than this are not checked: they cannot hold many dead members anyway, and most
 * dependency sets (one row's) are this small, so their writes pay one size lookup, not four.
 */
export const LAZY_PRUNE_MIN_SIZE = 8

/** Small enough that no single step of gc() blocks Redis for long. */
const DEFAULT_GC_BATCH = 500

export interface GcOptions {
  /** Keys per SCAN step and set members or hash fields examined per script call. Default 500. */
  readonly batchSize?: number
}

/** What one gc() pass did. */
export interface GcReport {
  /** Dependency and tag sets examined. */
  readonly sets: number
  /** Set members removed because their entries were gone or expired. */
  readonly membersRemoved: number
  /** Hash fields removed because they were past their deadline. */
  readonly fieldsRemoved: number
}

export interface ReadResult {
  /** The stored payload, or undefined on a miss (absent or expired). */
  readonly value: string | undefined
  /** Past its ttl, within its grace: serve it, and recompute. */
  readonly stale: boolean
  /**
   * The invalidation sequence, read after the value when a computation follows (a miss, a stale
   * value): hand it back to `write`. A store may leave it out for a fresh value, which needs no
   * computation, so that a hit costs one plain command.
   */
  readonly seq: number | undefined
  /** Served from the in-process tier, without Redis. */
  readonly local?: boolean
}

/** How one read may use the in-process tier, when there is one. */
export interface ReadOptions {
  /** false: read from the store; `ttlMs`: keep the value in the tier at most this long. Default: as the tier is set up. */
  readonly local?: LocalPolicy
}

/** Many plain entries read at once, and the invalidation sequence to hand back to `writeMany`. */
export interface ManyRead {
  /** Per key, the stored string, or undefined when absent. */
  readonly values: (string | undefined)[]
  readonly seq: number
}

/** One plain entry to store, or to delete when `value` is undefined. */
export interface ManyWrite {
  /** The full Redis key (with the prefix). */
  readonly key: string
  readonly value: string | undefined
  /** Time to live in milliseconds; 0 keeps the entry until it is rewritten or deleted. */
  readonly ttlMs: number
}

export interface WriteRequest {
  readonly entry: EntryRef
  readonly value: string
  /** Time to live in milliseconds; 0 keeps the entry until it is invalidated. */
  readonly ttlMs: number
  /** How long past its ttl, or past an invalidation that allows it, the value may be served stale. Default 0. */
  readonly graceMs?: number
  /** Dependency and tag sets that must list the entry, so invalidating them deletes it. */
  readonly sets: readonly string[]
  /** The sequence returned by the read that preceded the computation. */
  readonly seq: number
}

/**
 * What the cache needs from a backend. Each operation is atomic with respect to the others, so a
 * write either lands before an invalidation (and is deleted by it) or is refused by the guard the
 * invalidation raised. `RedisStore` and `MemoryStore` pass the same conformance suite.
 */
export interface Store {
  readonly layout: KeyLayout
  read(entry: EntryRef, options?: ReadOptions): Promise<ReadResult>
  /**
   * What `read` would answer at once from this process's memory (the in-process tier), without
   * I/O; undefined when only a read can tell. A store without such memory has none.
   */
  peek?(entry: EntryRef, options?: ReadOptions): ReadResult | undefined
  /**
   * Stores the value and adds it to its sets, in one atomic step. Refuses (returns false) when any
   * guard of the entry, its sets or the whole prefix was raised after `seq`: its inputs changed
   * while it was being computed.
   */
  write(request: WriteRequest): Promise<boolean>
  /**
   * Raises the sets' guards, empties them and invalidates every entry they listed: deleted, or, for
   * a fresh entry with grace when `options.grace` allows it, kept stale for its grace. Returns
   * entries invalidated.
   */
  invalidateSets(sets: readonly string[], options?: InvalidateOptions): Promise<number>
  /** Raises the entries' guards and deletes them. Returns entries deleted. */
  deleteEntries(entries: readonly EntryRef[], options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number>
  /**
   * Raises the prefix-wide guard and deletes the entries a pattern matches inside the prefix
   * (`KeyLayout.match`): whole keys, or with a `>` hash fields. Returns keys or fields deleted.
   */
  deleteMatching(pattern: string, options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number>
  /**
   * Plain entries (the instance cache's rows: strings under their own keys, no envelope, no sets),
   * read in one round trip with the invalidation sequence.
   */
  readMany(keys: readonly string[], options?: ReadOptions): Promise<ManyRead>
  /**
   * Raises the guards of these plain entries, then reads them: a change is about to rewrite them,
   * so fills that began before it are refused from now on. `seq` is the claim's own sequence.
   */
  claimMany(keys: readonly string[]): Promise<ManyRead>
  /**
   * Stores or deletes plain entries in one atomic step. A store is skipped when the entry's guard
   * or the prefix's was raised after `seq`, or the store lost its data since; a delete always
   * happens. Returns how many were stored or deleted.
   */
  writeMany(writes: readonly ManyWrite[], seq: number): Promise<number>
  /** The members of a set whose entries are still stored; dead members are pruned. */
  liveMembers(set: string): Promise<string[]>
  /** Takes the lease `name` for `ms` unless another holder has it; resolves to the token, or undefined. */
  acquireLease(name: string, ms: number): Promise<string | undefined>
  /** Gives the lease back, if `token` still holds it. */
  releaseLease(name: string, token: string): Promise<void>
  /** Adds counters to the per-tag totals (`layout.statsHash(tag)`), fields by counter name. */
  incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void>
  /**
   * Walks every dependency and tag set and every hash under the prefix: removes members whose
   * entries are gone or expired, deletes hash fields past their deadline, and so sets and hashes
   * left empty. Safe while the cache is in use; works in bounded steps.
   */
  gc(options?: GcOptions): Promise<GcReport>
  /** Releases what the store opened (not a client the application passed in). */
  close(): Promise<void>
}

/**
 * What a store rejects with, instead of its own fault, while it is being skipped (the fault was
 * reported when it happened): the caller computes uncached and reports nothing more. One instance,
 * since it carries no detail and is thrown on every call during an outage.
 */
export const UNAVAILABLE = new CachemeError('STORE_UNAVAILABLE', 'the store is being skipped: it failed, or invalidations are waiting to be delivered')

export interface InvalidateOptions {
  /** false: entries with grace are deleted too, not kept stale. Default true. */
  readonly grace?: boolean
  /**
   * Called after each step of a long invalidation, so that a caller's timeout bounds each step, not
   * the whole. For sets and entries, `done` says how many of them, from the first, are invalidated:
   * an invalidation that fails later can resume there.
   */
  readonly onProgress?: (done?: number) => void
}

/** How long an entry is kept: its ttl and then its grace; 0 (no ttl) keeps it until invalidated. */
export function lifetime(ttlMs: number, graceMs: number): number {
  return ttlMs > 0 ? ttlMs + graceMs : 0
}

/** The guards a write must check: the whole prefix's, the entry's own and each of its sets'. */
export function guardsOf(layout: KeyLayout, entry: EntryRef, sets: readonly string[]): string[] {
  return [layout.everythingGuard, layout.guard(entry.full), ...sets.map(set => layout.guard(set))]
}

/** The batch size gc() asked for, checked. */
export function gcBatchSize(options: GcOptions = {}): number {
  return new OptionChecks('gc()').wholeNumber('batchSize', options.batchSize ?? DEFAULT_GC_BATCH, 1)
}
