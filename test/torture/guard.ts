import type { Store } from '../../src/store/store'

/**
 * Makes every write claim that its computation began just now, after every invalidation so far
 * (it reads the sequence again right before writing), so the store's stale-write guard does not
 * refuse it. Only the control run uses it, to show that the workload does produce stale write-backs
 * and that the guard is what stops them; the product deliberately has no switch for this, so the
 * test wraps the store the configuration holds.
 */
export function disableStaleWriteGuard(store: Store): void {
  const write = store.write.bind(store)
  // A key never written: reading it is a miss, which returns the sequence.
  const probe = store.layout.prefix + 'torture-sequence-probe'
  const sequenceNow = async () => (await store.read({ full: probe, key: probe, field: undefined })).seq!
  store.write = async request => write({ ...request, seq: await sequenceNow() })
}

/** Counts the writes the guard refused: how often the workload hit the race it exists for. */
export function countRefusedWrites(store: Store): { readonly refused: number } {
  const counter = { refused: 0 }
  const write = store.write.bind(store)
  store.write = async request => {
    const stored = await write(request)
    if (!stored) counter.refused++
    return stored
  }
  return counter
}
