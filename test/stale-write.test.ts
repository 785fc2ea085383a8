import { expect } from 'chai'
import { cacheme, invalidate } from '../src'
import { BACKENDS, configureBackend, deferred } from './support/backends'

/**
 * A value computed while one of its dependencies changed must not be served afterwards. Each test
 * holds a computation open on a promise, changes the "row" and invalidates, then releases it.
 */
for (const backend of BACKENDS) {
  describe(`no stale write-back on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    function ownerReader(options: { byResult?: boolean } = {}) {
      const rows = new Map<number, { ownerId: number; name: string }>([[1, { ownerId: 7, name: 'old' }]])
      let gate: { started: () => void; released: Promise<void> } | undefined
      let computations = 0
      const read = cacheme({
        key: c => `Book:${c.id}>owner`,
        invalidKeys: c => (options.byResult ? `User:${c.result.ownerId}` : `Book:${c.id}`),
      })(async (id: number) => {
        computations++
        const snapshot = { ...rows.get(id)! } // the read happens before the change
        gate?.started()
        await gate?.released
        return snapshot
      })
      return {
        read,
        rows,
        computations: () => computations,
        /** The next computation reads, then waits; `started` resolves once it has read. */
        hold() {
          const started = deferred()
          const released = deferred()
          gate = { started: () => started.resolve(), released: released.promise }
          return { started: started.promise, release: () => { gate = undefined; released.resolve() } }
        },
      }
    }

    it('on the first computation, before any dependency set exists', async () => {
      const reader = ownerReader()
      const { started, release } = reader.hold()
      const stale = reader.read(1)
      await started
      reader.rows.set(1, { ownerId: 7, name: 'new' })
      await invalidate({ invalidKey: 'Book:1' })
      release()
      expect((await stale).name).to.equal('old') // the caller gets what it computed...
      expect((await reader.read(1)).name).to.equal('new') // ...but it was not cached
    })

    it('on a recomputation after an earlier invalidation', async () => {
      const reader = ownerReader()
      await reader.read(1)
      await invalidate({ invalidKey: 'Book:1' })
      const { started, release } = reader.hold()
      const stale = reader.read(1)
      await started
      reader.rows.set(1, { ownerId: 7, name: 'new' })
      await invalidate({ invalidKey: 'Book:1' })
      release()
      await stale
      expect((await reader.read(1)).name).to.equal('new')
    })

    it('when invalidKeys depend on the result', async () => {
      const reader = ownerReader({ byResult: true })
      const { started, release } = reader.hold()
      const stale = reader.read(1)
      await started
      reader.rows.set(1, { ownerId: 7, name: 'new' })
      await invalidate({ invalidKey: 'User:7' })
      release()
      await stale
      expect((await reader.read(1)).name).to.equal('new')
    })

    for (const target of [{ key: 'Book:1>owner' }, { tag: 'stale-tag' }, { pattern: 'Book:*' }]) {
      it(`when the entry is invalidated by ${Object.keys(target)[0]} meanwhile`, async () => {
        const rows = { name: 'old' }
        const started = deferred()
        const gate = deferred()
        const read = cacheme({ key: () => 'Book:1>owner', tag: 'stale-tag' })(async () => {
          const snapshot = rows.name
          started.resolve()
          await gate.promise
          return snapshot
        })
        const stale = read()
        await started.promise
        rows.name = 'new'
        await invalidate(target as never)
        gate.resolve()
        expect(await stale).to.equal('old')
        expect(await read()).to.equal('new')
      })
    }

    it('still caches a computation that began after the invalidation', async () => {
      const reader = ownerReader()
      await invalidate({ invalidKey: 'Book:1' })
      await reader.read(1)
      await reader.read(1)
      expect(reader.computations()).to.equal(1)
    })

    it('leaves unrelated computations cached', async () => {
      const reader = ownerReader()
      reader.rows.set(2, { ownerId: 8, name: 'other' })
      const { started, release } = reader.hold()
      const running = reader.read(2)
      await started
      await invalidate({ invalidKey: 'Book:1' })
      release()
      await running
      await reader.read(2)
      expect(reader.computations()).to.equal(1)
    })
  })
}
