/** What the reader processes with the in-process tier (`--local`) did and saw. */
export interface LocalFigures {
  processes: number
  reads: number
  errors: number
  /** Calls answered from the cache, and of those from the in-process tier. */
  hits: number
  localHits: number
  /** The longest a round's end waited for a tier, bypassed by a fault, to serve again. */
  longestRearmMs: number
  /** Cached values the reader processes compared with a fresh computation. */
  checked: number
  /** Values they served that differed from a fresh computation, over all rounds. */
  stale: number
  /** Probes a reader process could not hold in its tier (it was bypassed): not timed. */
  unheld: number
  /** Probes a reader process kept serving after the invalidation, for seconds. */
  neverStopped: number
  /** Propagation delays, in microseconds after invalidate() returned in the readers' process. */
  delaysUs: number[]
}

export function emptyLocalFigures(): LocalFigures {
  return { processes: 0, reads: 0, errors: 0, hits: 0, localHits: 0, longestRearmMs: 0, checked: 0, stale: 0, unheld: 0, neverStopped: 0, delaysUs: [] }
}

/** The q-quantile of samples (0 without any). */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return 0
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const dash = (local: LocalFigures | undefined, value: (local: LocalFigures) => string | number) => (local ? value(local) : '-')

/** The rows of the figures' table for the reader processes; '-' in a run without them. */
export const LOCAL_ROWS: readonly [string, (local: LocalFigures | undefined) => string | number][] = [
  ['reader processes with the in-process tier', local => dash(local, l => l.processes)],
  ['  reads', local => dash(local, l => l.reads)],
  ['  cache hits / from the tier', local => dash(local, l => `${l.hits} / ${l.localHits}`)],
  ['  longest wait for the tier to serve again at a round end (ms)', local => dash(local, l => l.longestRearmMs)],
  ['  errors thrown', local => dash(local, l => l.errors)],
  ['  cached values checked / stale', local => dash(local, l => `${l.checked} / ${l.stale}`)],
  ['  propagation delay p50 / p99 (us)', local => dash(local, l => `${quantile(l.delaysUs, 0.5).toFixed(0)} / ${quantile(l.delaysUs, 0.99).toFixed(0)}`)],
  ['  probes timed / not held / never dropped', local => dash(local, l => `${l.delaysUs.length} / ${l.unheld} / ${l.neverStopped}`)],
]
