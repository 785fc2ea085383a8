/** Counters of one tag, since this process started (a type, so it passes as a record of numbers). */
export type TagStats = {
  /** Calls served from the cache (fresh or within grace). */
  readonly hits: number
  /** Of those, calls served from the in-process tier without Redis (counted in this process only). */
  readonly localHits: number
  /** Calls that found nothing usable and computed, or joined a computation. */
  readonly misses: number
  /** Values written to the store. */
  readonly stores: number
  /** Writes refused because a dependency changed during the computation. */
  readonly refused: number
  /** Entries removed by invalidating this tag. */
  readonly invalidations: number
  /** Faults met by calls of this tag (store faults, values that could not be stored). */
  readonly errors: number
  /** Time spent computing misses, in milliseconds. */
  readonly computeMs: number
}

export type Counter = keyof TagStats

const ZERO: TagStats = { hits: 0, localHits: 0, misses: 0, stores: 0, refused: 0, invalidations: 0, errors: 0, computeMs: 0 }

/** Every counter, in the order reports list them. */
export const COUNTERS = Object.keys(ZERO) as readonly Counter[]

/**
 * The counters added to the store's per-tag totals (`cacheme stats`), which they name the fields
 * of. Local hits stay in the process: each process has a tier of its own.
 */
export const SHARED_COUNTERS = COUNTERS.filter((counter): counter is Exclude<Counter, 'localHits'> => counter !== 'localHits')

/** The counters of a tag that go to the store. */
export type SharedStats = Readonly<Record<(typeof SHARED_COUNTERS)[number], number>>

/** How often counters are added to the shared totals in the store, for `cacheme stats`. */
const FLUSH_INTERVAL_MS = 5_000

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Per-tag counters: read in process (`cachemeTags[tag].stats()`, the Prometheus exporter), and
 * added to totals in the store every few seconds, so that `cacheme stats` sees every process.
 */
export class Metrics {
  readonly #totals = new Map<string, Mutable<TagStats>>()
  #unflushed = new Map<string, Mutable<TagStats>>()
  #timer: NodeJS.Timeout | undefined
  #sink: ((deltas: ReadonlyMap<string, SharedStats>) => Promise<void>) | undefined

  /** Where flushed deltas go; set by the configuration in force. */
  flushTo(sink: (deltas: ReadonlyMap<string, SharedStats>) => Promise<void>): void {
    this.#sink = sink
  }

  add(tag: string, counter: Counter, amount = 1): void {
    bump(this.#totals, tag, counter, amount)
    if (counter === 'localHits') return
    bump(this.#unflushed, tag, counter, amount)
    if (this.#timer === undefined && this.#sink !== undefined) {
      this.#timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS)
      this.#timer.unref()
    }
  }

  stats(tag: string): TagStats {
    return { ...(this.#totals.get(tag) ?? ZERO) }
  }

  /** Every tag's counters. */
  all(): ReadonlyMap<string, TagStats> {
    return new Map([...this.#totals].map(([tag, stats]) => [tag, { ...stats }]))
  }

  /** Adds what was counted since the last flush to the store's totals; a failed flush is kept for the next. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const counted = this.#unflushed
    if (counted.size === 0 || this.#sink === undefined) return
    this.#unflushed = new Map()
    const deltas = new Map([...counted].map(([tag, stats]) => [tag, Object.fromEntries(SHARED_COUNTERS.map(counter => [counter, stats[counter]])) as SharedStats]))
    try {
      await this.#sink(deltas)
    } catch {
      // the sink reported it; keep the counts for the next flush
      for (const [tag, stats] of deltas) for (const counter of SHARED_COUNTERS) bump(this.#unflushed, tag, counter, stats[counter])
    }
  }
}

function bump(counters: Map<string, Mutable<TagStats>>, tag: string, counter: Counter, amount: number): void {
  let stats = counters.get(tag)
  if (stats === undefined) counters.set(tag, (stats = { ...ZERO }))
  stats[counter] += amount
}

export const metrics = new Metrics()
