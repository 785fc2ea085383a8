import type { IncomingMessage, ServerResponse } from 'node:http'
import { runtime } from './config'
import { COUNTERS, metrics, type Counter } from './metrics'

/** The exposition name and help line of each per-tag counter, and the factor to its Prometheus unit. */
const EXPOSED: Record<Counter, [name: string, help: string, scale?: number]> = {
  hits: ['cacheme_hits_total', 'Calls served from the cache.'],
  localHits: ['cacheme_local_hits_total', 'Calls served from the in-process tier, without Redis (counted in cacheme_hits_total too).'],
  misses: ['cacheme_misses_total', 'Calls that computed or joined a computation.'],
  stores: ['cacheme_stores_total', 'Computed values stored.'],
  refused: ['cacheme_refused_total', 'Writes refused because a dependency changed while computing.'],
  invalidations: ['cacheme_tag_invalidations_total', 'Entries removed by invalidating the tag.'],
  errors: ['cacheme_errors_total', 'Faults met by calls.'],
  computeMs: ['cacheme_compute_seconds_total', 'Time spent computing misses.', 1 / 1000],
}

/** This process's metrics in the Prometheus text exposition format (version 0.0.4). */
export function prometheusMetrics(): string {
  const all = metrics.all()
  const lines: string[] = []
  for (const counter of COUNTERS) {
    const [name, help, scale = 1] = EXPOSED[counter]
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
    for (const [tag, stats] of all) lines.push(`${name}{tag="${escapeLabel(tag)}"} ${stats[counter] * scale}`)
  }
  const pending = runtime().pendingInvalidations?.()
  if (pending !== undefined) {
    lines.push('# HELP cacheme_pending_invalidations Invalidations waiting for Redis to answer.', '# TYPE cacheme_pending_invalidations gauge')
    lines.push(`cacheme_pending_invalidations ${pending}`)
  }
  return lines.join('\n') + '\n'
}

/** A request handler serving `prometheusMetrics()`: `app.get('/metrics', metricsHandler())` in Express, or plain `http`. */
export function metricsHandler(): (request: IncomingMessage, response: ServerResponse) => void {
  return (_request, response) => {
    response.statusCode = 200
    response.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
    response.end(prometheusMetrics())
  }
}

/** Label values escape backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
