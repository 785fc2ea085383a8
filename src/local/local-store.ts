import type { EntryRef } from '../keys'
import type { GcOptions, GcReport, InvalidateOptions, ManyRead, ManyWrite, ReadOptions, ReadResult, Store, WriteRequest } from '../store/store'
import type { Tier } from './tier'

/**
 * A store with the in-process tier in front of its reads. A kept value is served without Redis
 * while the tier serves and no invalidation of this process is waiting for Redis (the tier cannot
 * tell which values a waiting invalidation would remove); misses, stale values and everything else
 * go to the store behind, so the stale-write guard, grace, leases and fail-open hold as without it.
 * Every invalidation made through it has cleared the tier when it returns.
 */
export class LocalTierStore implements Store {
  readonly #inner: Store
  readonly #tier: Tier
  readonly #pendingInvalidations: () => number

  /** `pendingInvalidations`: how many invalidations of this process the store behind has not delivered yet. */
  constructor(inner: Store, tier: Tier, pendingInvalidations: () => number) {
    this.#inner = inner
    this.#tier = tier
    this.#pendingInvalidations = pendingInvalidations
  }

  get layout() {
    return this.#inner.layout
  }

  get tier(): Tier {
    return this.#tier
  }

  /** A kept value, when the tier may serve it. */
  peek(entry: EntryRef, options?: ReadOptions): ReadResult | undefined {
    return options?.local === false || !this.#serving() ? undefined : this.#tier.entry(entry)
  }

  // Not async: a kept value is the hot path.
  read(entry: EntryRef, options?: ReadOptions): Promise<ReadResult> {
    if (options?.local === false || !this.#serving()) return this.#inner.read(entry)
    const kept = this.#tier.entry(entry)
    return kept !== undefined ? Promise.resolve(kept) : this.#readThrough(entry, options)
  }

  /**
   * The invalidation of the written key comes back to this process too: waiting for it means the
   * next read of the key is kept, instead of being overtaken by it.
   */
  async write(request: WriteRequest): Promise<boolean> {
    try {
      return await this.#inner.write(request)
    } finally {
      this.#tier.forget([request.entry.key])
      await this.#tier.caughtUp()
    }
  }

  async readMany(keys: readonly string[], options?: ReadOptions): Promise<ManyRead> {
    const policy = options?.local
    // No keys: a read of the sequence alone, which only the store behind knows.
    if (policy === false || keys.length === 0 || !this.#serving()) return this.#inner.readMany(keys)
    const values = keys.map(key => this.#tier.plain(key))
    const missing = keys.filter((_, i) => values[i] === undefined)
    // A lower sequence only makes a write more cautious; with every value kept nothing is written.
    if (missing.length === 0) return { values, seq: 0 }
    const tracked = await this.#tier.readPlain(missing, policy)
    const absent = missing.filter((_, i) => tracked[i] === null)
    // Absent values will be computed: the store behind reads them again with the sequence to write against.
    const behind = absent.length > 0 ? await this.#inner.readMany(absent) : undefined
    const found = new Map<string, string | undefined>()
    missing.forEach((key, i) => found.set(key, tracked[i] ?? undefined))
    absent.forEach((key, i) => found.set(key, behind!.values[i]))
    return { values: keys.map((key, i) => values[i] ?? found.get(key)), seq: behind?.seq ?? 0 }
  }

  async claimMany(keys: readonly string[]): Promise<ManyRead> {
    try {
      return await this.#inner.claimMany(keys)
    } finally {
      this.#tier.forget(keys)
    }
  }

  async writeMany(writes: readonly ManyWrite[], seq: number): Promise<number> {
    try {
      return await this.#inner.writeMany(writes, seq)
    } finally {
      this.#tier.forget(writes.map(write => write.key))
      await this.#tier.caughtUp()
    }
  }

  async invalidateSets(sets: readonly string[], options?: InvalidateOptions): Promise<number> {
    try {
      return await this.#inner.invalidateSets(sets, options)
    } finally {
      await this.#settle()
    }
  }

  async deleteEntries(entries: readonly EntryRef[], options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number> {
    try {
      return await this.#inner.deleteEntries(entries, options)
    } finally {
      this.#tier.forget(entries.map(entry => entry.key))
      await this.#settle()
    }
  }

  async deleteMatching(pattern: string, options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number> {
    try {
      return await this.#inner.deleteMatching(pattern, options)
    } finally {
      await this.#settle()
    }
  }

  liveMembers(set: string): Promise<string[]> {
    return this.#inner.liveMembers(set)
  }

  acquireLease(name: string, ms: number): Promise<string | undefined> {
    return this.#inner.acquireLease(name, ms)
  }

  releaseLease(name: string, token: string): Promise<void> {
    return this.#inner.releaseLease(name, token)
  }

  incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void> {
    return this.#inner.incrementStats(deltas)
  }

  gc(options?: GcOptions): Promise<GcReport> {
    return this.#inner.gc(options)
  }

  async close(): Promise<void> {
    await this.#tier.close()
    await this.#inner.close()
  }

  #serving(): boolean {
    return this.#tier.serving && this.#pendingInvalidations() === 0
  }

  /** A fresh value read through the tracked connection; anything else (and a fault there) is read by the store behind. */
  async #readThrough(entry: EntryRef, options: ReadOptions | undefined): Promise<ReadResult> {
    let payload: string | undefined
    try {
      payload = await this.#tier.readEntry(entry, options?.local || undefined)
    } catch {
      // the tracked connection failed: the store behind answers, within its timeout, or reports
    }
    return payload !== undefined ? { value: payload, stale: false, seq: undefined } : this.#inner.read(entry)
  }

  /**
   * After an invalidation: when it was not delivered (it waits for Redis), the tier cannot tell
   * what it removes and is emptied; else the messages Redis sent for it are applied before returning.
   */
  async #settle(): Promise<void> {
    if (this.#pendingInvalidations() > 0) this.#tier.clear()
    else await this.#tier.caughtUp()
  }
}
