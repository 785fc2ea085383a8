import Module from 'node:module'
import { context, metrics as globalMetrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { expect } from 'chai'
import sinon from 'sinon'
import { cacheme, cachemeEvents, cachemeSettled, cachemeTags, configure, invalidate, openTelemetry } from '../src'
import { configureBackend } from './support/backends'

let tags = 0
/** Counters live for the whole process: each test counts under a tag of its own. */
const freshTag = () => `otel-${process.pid}-${++tags}`

/** A meter provider whose metrics are collected on demand into memory. */
function inMemoryMeters(): { provider: MeterProvider; collect: (name: string) => Promise<DataPoint<number>[]> } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const provider = new MeterProvider({ readers: [reader] })
  const collect = async (name: string) => {
    exporter.reset()
    await reader.forceFlush()
    const found = exporter
      .getMetrics()
      .flatMap(resource => resource.scopeMetrics)
      .filter(scope => scope.scope.name === 'cacheme')
      .flatMap(scope => scope.metrics)
      .filter(metric => metric.descriptor.name === name)
    return found.flatMap(metric => metric.dataPoints as DataPoint<number>[])
  }
  return { provider, collect }
}

/** The value of the point whose attribute `name` is `value`. */
const pointOf = (points: DataPoint<number>[], name: string, value: string) => points.find(point => point.attributes[name] === value)?.value

type Loader = { _load: (request: string, ...rest: unknown[]) => unknown }

/** Makes `require('@opentelemetry/api')` throw `error`; a missing package throws MODULE_NOT_FOUND. */
function failApiLoad(error: Error): void {
  const load = (Module as unknown as Loader)._load
  sinon.stub(Module as unknown as Loader, '_load').callsFake(function (this: unknown, request: string, ...rest: unknown[]) {
    if (request === '@opentelemetry/api') throw error
    return load.call(this, request, ...rest)
  })
}

const LISTENED = ['hit', 'miss', 'store', 'invalidate', 'fault'] as const
const listenerCounts = () => LISTENED.map(name => cachemeEvents.listenerCount(name))

describe('OpenTelemetry', () => {
  let detach: (() => void) | undefined
  let meters: ReturnType<typeof inMemoryMeters>

  beforeEach(() => {
    configureBackend('redis')
    meters = inMemoryMeters()
  })

  afterEach(async () => {
    detach?.()
    detach = undefined
    sinon.restore()
    await meters.provider.shutdown()
  })

  it('reports the per-tag counters of Redis-backed calls as the SDK collects them', async () => {
    detach = openTelemetry({ meterProvider: meters.provider })
    const tag = freshTag()
    const fn = cacheme({ key: c => `otel:${c.id}`, invalidKeys: () => 'OtelRow', tag })(async (id: number) => id)
    await fn(1)
    await fn(1)
    await fn(2)
    expect(await cachemeTags[tag].invalidate()).to.equal(2)

    expect(pointOf(await meters.collect('cacheme.hits'), 'cacheme.tag', tag)).to.equal(1)
    expect(pointOf(await meters.collect('cacheme.misses'), 'cacheme.tag', tag)).to.equal(2)
    expect(pointOf(await meters.collect('cacheme.stores'), 'cacheme.tag', tag)).to.equal(2)
    expect(pointOf(await meters.collect('cacheme.refused'), 'cacheme.tag', tag)).to.equal(0)
    expect(pointOf(await meters.collect('cacheme.tag.invalidations'), 'cacheme.tag', tag)).to.equal(2)
    expect(pointOf(await meters.collect('cacheme.compute.time'), 'cacheme.tag', tag)).to.be.at.least(0)
    // The same numbers as the in-process stats, which the Prometheus exporter also reads.
    expect(cachemeTags[tag].stats()).to.deep.include({ hits: 1, misses: 2, stores: 2 })
  })

  it('counts invalidations by target and faults by operation', async () => {
    detach = openTelemetry({ meterProvider: meters.provider })
    const fn = cacheme({ key: () => 'otel-unserializable', tag: freshTag() })(async () => 10n)
    await fn()
    const cached = cacheme({ key: () => 'otel-row', invalidKeys: () => 'OtelDependency', tag: freshTag() })(async () => 1)
    await cached()
    expect(await invalidate({ invalidKey: 'OtelDependency' })).to.equal(1)
    expect(await invalidate({ pattern: 'nothing-here:*' })).to.equal(0)

    const invalidations = await meters.collect('cacheme.invalidations')
    expect(pointOf(invalidations, 'cacheme.target', 'invalidKey')).to.equal(1)
    expect(pointOf(invalidations, 'cacheme.target', 'pattern')).to.equal(0)
    expect(pointOf(await meters.collect('cacheme.faults'), 'cacheme.operation', 'write')).to.equal(1)
  })

  it('reports the invalidations waiting for an unreachable Redis', async () => {
    detach = openTelemetry({ meterProvider: meters.provider })
    expect((await meters.collect('cacheme.pending_invalidations')).map(point => point.value)).to.deep.equal([0])
    configure({ redis: 'redis://127.0.0.1:1', timeout: 0.05, onError: () => {} })
    await invalidate({ invalidKey: 'OtelUnreachable' })
    expect((await meters.collect('cacheme.pending_invalidations')).map(point => point.value)).to.deep.equal([1])
  })

  it('uses the global meter provider when none is given', async () => {
    globalMetrics.setGlobalMeterProvider(meters.provider)
    try {
      detach = openTelemetry()
      const tag = freshTag()
      await cacheme({ key: () => 'otel-global', tag })(async () => 1)()
      expect(pointOf(await meters.collect('cacheme.misses'), 'cacheme.tag', tag)).to.equal(1)
    } finally {
      globalMetrics.disable()
    }
  })

  describe('span events', () => {
    let spans: InMemorySpanExporter
    let tracerProvider: BasicTracerProvider

    beforeEach(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
      spans = new InMemorySpanExporter()
      tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
    })

    afterEach(async () => {
      context.disable()
      await tracerProvider.shutdown()
    })

    /** Runs `work` inside a span of its own and returns the events cacheme added to it. */
    async function eventsOf(work: () => Promise<unknown>): Promise<{ name: string; attributes: unknown }[]> {
      await tracerProvider.getTracer('test').startActiveSpan('request', async span => {
        await work()
        span.end()
      })
      const [span] = spans.getFinishedSpans()
      return span.events.map(({ name, attributes }) => ({ name, attributes }))
    }

    it("adds hits, misses and stores to the caller's active span", async () => {
      detach = openTelemetry({ meterProvider: meters.provider })
      const tag = freshTag()
      const fn = cacheme({ key: () => 'otel-span', tag })(async () => 1)
      const attributes = { 'cacheme.key': 'otel-span', 'cacheme.tag': tag }
      expect(
        await eventsOf(async () => {
          await fn()
          await cachemeSettled()
          await fn()
        }),
      ).to.deep.equal([
        { name: 'cacheme.miss', attributes },
        { name: 'cacheme.store', attributes },
        { name: 'cacheme.hit', attributes },
      ])
      // Outside any span there is nothing to annotate, and nothing fails.
      expect(trace.getActiveSpan()).to.equal(undefined)
      expect(await fn()).to.equal(1)
    })

    it('adds none with spanEvents: false', async () => {
      detach = openTelemetry({ meterProvider: meters.provider, spanEvents: false })
      const fn = cacheme({ key: () => 'otel-no-span', tag: freshTag() })(async () => 1)
      expect(await eventsOf(() => fn())).to.deep.equal([])
    })
  })

  it('stops listening and observing once detached', async () => {
    const before = listenerCounts()
    const stop = openTelemetry({ meterProvider: meters.provider })
    expect(listenerCounts()).to.not.deep.equal(before)
    stop()
    stop()
    expect(listenerCounts()).to.deep.equal(before)
    await cacheme({ key: () => 'otel-detached', tag: freshTag() })(async () => 1)()
    expect(await meters.collect('cacheme.misses')).to.deep.equal([])
  })

  it('does nothing without @opentelemetry/api installed', async () => {
    failApiLoad(Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' }))
    const getMeter = sinon.spy(meters.provider, 'getMeter')
    const before = listenerCounts()
    const stop = openTelemetry({ meterProvider: meters.provider })
    expect(listenerCounts()).to.deep.equal(before)
    expect(getMeter.called).to.equal(false)
    stop()
    expect(await cacheme({ key: () => 'otel-absent', tag: freshTag() })(async () => 1)()).to.equal(1)
  })

  it('lets other failures to load @opentelemetry/api through', () => {
    failApiLoad(new SyntaxError('broken install'))
    expect(() => openTelemetry({ meterProvider: meters.provider })).to.throw(SyntaxError, 'broken install')
  })
})
