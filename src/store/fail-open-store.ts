import type { ErrorHandler } from '../errors'
import type { EntryRef } from '../keys'
import { CircuitBreaker } from '../resilience/circuit-breaker'
import { Deadlines } from '../resilience/deadlines'
import { ReplayQueue, type PendingInvalidation } from '../resilience/replay-queue'
import { UNAVAILABLE, type GcOptions, type GcReport, type InvalidateOptions, type ManyRead, type ManyWrite, type ReadResult, type Store, type WriteRequest } from './store'

export interface FailOpenOptions {
  /** Longest wait for one store operation. */
  readonly timeoutMs: number
  /** Undelivered invalidations kept before falling back to invalidating the whole prefix. */
  readonly replayLimit: number
  /** Faults of invalidations, which are queued for replay rather than thrown at the caller. */
  readonly report: ErrorHandler
  /** The circuit breaker opened (the store is skipped) or closed again. */
  readonly onCircuit?: (state: 'open' | 'closed') => void
  /** Waiting invalidations were delivered; `pending` are still waiting. */
  readonly onReplay?: (delivered: number, pending: number) => void
  /** The replay queue overflowed: every entry under the prefix will be invalidated instead. */
  readonly onOverflow?: () => void
}

/** Consecutive failures that open the circuit, and how long it stays open before a probe. */
const FAILURES_TO_OPEN = 2
const COOLDOWN_MS = 500

/**
 * Wraps a remote store so that callers never hang or fail because of it: every operation is
 * bounded by a timeout; a circuit breaker skips the store while it is down; an invalidation that
 * cannot be delivered is queued and replayed in order once the store answers again. While any
 * invalidation is waiting, this process serves nothing from the cache and stores nothing, since
 * it cannot tell which entries the waiting invalidations would delete.
 */
export class FailOpenStore implements Store {
  readonly #inner: Store
  readonly #options: FailOpenOptions
  readonly #breaker: CircuitBreaker
  readonly #replay: ReplayQueue
  readonly #deadlines: Deadlines
  #retry: NodeJS.Timeout | undefined
  #draining: Promise<void> | undefined

  constructor(inner: Store, options: FailOpenOptions) {
    this.#inner = inner
    this.#options = options
    this.#breaker = new CircuitBreaker(FAILURES_TO_OPEN, COOLDOWN_MS, state => options.onCircuit?.(state))
    this.#replay = new ReplayQueue(options.replayLimit, () => options.onOverflow?.())
    this.#deadlines = new Deadlines(options.timeoutMs)
  }

  get layout() {
    return this.#inner.layout
  }

  /** Invalidations waiting for the store to come back. */
  get pendingInvalidations(): number {
    return this.#replay.size
  }

  // Not async: the hot path, one promise fewer.
  read(entry: EntryRef): Promise<ReadResult> {
    if (!this.#serving()) return Promise.reject(UNAVAILABLE)
    return this.#bounded(() => this.#inner.read(entry))
  }

  async write(request: WriteRequest): Promise<boolean> {
    this.#mayServe()
    return this.#bounded(() => this.#inner.write(request))
  }

  async readMany(keys: readonly string[]): Promise<ManyRead> {
    this.#mayServe()
    return this.#bounded(() => this.#inner.readMany(keys))
  }

  /**
   * A claim precedes a rewrite after a change: when it cannot be made, the entries are deleted
   * once the store answers again (queued like any invalidation), and the caller writes nothing.
   */
  async claimMany(keys: readonly string[]): Promise<ManyRead> {
    if (this.#replay.size === 0 && this.#breaker.allows()) {
      try {
        return await this.#bounded(() => this.#inner.claimMany(keys))
      } catch (error) {
        this.#options.report(error, { operation: 'invalidate', key: keys })
      }
    }
    this.#replay.push({ kind: 'entries', entries: keys.map(key => ({ full: key, key, field: undefined })) })
    this.#scheduleReplay()
    throw UNAVAILABLE
  }

  async writeMany(writes: readonly ManyWrite[], seq: number): Promise<number> {
    this.#mayServe()
    return this.#bounded(() => this.#inner.writeMany(writes, seq))
  }

  invalidateSets(sets: readonly string[], options?: InvalidateOptions): Promise<number> {
    return this.#invalidate({ kind: 'sets', sets, options })
  }

  deleteEntries(entries: readonly EntryRef[]): Promise<number> {
    return this.#invalidate({ kind: 'entries', entries })
  }

  deleteMatching(pattern: string): Promise<number> {
    return this.#invalidate({ kind: 'pattern', pattern })
  }

  async liveMembers(set: string): Promise<string[]> {
    if (!this.#breaker.allows()) throw UNAVAILABLE
    return this.#bounded(() => this.#inner.liveMembers(set))
  }

  async acquireLease(name: string, ms: number): Promise<string | undefined> {
    this.#mayServe()
    return this.#bounded(() => this.#inner.acquireLease(name, ms))
  }

  async releaseLease(name: string, token: string): Promise<void> {
    if (!this.#breaker.allows()) return // it expires by itself
    await this.#bounded(() => this.#inner.releaseLease(name, token))
  }

  async incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void> {
    if (!this.#breaker.allows()) throw UNAVAILABLE
    await this.#bounded(() => this.#inner.incrementStats(deltas))
  }

  /** Housekeeping takes its time: bounded per step by the inner store, not by the call timeout. */
  async gc(options?: GcOptions): Promise<GcReport> {
    if (this.#breaker.isOpen) throw UNAVAILABLE
    return this.#inner.gc(options)
  }

  async close(): Promise<void> {
    clearTimeout(this.#retry)
    this.#retry = undefined
    await this.#inner.close()
  }

  /** Serving from the cache, storing and leasing wait until nothing is waiting for replay and the store answers. */
  #serving(): boolean {
    return this.#replay.size === 0 && this.#breaker.allows()
  }

  #mayServe(): void {
    if (!this.#serving()) throw UNAVAILABLE
  }

  /** Delivers now when nothing is waiting and the store is reachable; else queues, reports, and returns 0. */
  async #invalidate(invalidation: PendingInvalidation): Promise<number> {
    if (this.#replay.size === 0 && this.#breaker.allows()) {
      try {
        return await this.#bounded(progress => this.#deliver(invalidation, progress))
      } catch (error) {
        this.#options.report(error, { operation: 'invalidate', key: keysConcerned(invalidation) })
      }
    }
    this.#replay.push(invalidation)
    this.#scheduleReplay()
    return 0
  }

  #deliver(invalidation: PendingInvalidation, onProgress: () => void): Promise<number> {
    switch (invalidation.kind) {
      case 'sets':
        return this.#inner.invalidateSets(invalidation.sets, { ...invalidation.options, onProgress })
      case 'entries':
        return this.#inner.deleteEntries(invalidation.entries)
      case 'pattern':
        return this.#inner.deleteMatching(invalidation.pattern, { onProgress })
    }
  }

  #scheduleReplay(): void {
    if (this.#retry !== undefined || this.#draining !== undefined) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#draining = this.#drain().finally(() => (this.#draining = undefined))
    }, COOLDOWN_MS)
    this.#retry.unref()
  }

  /** Delivers waiting invalidations in order, stopping at the first that still fails. */
  async #drain(): Promise<void> {
    let delivered = 0
    for (let next = this.#replay.peek(); next !== undefined; next = this.#replay.peek()) {
      if (!this.#breaker.allows()) break
      try {
        await this.#bounded(progress => this.#deliver(next!, progress))
      } catch {
        break
      }
      this.#replay.shift()
      delivered++
    }
    if (delivered > 0) this.#options.onReplay?.(delivered, this.#replay.size)
    if (this.#replay.size > 0) {
      this.#draining = undefined
      this.#scheduleReplay()
    }
  }

  /** Runs one store operation within the timeout (per step, see Deadlines), telling the breaker how it went. */
  #bounded<T>(operation: (progress: () => void) => Promise<T>): Promise<T> {
    return this.#deadlines.run(operation, this.#tellBreaker)
  }

  readonly #tellBreaker = (ok: boolean): void => (ok ? this.#breaker.succeeded() : this.#breaker.failed())
}

/** The keys, sets or pattern an invalidation names, for the fault's context. */
function keysConcerned(invalidation: PendingInvalidation): string | readonly string[] {
  switch (invalidation.kind) {
    case 'sets':
      return invalidation.sets
    case 'entries':
      return invalidation.entries.map(entry => entry.full)
    case 'pattern':
      return invalidation.pattern
  }
}
