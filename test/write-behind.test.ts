import { expect } from 'chai'
import sinon from 'sinon'
import { cacheme, cachemeScope, cachemeSettled, invalidate, shutdown } from '../src'
import { runtime } from '../src/config'
import type { Store } from '../src/store/store'
import { BACKENDS, configureBackend, deferred, settlesWithin } from './support/backends'

/** Holds every write to the store in force until `release()`; `stored` lists what each answered, as it answers. */
function holdWrites() {
  const store: Store = runtime().store
  const gate = deferred()
  const write = store.write.bind(store)
  const stored: boolean[] = []
  const stub = sinon.stub(store, 'write').callsFake(async request => {
    await gate.promise
    const answer = await write(request)
    stored.push(answer)
    return answer
  })
  return { release: gate.resolve, writes: () => stub.callCount, stored, restore: () => stub.restore() }
}

/** Settles to true once `promise` has, or false while it has not after the turns in progress. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise(setImmediate)
  return settled
}

for (const backend of BACKENDS) {
  describe(`a miss returns before its store is answered, on the ${backend} store`, () => {
    let computations: number
    let row: string
    const fn = cacheme({ key: () => 'Row:1>view', invalidKeys: () => 'Row:1' })(async () => {
      computations++
      return row
    })

    beforeEach(() => {
      configureBackend(backend)
      computations = 0
      row = 'old'
    })

    it('hands the computed result back while the store runs, and a caller that comes meanwhile joins the computation', async () => {
      const held = holdWrites()
      try {
        expect(await settlesWithin(fn(), 1000, 'the miss')).to.equal('old')
        expect(held.writes()).to.equal(1)
        const joined = fn()
        const settled = cachemeSettled()
        expect(await hasSettled(joined), 'the caller that joined waits for the store').to.equal(false)
        expect(await hasSettled(settled), 'cachemeSettled() waits for the store').to.equal(false)
        held.release()
        expect(await joined).to.equal('old')
        await settled
        expect(runtime().flights.size).to.equal(0)
      } finally {
        held.restore()
      }
      expect(await fn(), 'stored: a hit').to.equal('old')
      expect(computations).to.equal(1)
    })

    it('joins the computation a read found in flight, though its store was answered before the read', async () => {
      const held = holdWrites()
      expect(await settlesWithin(fn(), 1000, 'the miss')).to.equal('old')
      const store = runtime().store
      const read = store.read.bind(store)
      const found = deferred()
      const answer = deferred()
      const reads = sinon.stub(store, 'read').callsFake(async (...args) => {
        const result = await read(...args)
        found.resolve()
        await answer.promise
        return result
      })
      try {
        const late = fn()
        await found.promise // its read found nothing: the store is held
        held.release()
        await cachemeSettled() // the store is answered and the computation gone; the read is still on its way
        answer.resolve()
        expect(await late).to.equal('old')
      } finally {
        held.restore()
        reads.restore()
      }
      expect(computations, 'the late caller joined, computing nothing').to.equal(1)
    })

    it('stores nothing that an invalidation made while the store was on its way would have removed', async () => {
      const held = holdWrites()
      try {
        expect(await settlesWithin(fn(), 1000, 'the miss')).to.equal('old')
        row = 'new'
        await invalidate({ invalidKey: 'Row:1' })
        held.release()
        await cachemeSettled()
      } finally {
        held.restore()
      }
      expect(await fn()).to.equal('new')
      expect(computations).to.equal(2)
    })

    it('keeps a miss in a request scope once its store is answered, not while the store runs', async () => {
      const held = holdWrites()
      try {
        await cachemeScope(async () => {
          expect(await settlesWithin(fn(), 1000, 'the miss')).to.equal('old')
          const again = fn()
          expect(await hasSettled(again), 'the next call in the scope waits for the store').to.equal(false)
          held.release()
          expect(await again).to.equal('old')
          const reads = sinon.spy(runtime().store, 'read')
          try {
            expect(await fn()).to.equal('old')
            expect(reads.callCount, 'served from the scope').to.equal(0)
          } finally {
            reads.restore()
          }
        })
      } finally {
        held.restore()
      }
      expect(computations).to.equal(1)
    })

    it('lets shutdown() finish the stores still running before it closes the store', async () => {
      const onError = sinon.spy()
      configureBackend(backend, { onError })
      const held = holdWrites()
      try {
        expect(await settlesWithin(fn(), 1000, 'the miss')).to.equal('old')
        const closing = shutdown()
        expect(await hasSettled(closing), 'shutdown() waits for the store').to.equal(false)
        held.release()
        await closing
        expect(held.stored, 'stored before the store closed').to.deep.equal([true])
      } finally {
        held.restore()
      }
      expect(onError.called).to.equal(false)
    })
  })
}
