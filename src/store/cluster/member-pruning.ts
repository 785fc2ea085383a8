import { GUARD_TTL_MS } from '../store'
import { chunks, type ClusterContext } from './cluster-context'
import { groupBySlot } from '../../slots'

/** Entries checked by one script call. */
const ENTRIES_PER_CHECK = 256

export interface Pruned {
  /** The members whose entries are live. */
  readonly alive: string[]
  /** Members removed from the set: their entries were gone or expired. */
  readonly removed: number
}

/**
 * Prunes the dead among `members` of `set`, as a small invalidation (docs/consistency.md): a
 * member is never removed from the set directly, since a writer may be storing its entry right
 * now in another slot. It is moved into the set's popped set; the sequence is raised after that
 * move; the entry is checked again in its slot, and if dead its guard is stamped with that
 * sequence (a store computed before is refused); only then does the member leave the popped set. A
 * member found alive goes back into the set; one registered again meanwhile is in the set already.
 */
export async function pruneMembers(context: ClusterContext, set: string, members: readonly string[]): Promise<Pruned> {
  if (members.length === 0) return { alive: [], removed: 0 }
  const looked = await liveness(context, members, 0)
  const alive = members.filter((_, i) => looked[i])
  const dead = members.filter((_, i) => !looked[i])
  if (dead.length === 0) return { alive, removed: 0 }
  const { client, layout, guards } = context
  const popped = layout.popped(set)
  const movedFlags = await Promise.all(dead.map(member => client.smove(set, popped, member)))
  const moved = dead.filter((_, i) => Number(movedFlags[i]) === 1)
  if (moved.length === 0) return { alive, removed: 0 }
  const checked = await liveness(context, moved, await guards.raise())
  const revived = moved.filter((_, i) => checked[i])
  const gone = moved.filter((_, i) => !checked[i])
  await Promise.all([...revived.map(member => client.smove(popped, set, member)), ...chunks(gone, 512).map(part => client.srem(popped, ...part))])
  return { alive: [...alive, ...revived], removed: gone.length }
}

/**
 * Whether each member's entry is live, one script per slot of the entries (one pipeline per
 * master when durable). With a sequence (pruning), the guards of the dead ones are stamped with it.
 */
export async function liveness(context: ClusterContext, members: readonly string[], seq: number): Promise<boolean[]> {
  const { client, layout, acks } = context
  const live = new Array<boolean>(members.length).fill(false)
  const indexed = members.map((member, index) => ({ entry: layout.entryOfMember(member), index }))
  const parts = [...groupBySlot(indexed, ({ entry }) => entry.key).values()].flatMap(group => chunks(group, ENTRIES_PER_CHECK))
  const calls = parts.map(part => {
    const keys = part.flatMap(({ entry }) => [entry.key, layout.entryGuard(entry)])
    return { key: keys[0], command: 'cachemeClusterCheckEntries', args: [keys.length, ...keys, seq, GUARD_TTL_MS, Date.now(), ...part.map(({ entry }) => entry.field ?? '')] }
  })
  // Stamps (pruning) are kept durably, as invalidation steps are; a look alone is not.
  const flags =
    seq > 0
      ? await acks.runAll<number[]>(calls)
      : await Promise.all(calls.map(({ args: [numberOfKeys, ...rest] }) => client.cachemeClusterCheckEntries(Number(numberOfKeys), ...rest)))
  parts.forEach((part, p) => part.forEach(({ index }, i) => (live[index] = Number(flags[p][i]) === 1)))
  return live
}
