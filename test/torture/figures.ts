import type { Figures, WorkloadOptions } from './workload'
import { WRITE_KINDS } from './writers'

export interface Run {
  readonly options: WorkloadOptions
  readonly figures: Figures
}

/** The figures of several runs side by side, one column per run. */
export function formatRuns(runs: readonly Run[]): string {
  const rows: [string, (run: Run) => string | number][] = [
    ['seconds', ({ options }) => (options.durationMs / 1000).toFixed(1)],
    ['readers / writers', ({ options }) => `${options.readers} / ${options.writers}`],
    ['seed', ({ options }) => options.seed],
    ['rounds (writers stopped, cache compared)', ({ figures }) => figures.rounds],
    ['reads', ({ figures }) => figures.operations.reads],
    ['  cache hits', ({ figures }) => figures.operations.hits],
    ['  errors thrown', ({ figures }) => figures.operations.readErrors],
    ['writes', ({ figures }) => Object.values(figures.operations.writes).reduce((sum, count) => sum + count, 0)],
    ...WRITE_KINDS.map(kind => [`  ${kind}`, ({ figures }: Run) => figures.operations.writes[kind]] as [string, (run: Run) => number]),
    ['  refused by the database', ({ figures }) => figures.operations.writeErrors],
    ['proxy cuts', ({ figures }) => figures.faults.cuts],
    ['redis restarts', ({ figures }) => figures.faults.restarts],
    ['store faults reported', ({ figures }) => figures.faults.reported],
    ['worst call, redis down (ms)', ({ figures }) => Math.round(figures.worstLatencyDownMs)],
    ['worst call, overall (ms)', ({ figures }) => Math.round(figures.worstLatencyMs)],
    ['cache writes refused by the guard', ({ figures }) => figures.refusedWrites],
    ['cached values checked', ({ figures }) => figures.checked],
    ['STALE', ({ figures }) => figures.stale],
  ]
  const headers = ['', ...runs.map(({ options }) => `${options.guard ? 'guard on' : 'guard OFF'}, ${options.faults ? 'faults' : 'no faults'}`)]
  const table = [headers, ...rows.map(([label, value]) => [label, ...runs.map(run => String(value(run)))])]
  const widths = headers.map((_, column) => Math.max(...table.map(row => row[column].length)))
  const lines = table.map(row => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '))
  const examples = runs.flatMap(({ options, figures }) => figures.staleExamples.map(example => `  ${options.guard ? 'guard on' : 'guard OFF'}: ${example}`))
  return [...lines, ...(examples.length ? ['stale values (first few):', ...examples] : [])].join('\n')
}
