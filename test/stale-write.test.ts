import { expect } from 'chai'
import { cacheme, cachemeSettled, invalidate, type InvalidateTarget } from '../src'
import { BACKENDS, configureBackend, deferred } from './support/backends'

/**
 * A value computed while one of its dependencies changed must not be served afterwards. Each test
 * holds a computation open on a promise after it has read its row, changes the row and
 * invalidates, then releases the computation.
 */
for (const backend of BACKENDS) {
  describe(`no stale write-back on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    function ownerReader(options: { byResult?: boolean; tag?: string } = {}) {
      const rows = new Map([
        [1, { ownerId: 7, name: 'old' }],
        [2, { ownerId: 8, name: 'other' }],
      ])
      let gate: { started: () => void; released: Promise<void> } | undefined
      let computations = 0
      const read = cacheme({
        key: c => `Book:${c.id}>owner`,
        invalidKeys: c => (options.byResult ? `User:${c.result.ownerId}` : `Book:${c.id}`),
        tag: options.tag,
      })(async (id: number) => {
        computations++
        const snapshot = { ...rows.get(id)! }
        gate?.started()
        await gate?.released
        return snapshot
      })
      return {
        read,
        computations: () => computations,
        /** Reads book `id`; after the row was read and before the value is stored, runs `meanwhile`. */
        async readWhile(id: number, meanwhile: (rename: (name: string) => void) => Promise<unknown>) {
          const started = deferred()
          const released = deferred()
          gate = { started: () => started.resolve(), released: released.promise }
          const reading = read(id)
          await started.promise
          await meanwhile(name => rows.set(1, { ...rows.get(1)!, name }))
          gate = undefined
          released.resolve()
          return reading
        },
      }
    }

    const renameAndInvalidate = (target: InvalidateTarget) => async (rename: (name: string) => void) => {
      rename('new')
      await invalidate(target)
    }

    it('on the first computation, before any dependency set exists', async () => {
      const reader = ownerReader()
      const stale = await reader.readWhile(1, renameAndInvalidate({ invalidKey: 'Book:1' }))
      expect(stale.name).to.equal('old') // the caller gets what it computed...
      expect((await reader.read(1)).name).to.equal('new') // ...but it was not cached
    })

    it('on a recomputation after an earlier invalidation', async () => {
      const reader = ownerReader()
      await reader.read(1)
      await invalidate({ invalidKey: 'Book:1' })
      expect((await reader.readWhile(1, renameAndInvalidate({ invalidKey: 'Book:1' }))).name).to.equal('old')
      expect((await reader.read(1)).name).to.equal('new')
    })

    it('when invalidKeys depend on the result', async () => {
      const reader = ownerReader({ byResult: true })
      await reader.readWhile(1, renameAndInvalidate({ invalidKey: 'User:7' }))
      expect((await reader.read(1)).name).to.equal('new')
    })

    for (const target of [{ key: 'Book:1>owner' }, { tag: 'stale-tag' }, { pattern: 'Book:*' }]) {
      it(`when the entry is invalidated by ${Object.keys(target)[0]} meanwhile`, async () => {
        const reader = ownerReader({ tag: 'stale-tag' })
        await reader.readWhile(1, renameAndInvalidate(target as InvalidateTarget))
        expect((await reader.read(1)).name).to.equal('new')
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
      await reader.readWhile(2, () => invalidate({ invalidKey: 'Book:1' }))
      await cachemeSettled()
      await reader.read(2)
      expect(reader.computations()).to.equal(1)
    })
  })
}
