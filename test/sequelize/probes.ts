import { expect } from 'chai'
import { Sequelize } from 'sequelize'
import { cacheme } from '../../src'

interface ClsNamespace {
  runPromise<T>(fn: () => Promise<T>): Promise<T>
  set(key: string, value: unknown): void
}

/**
 * Runs `read` as a reader outside any transaction: inside a CLS transaction that has written, a
 * call bypasses the cache, and a probe must see what others see.
 */
function outsideTransactions<T>(read: () => Promise<T>): Promise<T> {
  const namespace = (Sequelize as unknown as { _cls?: ClsNamespace })._cls
  if (!namespace) return read()
  return namespace.runPromise(() => {
    namespace.set('transaction', null)
    return read()
  })
}

/** A cached entry per invalid key, to see which keys a write invalidated. */
export function probes() {
  let computations = 0
  const cached = cacheme({ key: c => `probe:${c.invalidKey}`, invalidKeys: c => c.invalidKey })(async (invalidKey: string) => ++computations)
  const probe = (invalidKey: string) => outsideTransactions(() => cached(invalidKey))
  const watch = {
    async prime(...invalidKeys: string[]) {
      for (const invalidKey of invalidKeys) await probe(invalidKey)
    },
    /** The keys among these whose entry was deleted (they are cached again afterwards). */
    async invalidated(...invalidKeys: string[]): Promise<string[]> {
      const gone: string[] = []
      for (const invalidKey of invalidKeys) {
        const before = computations
        await probe(invalidKey)
        if (computations > before) gone.push(invalidKey)
      }
      return gone
    },
    /** Primes the watched keys, makes the change, and expects exactly `expected` among them to be invalidated. */
    async expectInvalidated(change: () => Promise<unknown>, expected: string[], watched: string[]): Promise<void> {
      await watch.prime(...watched)
      await change()
      expect(await watch.invalidated(...watched)).to.have.members(expected)
    },
  }
  return watch
}
