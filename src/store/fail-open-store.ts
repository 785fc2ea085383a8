import { CachemeError, type ErrorHandler } from '../errors'
import type { EntryRef } from '../keys'
import { CircuitBreaker } from '../resilience/circuit-breaker'
import { Deadlines } from '../resilience/deadlines'
import { ReplayQueue, isEverything, remainderOf, type PendingInvalidation } from '../resilience/replay-queue'
import { isRetryable } from '../resilience/retryable'
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

/** Stops the steps of a delivery whose attempt has ended; nobody waits for it. */
const ABANDONED = new CachemeError('STORE_TIMEOUT', 'an invalidation step after its delivery timed out')

/** How one attempt to deliver an invalidation ended: its count, or its fault and what is left of it. */
type Attempt = { readonly delivered: true; readonly count: number } | { readonly delivered: false; readonly fault: unknown; readonly rest: PendingInvalidation }

/**
 * Wraps a remote store so that callers never hang or fail because of it: every operation is
 * bounded by a timeout; a circuit breaker skips the store while it is down; an invalidation that
 * cannot be delivered is queued and replayed in order once the store answers again, a large one
 * from the step where it stopped. While any invalidation is waiting, this process serves nothing
 * from the cache and stores nothing, since it cannot tell which entries the waiting invalidations
 * would delete. An invalidation that retrying cannot deliver (the store refuses it) is replaced by
 * one of everything under the prefix, so that no invalidation can block the queue for good.
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

  deleteEntries(entries: readonly EntryRef[], options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number> {
    return this.#invalidate({ kind: 'entries', entries, options })
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
      const attempt = await this.#attempt(invalidation)
      if (attempt.delivered) return attempt.count
      this.#failed(invalidation, attempt, false)
    } else {
      this.#replay.push(invalidation)
    }
    this.#scheduleReplay()
    return 0
  }

  /**
   * One delivery within the timeout per step; on a fault, what is left is the steps not yet done.
   * A delivery that timed out goes on in the background: it stops at its next step, since what is
   * left of it waits for the replay.
   */
  async #attempt(invalidation: PendingInvalidation): Promise<Attempt> {
    let done = 0
    let abandoned = false
    try {
      const count = await this.#bounded(progress =>
        this.#deliver(invalidation, settled => {
          if (abandoned) throw ABANDONED
          done = settled ?? done
          progress()
        }),
      )
      return { delivered: true, count }
    } catch (fault) {
      abandoned = true
      return { delivered: false, fault, rest: remainderOf(invalidation, done) }
    }
  }

  /**
   * After a failed delivery (`queued`: the first waiting one). A fault that may pass leaves the
   * rest waiting; returns 'wait'. One that retrying cannot fix is reported and replaced by an
   * invalidation of everything under the prefix, delivered next; when that is what the store
   * refuses, it is given up, so that this process serves again. Returns 'next'.
   */
  #failed(invalidation: PendingInvalidation, attempt: Attempt & { delivered: false }, queued: boolean): 'wait' | 'next' {
    const { fault, rest } = attempt
    if (isRetryable(fault)) {
      if (queued) this.#replay.replaceFirst(rest)
      else {
        this.#options.report(fault, { operation: 'invalidate', key: keysConcerned(invalidation) })
        this.#replay.push(rest)
      }
      return 'wait'
    }
    const reason = fault instanceof Error ? fault.message : String(fault)
    if (isEverything(invalidation)) {
      const message = `invalidating every entry under the prefix failed and retrying cannot help (${reason}): it is given up so that this process serves again, and entries cached before it may be stale`
      this.#options.report(new CachemeError('STORE_FAILED', message, { cause: fault }), { operation: 'invalidate', key: keysConcerned(invalidation) })
      if (queued) this.#replay.shift()
      return 'next'
    }
    const message = `an invalidation failed and retrying cannot help (${reason}): every entry under the prefix is invalidated instead`
    this.#options.report(new CachemeError('STORE_FAILED', message, { cause: fault }), { operation: 'invalidate', key: keysConcerned(invalidation) })
    this.#replay.coverEverything()
    return 'next'
  }

  /** The caller's onProgress hears of the steps too (counted from the first set or entry of this delivery). */
  #deliver(invalidation: PendingInvalidation, progress: (done?: number) => void): Promise<number> {
    const onProgress = (done?: number) => {
      progress(done)
      if (invalidation.kind !== 'pattern') invalidation.options?.onProgress?.(done)
    }
    switch (invalidation.kind) {
      case 'sets':
        return this.#inner.invalidateSets(invalidation.sets, { ...invalidation.options, onProgress })
      case 'entries':
        return this.#inner.deleteEntries(invalidation.entries, { onProgress })
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

  /** Delivers waiting invalidations in order, stopping at the first whose fault may pass. */
  async #drain(): Promise<void> {
    let delivered = 0
    for (let next = this.#replay.peek(); next !== undefined; next = this.#replay.peek()) {
      if (!this.#breaker.allows()) break
      const attempt = await this.#attempt(next)
      if (attempt.delivered) {
        this.#replay.shift()
        delivered++
      } else if (this.#failed(next, attempt, true) === 'wait') {
        break
      }
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

  // A refusal is an answer: the store is up, only this request cannot be served.
  readonly #tellBreaker = (ok: boolean, error?: unknown): void => (ok || !isRetryable(error) ? this.#breaker.succeeded() : this.#breaker.failed())
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
