import { seal } from '../envelope'
import { LAZY_PRUNE_MIN_SIZE, LAZY_PRUNE_SAMPLE, lifetime, type WriteRequest } from '../store'
import type { ClusterContext } from './cluster-context'
import { pruneMembers } from './member-pruning'
import { groupBySlot, slotOf } from '../../slots'

/**
 * A decorated miss's write (docs/consistency.md, "Cluster"): register before store, never the
 * reverse. 1. In each slot of the sets, one script (concurrently) lists the entry in its sets,
 * refused when a set's guard is newer than `seq`. 2. Only if every registration passed, one script
 * in the entry's slot stores the value, refused when the entry's guard or the slot guard is newer,
 * or the slot guard is absent. A refused write may leave members naming no entry: gc prunes them.
 */
export async function writeEntry(context: ClusterContext, { entry, value, ttlMs, graceMs = 0, sets, seq }: WriteRequest): Promise<boolean> {
  const { client, layout, guards } = context
  await guards.ready()
  const now = Date.now()
  const ttl = lifetime(ttlMs, graceMs)
  const groups = [...groupBySlot(sets, set => set).values()]
  const calls = groups.map(group => {
    const keys = group.flatMap(set => [set, layout.guard(set)])
    return { key: keys[0], command: 'cachemeClusterRegister', args: [keys.length, ...keys, seq, entry.full, ttl, LAZY_PRUNE_SAMPLE, LAZY_PRUNE_MIN_SIZE] }
  })
  const registered = (await context.acks.runAll<[number, ...string[][]]>(calls)).map(([passed, ...samples], i) => ({ passed: Number(passed) === 1, group: groups[i], samples }))
  if (!registered.every(({ passed }) => passed)) return false
  const slot = slotOf(entry.key)
  const [stored] = await Promise.all([
    client.cachemeClusterStoreEntry(
      3,
      entry.key,
      layout.entryGuard(entry),
      guards.guardOf(slot),
      entry.field ?? '',
      seal(value, ttlMs, graceMs, now),
      ttl,
      seq,
      now,
      LAZY_PRUNE_SAMPLE,
      LAZY_PRUNE_MIN_SIZE,
    ),
    // Lazy pruning of the sets, beside the store: their members live in other slots.
    ...registered.flatMap(({ group, samples }) =>
      group.map((set, i) =>
        pruneMembers(
          context,
          set,
          (samples[i] ?? []).filter(member => member !== entry.full),
        ),
      ),
    ),
  ])
  if (Number(stored) === -1) {
    await guards.restore(slot)
    return false
  }
  return Number(stored) === 1
}
