import { expect } from 'chai'
import Redis from 'ioredis'
import { sleep } from '../support/backends'
import { startReader } from './processes'
import { truthKey } from './reader-protocol'

const READERS = 2
const IDS = 6
const WRITE_MS = 2500
/** Past the propagation delay and a heartbeat, once writes stopped. */
const SETTLE_MS = 500

/**
 * Reader processes with the tier on hammer a few rows while this process changes them in Redis
 * (as another service would) and kills the readers' tier connections now and then. Once writes stop and the propagation delay has
 * passed, every reader must serve every row's last value; with the pending-read marker or the
 * flush on a lost connection switched off in the readers, some keep serving old values.
 */
import { privateRedis } from './support'

describe('in-process tier under concurrent writes and lost connections, across processes', function () {
  this.timeout(90_000)
  const redis = privateRedis()
  let round = 0

  /** Stale values the readers serve once everything settled. */
  async function staleAfterRun(disable: '' | 'marker' | 'flush', kills: boolean): Promise<{ stale: number; reads: number; writes: number }> {
    const prefix = `stress${++round}:`
    for (let id = 1; id <= IDS; id++) await redis.direct.multi().set(truthKey(prefix, id), 0).hset(`${prefix}Row:${id}`, 'view', '0|0').exec()
    const readers = await Promise.all(Array.from({ length: READERS }, () => startReader(redis.server.url, prefix, disable)))
    try {
      const hammering = readers.map(reader => reader.ask<{ reads: number }>({ op: 'hammer', ids: IDS, ms: WRITE_MS, concurrency: 16 }))
      let writes = 0
      const writing = (async () => {
        for (const end = Date.now() + WRITE_MS; Date.now() < end; writes++) {
          // A few changes of one row in a row: readers are then re-reading it when the next comes.
          const id = 1 + (Math.floor(writes / 4) % IDS)
          // Written as another service would: the readers never compute, every value they hold came from Redis.
          const value = await redis.direct.incr(truthKey(prefix, id))
          await redis.direct.hset(`${prefix}Row:${id}`, 'view', `0|${value}`)
        }
      })()
      const faults = (async () => {
        for (const end = Date.now() + WRITE_MS - 500; kills && Date.now() < end;) {
          await sleep(200)
          await killTierConnections(redis.direct, Math.random() < 0.5 ? 'local' : 'invalidations')
        }
      })()
      await Promise.all([writing, faults])
      const reads = (await Promise.all(hammering)).reduce((sum, { reads }) => sum + reads, 0)
      await sleep(SETTLE_MS)
      const truth = await Promise.all(Array.from({ length: IDS }, (_, i) => redis.direct.get(truthKey(prefix, i + 1)).then(Number)))
      let stale = 0
      for (const reader of readers) {
        const { values } = await reader.ask<{ values: number[] }>({ op: 'check', ids: IDS })
        stale += values.filter((value, i) => value !== truth[i]).length
      }
      return { stale, reads, writes }
    } finally {
      await Promise.all(readers.map(reader => reader.stop()))
    }
  }

  it('serves no stale value once writes stop and the propagation delay has passed', async () => {
    const run = await staleAfterRun('', true)
    console.log(`      ${run.writes} writes, ${run.reads} reads by ${READERS} processes: ${run.stale} stale`)
    expect(run.writes).to.be.above(100)
    expect(run.stale).to.equal(0)
  })

  it('serves stale values without the pending-read marker', async () => {
    const run = await staleAfterRun('marker', false)
    console.log(`      without the marker: ${run.stale} stale of ${READERS * IDS}`)
    expect(run.stale).to.be.above(0)
  })

  it('serves stale values without the flush on a lost connection', async () => {
    const run = await staleAfterRun('flush', true)
    console.log(`      without the flush: ${run.stale} stale of ${READERS * IDS}`)
    expect(run.stale).to.be.above(0)
  })
})

/** Kills the tracking connections or the subscribers of every tier (they reconnect by themselves). */
async function killTierConnections(admin: Redis, kind: 'local' | 'invalidations'): Promise<void> {
  const list = String(await admin.client('LIST'))
  const ids = [...list.matchAll(new RegExp(`id=(\\d+) .*?name=cacheme:${kind}:`, 'g'))].map(match => match[1])
  for (const id of ids) await admin.client('KILL', 'ID', id).catch(() => undefined)
}
