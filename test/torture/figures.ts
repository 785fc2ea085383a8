import { LOCAL_ROWS, type LocalFigures } from './local-figures'
import type { ProcessFigures } from './processes'
import { modeOf, type WorkloadOptions } from './workload-options'
import { WRITE_KINDS, type WriteKind } from './writers'

export interface Figures {
  /** What the run's Redis was: one server, or a Cluster. */
  redis: string
  /** Times the writers were stopped and the cache compared with the database. */
  rounds: number
  /** From the first round's start to the last comparison's end. */
  elapsedMs: number
  operations: {
    reads: number
    /** Reads answered from the cache. */
    hits: number
    /** Decorated calls that threw: a cache fault must never reach the caller. */
    readErrors: number
    /** In this process and in the writer processes. */
    writes: Record<WriteKind, number>
    /** Writes the database refused (deadlocks, duplicate links, serialization failures): expected under contention. */
    writeErrors: number
  }
  /** Proxy cuts and restarts of a redis-server, or master kills of a Cluster (each a failover); faults cacheme reported. */
  faults: { cuts: number; restarts: number; failovers: number; reported: number }
  /** Writer processes, when the run has some. */
  processes?: ProcessFigures
  /** Reader processes with the in-process tier, when the run has some. */
  local?: LocalFigures
  /** Cache writes the stale-write guard refused while the workload ran. */
  refusedWrites: number
  /** Distinct stale values: cached values that differed from a fresh computation, and stale reads. */
  stale: number
  /** Decorated calls inside a transaction that had written that did not see its writes. */
  staleReads: number
  /** Cached values compared, over all rounds. */
  checked: number
  worstLatencyDownMs: number
  /** The longest a call waited for the store while Redis was down: what the fail-open timeout bounds. */
  worstStoreWaitDownMs: number
  worstLatencyMs: number
  /** The first few stale values, for diagnosis. */
  staleExamples: string[]
}

export interface Run {
  readonly options: WorkloadOptions
  readonly figures: Figures
}

export function emptyFigures(): Figures {
  return {
    redis: 'standalone',
    rounds: 0,
    elapsedMs: 0,
    operations: { reads: 0, hits: 0, readErrors: 0, writes: Object.fromEntries(WRITE_KINDS.map(kind => [kind, 0])) as Record<WriteKind, number>, writeErrors: 0 },
    faults: { cuts: 0, restarts: 0, failovers: 0, reported: 0 },
    refusedWrites: 0,
    stale: 0,
    staleReads: 0,
    checked: 0,
    worstLatencyDownMs: 0,
    worstStoreWaitDownMs: 0,
    worstLatencyMs: 0,
    staleExamples: [],
  }
}

/** Reads and writes of a run. */
export function operationsOf({ operations }: Figures): number {
  return operations.reads + writesOf(operations.writes)
}

function writesOf(writes: Record<WriteKind, number>): number {
  return Object.values(writes).reduce((sum, count) => sum + count, 0)
}

/** The figures of several runs side by side, one column per run, then one line per mode. */
export function formatRuns(runs: readonly Run[]): string {
  const rows: [string, (run: Run) => string | number][] = [
    ['redis', ({ figures }) => figures.redis],
    ['seconds', ({ figures }) => (figures.elapsedMs / 1000).toFixed(1)],
    ['readers / writers / writer processes', ({ options }) => `${options.readers} / ${options.writers} / ${options.processes}`],
    ['books', ({ options }) => options.books],
    ['seed', ({ options }) => options.seed],
    ['rounds (writers stopped, cache compared)', ({ figures }) => figures.rounds],
    ['reads', ({ figures }) => figures.operations.reads],
    ['  cache hits', ({ figures }) => figures.operations.hits],
    ['  errors thrown', ({ figures }) => figures.operations.readErrors],
    ['writes', ({ figures }) => writesOf(figures.operations.writes)],
    ...WRITE_KINDS.map(kind => [`  ${kind}`, ({ figures }: Run) => figures.operations.writes[kind]] as [string, (run: Run) => number]),
    ['  refused by the database', ({ figures }) => figures.operations.writeErrors],
    ['writer processes started', ({ figures }) => figures.processes?.started ?? '-'],
    ['  killed at random', ({ figures }) => figures.processes?.killedAtRandom ?? '-'],
    ['  killed right after a commit', ({ figures }) => figures.processes?.killedAtCommit ?? '-'],
    ['proxy cuts', ({ figures }) => figures.faults.cuts],
    ['redis restarts', ({ figures }) => figures.faults.restarts],
    ['cluster master kills (failovers)', ({ figures }) => figures.faults.failovers],
    ['store faults reported', ({ figures }) => figures.faults.reported],
    ['worst call, redis down (ms)', ({ figures }) => Math.round(figures.worstLatencyDownMs)],
    ['worst wait for the store in a call, redis down (ms)', ({ figures }) => Math.round(figures.worstStoreWaitDownMs)],
    ['worst call, overall (ms)', ({ figures }) => Math.round(figures.worstLatencyMs)],
    ['cache writes refused by the guard', ({ figures }) => figures.refusedWrites],
    ['cached values checked', ({ figures }) => figures.checked],
    ['calls in a written transaction that missed its writes', ({ figures }) => figures.staleReads],
    ...LOCAL_ROWS.map(([label, value]) => [label, ({ figures }: Run) => value(figures.local)] as [string, (run: Run) => string | number]),
    ['STALE', ({ figures }) => figures.stale],
  ]
  const headers = ['', ...runs.map(({ options }) => modeOf(options))]
  const table = [headers, ...rows.map(([label, value]) => [label, ...runs.map(run => String(value(run)))])]
  const examples = runs.flatMap(({ options, figures }) => figures.staleExamples.map(example => `  ${modeOf(options)}: ${example}`))
  const summary = [['mode', 'operations', 'stale values'], ...runs.map(run => [modeOf(run.options), String(operationsOf(run.figures)), String(run.figures.stale)])]
  return [...aligned(table), ...(examples.length ? ['stale values (first few):', ...examples] : []), '', ...aligned(summary)].join('\n')
}

/** Rows as columns: the first left-aligned, the others right-aligned. */
function aligned(table: readonly string[][]): string[] {
  const widths = table[0].map((_, column) => Math.max(...table.map(row => row[column].length)))
  return table.map(row => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '))
}
