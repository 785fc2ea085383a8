import { expect } from 'chai'
import { cacheme } from '../../src'

/** A cached entry per invalid key, to see which keys a write invalidated. */
export function probes() {
  let computations = 0
  const probe = cacheme({ key: c => `probe:${c.invalidKey}`, invalidKeys: c => c.invalidKey })(async (invalidKey: string) => ++computations)
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
