import { expect } from 'chai'
import { cacheme, cachemeTags, invalidate } from '../src'
import { runtime } from '../src/config'
import { BACKENDS, configureBackend, sleep } from './support/backends'

/** Waits until the background recomputation started by a stale read has stored its value. */
async function settled(): Promise<void> {
  while (runtime().flights.size > 0) await new Promise(setImmediate)
}

for (const backend of BACKENDS) {
  describe(`grace on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    function source(options: { ttl?: number; grace: number }) {
      let row = 'v1'
      let computations = 0
      const read = cacheme({ key: () => 'Row:1>v', invalidKeys: () => 'Row:1', tag: 'graced', ...options })(async () => {
        computations++
        return row
      })
      return { read, computations: () => computations, set: (value: string) => (row = value) }
    }

    it('serves the previous value after the ttl while one caller recomputes in the background', async () => {
      const { read, computations, set } = source({ ttl: 0.15, grace: 5 })
      await read()
      set('v2')
      await sleep(250)
      expect(await Promise.all([read(), read(), read()])).to.deep.equal(['v1', 'v1', 'v1'])
      await settled()
      expect(computations()).to.equal(2)
      expect(await read()).to.equal('v2')
    })

    it('serves nothing stale past the grace', async () => {
      const { read, set } = source({ ttl: 0.1, grace: 0.1 })
      await read()
      set('v2')
      await sleep(300)
      expect(await read()).to.equal('v2')
    })

    it('serves the previous value after an invalidation that allows grace', async () => {
      const { read, set } = source({ grace: 5 })
      await read()
      set('v2')
      await invalidate({ invalidKey: 'Row:1' })
      expect(await read()).to.equal('v1')
      await settled()
      expect(await read()).to.equal('v2')
    })

    it('serves nothing stale after an invalidation that forbids grace', async () => {
      const { read, set } = source({ grace: 5 })
      await read()
      set('v2')
      await invalidate({ invalidKey: 'Row:1', grace: false })
      expect(await read()).to.equal('v2')
      set('v3')
      await cachemeTags.graced.invalidate({ grace: false })
      expect(await read()).to.equal('v3')
    })

    it('lists a refreshed entry under its dependencies again', async () => {
      const { read, set } = source({ grace: 5 })
      await read()
      await invalidate({ invalidKey: 'Row:1' })
      set('v2')
      await read()
      await settled()
      set('v3')
      await invalidate({ invalidKey: 'Row:1', grace: false })
      expect(await read()).to.equal('v3')
    })
  })
}
