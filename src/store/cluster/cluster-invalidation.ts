import type { EntryRef } from '../../keys'
import { GUARD_TTL_MS, type InvalidateOptions } from '../store'
import { chunks, type ClusterContext } from './cluster-context'
import { groupBySlot } from '../../slots'

/** Sets one pop script handles: about a millisecond of server time, as on standalone Redis. */
export const SETS_PER_STEP = 128
export const MEMBERS_PER_STEP = 256
export const ENTRIES_PER_STEP = 256
/** Sets (or entries) taken at once from the caller's list; each part is done before the next, so progress counts from the first. */
const PART = 1024

/**
 * invalidateSets on a Cluster (docs/consistency.md): 1. raise the sequence once; then, until the
 * sets and their popped sets are empty, 2. per slot of the sets, stamp their guards and move
 * members into their popped sets, 3. raise the sequence again and, per slot of the entries, stamp
 * each entry's guard with it and invalidate the entry, 4. per set, remove from its popped set
 * exactly the members step 3 invalidated. Each step is one pipeline per master, the masters
 * concurrently. Members stay listed until their entries are invalidated: an attempt that fails
 * midway leaves them for the next one. Step 3's raise comes after the pop, so a writer whose
 * registration was popped read a lower sequence, even one that read step 1's: its store is refused.
 */
export async function invalidateSets(context: ClusterContext, sets: readonly string[], { grace = true, onProgress }: InvalidateOptions = {}): Promise<number> {
  if (sets.length === 0) return 0
  const seq = await context.guards.raise()
  let invalidated = 0
  for (let done = 0; done < sets.length;) {
    let pending = [...new Set(sets.slice(done, done + PART))]
    while (pending.length > 0) {
      const popped = await popStep(context, pending, seq)
      const members = [...new Set([...popped.values()].flatMap(listed => listed ?? []))]
      if (members.length > 0) {
        invalidated += await invalidateEntries(
          context,
          members.map(member => context.layout.entryOfMember(member)),
          await context.guards.raise(),
          grace,
        )
      }
      await unlist(context, popped)
      pending = pending.filter(set => popped.get(set)?.length !== 0)
      onProgress?.(done)
    }
    done = Math.min(sets.length, done + PART)
    onProgress?.(done)
  }
  return invalidated
}

/** deleteEntries on a Cluster: raise the sequence once, then per slot of the entries stamp their guards and delete them. */
export async function deleteEntries(context: ClusterContext, entries: readonly EntryRef[], { onProgress }: Pick<InvalidateOptions, 'onProgress'> = {}): Promise<number> {
  if (entries.length === 0) return 0
  const seq = await context.guards.raise()
  let deleted = 0
  for (let done = 0; done < entries.length; done += PART) {
    const part = entries.slice(done, done + PART)
    deleted += await invalidateEntries(context, part, seq, false)
    onProgress?.(done + part.length)
  }
  return deleted
}

/**
 * Step 2 for some sets: per set, the members now in its popped set, or undefined when its pop
 * got no share of the step's budget (it is simply sent again); an empty list means it is done.
 */
async function popStep(context: ClusterContext, sets: readonly string[], seq: number): Promise<Map<string, string[] | undefined>> {
  const { layout, acks } = context
  const result = new Map<string, string[] | undefined>()
  const parts = [...groupBySlot(sets, set => set).values()].flatMap(group => chunks(group, SETS_PER_STEP))
  const calls = parts.map(part => {
    const keys = part.flatMap(set => [set, layout.guard(set), layout.popped(set)])
    return { key: keys[0], command: 'cachemeClusterPop', args: [keys.length, ...keys, seq, GUARD_TTL_MS, MEMBERS_PER_STEP] }
  })
  const answers = await acks.runAll<[number, ...string[]][]>(calls)
  parts.forEach((part, p) =>
    part.forEach((set, i) => {
      const [share, ...members] = answers[p][i]
      result.set(set, Number(share) === 1 ? members : undefined)
    }),
  )
  return result
}

/** Step 3, and deleteEntries: per slot of the entries, stamp each one's guard with `seq` and invalidate it. */
async function invalidateEntries(context: ClusterContext, entries: readonly EntryRef[], seq: number, grace: boolean): Promise<number> {
  const { layout, acks } = context
  const now = Date.now()
  const calls = [...groupBySlot(entries, entry => entry.key).values()].flatMap(group =>
    chunks(group, ENTRIES_PER_STEP).map(part => {
      const keys = part.flatMap(entry => [entry.key, layout.entryGuard(entry)])
      return {
        key: keys[0],
        command: 'cachemeClusterInvalidateEntries',
        args: [keys.length, ...keys, seq, GUARD_TTL_MS, now, grace ? 1 : 0, ...part.map(entry => entry.field ?? '')],
      }
    }),
  )
  const counts = await acks.runAll<number>(calls)
  return counts.reduce((sum, count) => sum + Number(count), 0)
}

/** Step 4: the members step 3 invalidated leave their popped sets. */
async function unlist(context: ClusterContext, popped: ReadonlyMap<string, string[] | undefined>): Promise<void> {
  const { client, layout } = context
  const removals = [...popped].flatMap(([set, members]) => chunks(members ?? [], 512).map(part => client.srem(layout.popped(set), ...part)))
  await Promise.all(removals)
}
