import { expect } from 'chai'
import { cacheme, configure, invalidate } from '../../src'
import { percentiles, startReader, type ReaderProcess } from './processes'
import { truthKey } from './reader-protocol'
import { nextLocalState, privateRedis } from './support'

describe('in-process tier across two processes', function () {
  this.timeout(60_000)
  const redis = privateRedis()
  let reader: ReaderProcess
  const prefix = 'two:'

  before(async () => {
    const serving = nextLocalState('serving')
    configure({ redis: redis.server.url, prefix, onError: () => {}, local: {} })
    await serving
    reader = await startReader(redis.server.url, prefix)
  })
  after(async () => {
    await reader?.stop()
    configure({ store: 'memory', onError: () => {} })
  })

  it('process B stops serving a value within the propagation delay after process A invalidated it', async () => {
    const row = cacheme({ key: c => `Row:${c.id}>view`, invalidKeys: c => `Row:${c.id}` })(async (id: number) => Number(await redis.direct.get(truthKey(prefix, id))))
    await redis.direct.set(truthKey(prefix, 1), 0)
    const delaysUs: number[] = []
    for (let round = 0; round < 100; round++) {
      expect(await row(1)).to.equal(round)
      // B holds the current value in its tier, then watches for it to go.
      for (let i = 0; i < 3; i++) expect((await reader.ask<{ value: number }>({ op: 'get', id: 1 })).value).to.equal(round)
      await reader.ask({ op: 'watch', id: 1, old: round })
      await redis.direct.set(truthKey(prefix, 1), round + 1)
      await invalidate({ invalidKey: 'Row:1' })
      const returned = process.hrtime.bigint()
      const { stoppedAt } = await reader.next<{ stoppedAt: string }>()
      expect(stoppedAt, `round ${round}: B kept serving the old value`).to.not.equal('-1')
      delaysUs.push(Math.max(0, Number(BigInt(stoppedAt) - returned) / 1000))
    }
    const { median, p99 } = percentiles(delaysUs)
    console.log(`      propagation delay after invalidate() returned: median ${median.toFixed(0)} us, p99 ${p99.toFixed(0)} us (${delaysUs.length} rounds)`)
    // Loose: the machine running the suite may be busy; the figures above are what matters.
    expect(p99).to.be.below(1_000_000)
  })
})
