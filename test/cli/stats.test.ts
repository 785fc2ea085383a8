import { expect } from 'chai'
import { configureBackend, redisClient } from '../support/backends'
import { cliAt, json } from './support'

describe('cacheme stats', () => {
  it('prints the per-tag counters every process flushed, with hit rate and mean compute time', async () => {
    const prefix = configureBackend('redis')
    await redisClient().hset(`${prefix}__stats:stats.a`, { hits: 30, misses: 10, stores: 9, refused: 1, invalidations: 2, errors: 1, computeMs: 55 })
    await redisClient().hset(`${prefix}__stats:stats.b`, { stores: 4 })

    const text = await cliAt(prefix, ['stats'])
    expect(text.code).to.equal(0)
    expect(text.stdout).to.match(/^TAG\s+HITS\s+MISSES\s+HIT RATE\s+STORES\s+INVALIDATIONS\s+ERRORS\s+MEAN COMPUTE MS$/m)
    expect(text.stdout).to.match(/^stats\.a\s+30\s+10\s+75\.0%\s+9\s+2\s+1\s+5\.5$/m)
    expect(text.stdout).to.match(/^stats\.b\s+0\s+0\s+-\s+4\s+0\s+0\s+-$/m)

    // Counters this test process has not flushed yet may land under the prefix too: look at ours.
    const { tags } = json<{ tags: { tag: string }[] }>(await cliAt(prefix, ['stats', '--json']))
    expect(tags.find(row => row.tag === 'stats.a')).to.deep.equal({
      tag: 'stats.a',
      hits: 30,
      misses: 10,
      stores: 9,
      refused: 1,
      invalidations: 2,
      errors: 1,
      computeMs: 55,
      hitRate: 0.75,
      meanComputeMs: 5.5,
    })
    expect(tags.find(row => row.tag === 'stats.b')).to.deep.equal({
      tag: 'stats.b',
      hits: 0,
      misses: 0,
      stores: 4,
      refused: 0,
      invalidations: 0,
      errors: 0,
      computeMs: 0,
      hitRate: null,
      meanComputeMs: null,
    })
  })

  it('says so when nothing was counted', async () => {
    const prefix = `${configureBackend('redis')}empty:`
    expect(await cliAt(prefix, ['stats'])).to.include({ code: 0, stdout: `no statistics under prefix ${prefix}\n` })
  })
})
