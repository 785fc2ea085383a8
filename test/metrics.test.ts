import { expect } from 'chai'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import sinon from 'sinon'
import { cacheme, cachemeEvents, cachemeSettled, cachemeTags, invalidate, metricsHandler, prometheusMetrics } from '../src'
import { metrics } from '../src/metrics'
import { BACKENDS, configureBackend, deferred, redisClient } from './support/backends'

let tags = 0
/** Metrics live for the whole process: each test counts under a tag of its own. */
const freshTag = () => `metrics-${process.pid}-${++tags}`

for (const backend of BACKENDS) {
  describe(`metrics on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    it('counts hits, misses, stores, compute time and invalidations per tag', async () => {
      const tag = freshTag()
      const fn = cacheme({ key: c => `m:${c.id}`, invalidKeys: () => 'M', tag })(async (id: number) => id)
      await fn(1)
      await fn(1)
      await fn(2)
      expect(await cachemeTags[tag].invalidate()).to.equal(2)
      expect(cachemeTags[tag].stats()).to.deep.include({ hits: 1, misses: 2, stores: 2, refused: 0, invalidations: 2, errors: 0 })
      expect(cachemeTags[tag].stats().computeMs).to.be.at.least(0)
    })

    it('counts writes refused by the guard and faults', async () => {
      const tag = freshTag()
      const started = deferred()
      const gate = deferred()
      const held = cacheme({ key: () => 'held', invalidKeys: () => 'Row', tag })(async () => {
        started.resolve()
        await gate.promise
        return 1
      })
      const running = held()
      await started.promise
      await invalidate({ invalidKey: 'Row' })
      gate.resolve()
      await running
      const bad = cacheme({ key: () => 'bad', tag })(async () => 10n)
      await bad()
      expect(cachemeTags[tag].stats()).to.deep.include({ refused: 1, errors: 1 })
    })

    it('announces hits, misses, stores and invalidations', async () => {
      const tag = freshTag()
      const seen = sinon.spy()
      const names = ['hit', 'miss', 'store', 'invalidate'] as const
      const listeners = names.map(name => [name, (...args: unknown[]) => seen(name, ...args)] as const)
      for (const [name, listener] of listeners) cachemeEvents.on(name, listener)
      try {
        const fn = cacheme({ key: () => 'e', invalidKeys: () => 'E', tag })(async () => 1)
        await fn()
        await cachemeSettled()
        await fn()
        await invalidate({ invalidKey: 'E' })
      } finally {
        for (const [name, listener] of listeners) cachemeEvents.off(name, listener)
      }
      expect(seen.args).to.deep.equal([
        ['miss', 'e', tag],
        ['store', 'e', tag],
        ['hit', 'e', tag],
        ['invalidate', 1, 'invalidKey'],
      ])
    })
  })
}

describe('metrics across processes and for Prometheus', () => {
  it("adds each process's counters to per-tag totals in Redis", async () => {
    const prefix = configureBackend('redis')
    const tag = freshTag()
    const fn = cacheme({ key: () => 'p', tag })(async () => 1)
    await metrics.flush()
    await fn()
    await cachemeSettled()
    await fn()
    await metrics.flush()
    const totals = await redisClient().hgetall(`${prefix}__stats:${tag}`)
    expect(Number(totals.hits)).to.equal(1)
    expect(Number(totals.misses)).to.equal(1)
    expect(Number(totals.stores)).to.equal(1)
  })

  it('serves the counters in the Prometheus text format', async () => {
    configureBackend('redis')
    const tag = freshTag()
    const fn = cacheme({ key: () => 'prom', tag: `${tag}"quoted` })(async () => 1)
    await fn()
    await fn()
    const server = createServer(metricsHandler())
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
      expect(response.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/)
      const text = await response.text()
      expect(text).to.include('# TYPE cacheme_hits_total counter')
      expect(text).to.include(`cacheme_hits_total{tag="${tag}\\"quoted"} 1`)
      expect(text).to.include(`cacheme_misses_total{tag="${tag}\\"quoted"} 1`)
      expect(text).to.match(/^cacheme_pending_invalidations 0$/m)
      expect(text).to.equal(prometheusMetrics())
    } finally {
      server.close()
    }
  })
})
