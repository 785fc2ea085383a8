// The types only: the package is an optional peer, loaded at run time by loadApi().
import type * as OpenTelemetryApi from '@opentelemetry/api'
import type { BatchObservableCallback, Meter, Observable } from '@opentelemetry/api'
import { runtime } from './config'
import type { ErrorContext } from './errors'
import { cachemeEvents } from './events'
import { metrics, type Counter } from './metrics'

export interface OpenTelemetryOptions {
  /**
   * Where the instruments are created; default the global one (`metrics.getMeterProvider()`).
   * Typed by shape, so that these declarations compile without `@opentelemetry/api` installed.
   */
  readonly meterProvider?: { getMeter(name: string, version?: string): object }
  /** Adds `cacheme.hit`, `cacheme.miss` and `cacheme.store` events to the span active at the call. Default true. */
  readonly spanEvents?: boolean
}

/** Instrument name, unit, description and scale of each per-tag counter of src/metrics.ts. */
const TAG_COUNTERS: Record<Counter, [name: string, unit: string, description: string, scale?: number]> = {
  hits: ['cacheme.hits', '{call}', 'Calls served from the cache.'],
  localHits: ['cacheme.local_hits', '{call}', 'Calls served from the in-process tier, without Redis (counted in cacheme.hits too).'],
  misses: ['cacheme.misses', '{call}', 'Calls that computed or joined a computation.'],
  stores: ['cacheme.stores', '{entry}', 'Computed values stored.'],
  refused: ['cacheme.refused', '{write}', 'Writes refused because a dependency changed while computing.'],
  invalidations: ['cacheme.tag.invalidations', '{entry}', 'Entries removed by invalidating the tag.'],
  errors: ['cacheme.errors', '{fault}', 'Faults met by calls.'],
  computeMs: ['cacheme.compute.time', 's', 'Time spent computing misses.', 1 / 1000],
}

const TAG = 'cacheme.tag'
const METER_NAME = 'cacheme'

/**
 * Reports cacheme to OpenTelemetry through `@opentelemetry/api`: the per-tag counters (the same
 * ones as `Tag.stats()` and the Prometheus exporter, read when the SDK collects, so calls pay
 * nothing), invalidations by target and faults by operation, the invalidations waiting for Redis,
 * and span events on the caller's span. Without `@opentelemetry/api` installed it does nothing.
 * Returns a function that detaches it.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): () => void {
  const api = loadApi()
  if (api === undefined) return () => {}
  const meter = (options.meterProvider ?? api.metrics.getMeterProvider()).getMeter(METER_NAME) as Meter
  const detachers = [observeTagCounters(meter), countEvents(meter)]
  if (options.spanEvents !== false) detachers.push(annotateSpans(api))
  return () => {
    for (const detach of detachers.splice(0)) detach()
  }
}

/** The per-tag counters and the replay queue's length, observed at each collection. */
function observeTagCounters(meter: Meter): () => void {
  const counters = (Object.entries(TAG_COUNTERS) as [Counter, (typeof TAG_COUNTERS)[Counter]][]).map(
    ([counter, [name, unit, description, scale = 1]]) => [counter, meter.createObservableCounter(name, { unit, description }), scale] as const,
  )
  const pending = meter.createObservableGauge('cacheme.pending_invalidations', {
    unit: '{invalidation}',
    description: 'Invalidations waiting for Redis to answer.',
  })
  const observe: BatchObservableCallback = result => {
    for (const [tag, stats] of metrics.all()) for (const [counter, instrument, scale] of counters) result.observe(instrument, stats[counter] * scale, { [TAG]: tag })
    const waiting = runtime().pendingInvalidations?.()
    if (waiting !== undefined) result.observe(pending, waiting)
  }
  const observables: Observable[] = [...counters.map(([, instrument]) => instrument), pending]
  meter.addBatchObservableCallback(observe, observables)
  return () => meter.removeBatchObservableCallback(observe, observables)
}

/** Invalidations of every kind (model changes included) and the faults handed to onError, which have no tag. */
function countEvents(meter: Meter): () => void {
  const invalidations = meter.createCounter('cacheme.invalidations', {
    unit: '{entry}',
    description: 'Entries removed by invalidation, by what was asked (invalidKey, tag, key, pattern or model).',
  })
  const faults = meter.createCounter('cacheme.faults', { unit: '{fault}', description: 'Faults handed to onError, by the operation that met them.' })
  const onInvalidate = (count: number, target: string) => invalidations.add(count, { 'cacheme.target': target })
  const onFault = (_error: unknown, context: ErrorContext) => faults.add(1, { 'cacheme.operation': context.operation })
  cachemeEvents.on('invalidate', onInvalidate)
  cachemeEvents.on('fault', onFault)
  return () => {
    cachemeEvents.off('invalidate', onInvalidate)
    cachemeEvents.off('fault', onFault)
  }
}

/** The events are emitted inside the call, so the active span is the caller's. */
function annotateSpans(api: typeof OpenTelemetryApi): () => void {
  const listeners = (['hit', 'miss', 'store'] as const).map(name => {
    const listener = (key: string, tag: string) => api.trace.getActiveSpan()?.addEvent(`cacheme.${name}`, { 'cacheme.key': key, [TAG]: tag })
    cachemeEvents.on(name, listener)
    return () => cachemeEvents.off(name, listener)
  })
  return () => listeners.forEach(detach => detach())
}

/** `@opentelemetry/api`, or undefined when it is not installed. */
function loadApi(): typeof OpenTelemetryApi | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded on demand
    return require('@opentelemetry/api') as typeof OpenTelemetryApi
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined
    throw error
  }
}
