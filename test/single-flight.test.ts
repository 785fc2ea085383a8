import { expect } from 'chai'
import sinon from 'sinon'
import { cacheme, invalidate } from '../src'
import { runtime } from '../src/config'
import { BACKENDS, configureBackend, deferred } from './support/backends'

for (const backend of BACKENDS) {
  describe(`one compute per key on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    /** Starts `count` calls and waits until every one has read the store (and so joined or led). */
    async function concurrently<T>(count: number, call: () => Promise<T>): Promise<Promise<T>[]> {
      const reads = sinon.spy(runtime().store, 'read')
      try {
        const calls = Array.from({ length: count }, call)
        await Promise.allSettled(reads.returnValues)
        await new Promise(setImmediate)
        return calls
      } finally {
        reads.restore()
      }
    }

    function held() {
      const gate = deferred()
      const started = deferred()
      let computations = 0
      let row = 'old'
      const fn = cacheme({ key: () => 'Row:1>v', invalidKeys: () => 'Row:1' })(async () => {
        computations++
        const value = row
        started.resolve()
        await gate.promise
        if (value === 'fail') throw new Error('compute failed')
        return value
      })
      return { fn, gate, started: started.promise, computations: () => computations, set: (value: string) => (row = value) }
    }

    it('shares one computation among concurrent misses', async () => {
      const { fn, gate, computations } = held()
      const calls = await concurrently(5, fn)
      gate.resolve()
      expect(await Promise.all(calls)).to.deep.equal(Array(5).fill('old'))
      expect(computations()).to.equal(1)
      expect(runtime().flights.size).to.equal(0)
    })

    it('rejects every waiter when it fails, storing nothing and leaving nothing in flight', async () => {
      const { fn, gate, computations, set } = held()
      set('fail')
      const calls = await concurrently(3, () =>
        fn().then(
          () => 'resolved',
          (error: Error) => error.message,
        ),
      )
      gate.resolve()
      expect(await Promise.all(calls)).to.deep.equal(Array(3).fill('compute failed'))
      expect(computations()).to.equal(1)
      expect(runtime().flights.size).to.equal(0)
      set('ok')
      expect(await fn()).to.equal('ok')
    })

    it('makes a caller that joined after a change compute its own value', async () => {
      const { fn, gate, started, computations, set } = held()
      const first = fn()
      await started
      set('new')
      await invalidate({ invalidKey: 'Row:1' })
      const late = fn() // joins the computation that read 'old'
      gate.resolve()
      expect(await first).to.equal('old')
      expect(await late).to.equal('new')
      expect(computations()).to.equal(2)
    })
  })
}
