import { GUARD_TTL_MS, type ManyRead, type ManyWrite } from '../store'
import type { ClusterContext } from './cluster-context'
import { groupBySlot, slotOf } from '../../slots'
import { perMaster } from './per-master'

/** The instance cache's rows on a Cluster: one command or script per slot, the slots concurrently. */

/** One MGET per slot, the slots of one master in one pipeline, the sequence in its master's: one round trip per master. */
export async function readMany(context: ClusterContext, keys: readonly string[]): Promise<ManyRead> {
  const { client, layout, guards } = context
  await guards.ready()
  const values = new Array<string | undefined>(keys.length).fill(undefined)
  let seq = 0
  const indexed = keys.map((key, index) => ({ key, index }))
  // `undefined` stands for the sequence: its GET goes in the pipeline of the master that holds it.
  type Part = typeof indexed | undefined
  const readFromMaster = async (parts: Part[]) => {
    const pipeline = client.pipeline()
    for (const part of parts) {
      if (part === undefined) pipeline.get(layout.seq)
      else pipeline.mget(...part.map(({ key }) => key))
    }
    const results = (await pipeline.exec()) ?? []
    results.forEach(([error, found], i) => {
      if (error) throw error
      const part = parts[i]
      if (part === undefined) seq = found == null ? 0 : Number(found)
      else part.forEach(({ index }, j) => (values[index] = (found as (string | null)[])[j] ?? undefined))
    })
  }
  const parts: [number, Part][] = [...groupBySlot(indexed, ({ key }) => key), [slotOf(layout.seq), undefined]]
  await Promise.all(perMaster(client, parts).map(readFromMaster))
  return { values, seq }
}

/** Raises the sequence once, then per slot stamps the entries' guards and reads them in one script, durably: one round trip per master. */
export async function claimMany(context: ClusterContext, keys: readonly string[]): Promise<ManyRead> {
  const { layout, acks, guards } = context
  const seq = await guards.raise()
  const values = new Array<string | undefined>(keys.length).fill(undefined)
  const indexed = keys.map((key, index) => ({ key, index }))
  const groups = [...groupBySlot(indexed, ({ key }) => key).values()]
  const calls = groups.map(group => {
    const names = group.flatMap(({ key }) => [key, layout.guard(key)])
    return { key: names[0], command: 'cachemeClusterClaim', args: [names.length, ...names, seq, GUARD_TTL_MS] }
  })
  const found = await acks.runAll<(string | null)[]>(calls)
  groups.forEach((group, g) => group.forEach(({ index }, i) => (values[index] = found[g][i] ?? undefined)))
  return { values, seq }
}

/**
 * Per slot one script: stores skipped when the slot guard or the entry's guard is newer than
 * `seq`, or the slot guard is absent (then set again: writes computed before are refused); deletes
 * always done, durably.
 */
export async function writeMany(context: ClusterContext, writes: readonly ManyWrite[], seq: number): Promise<number> {
  if (writes.length === 0) return 0
  const { client, layout, acks, guards } = context
  await guards.ready()
  const counts = await Promise.all(
    [...groupBySlot(writes, ({ key }) => key).values()].map(async group => {
      const slot = slotOf(group[0].key)
      const keys = [guards.guardOf(slot), ...group.flatMap(({ key }) => [key, layout.guard(key)])]
      const args = [keys.length, ...keys, seq, ...group.flatMap(({ value, ttlMs }) => [value ?? '', ttlMs])]
      const deletes = group.some(({ value }) => value === undefined)
      const [done, absent] = deletes
        ? await acks.run<[number, number]>(group[0].key, 'cachemeClusterWriteMany', args)
        : await client.cachemeClusterWriteMany(keys.length, ...args.slice(1))
      if (Number(absent) === 1) await guards.restore(slot)
      return Number(done)
    }),
  )
  return counts.reduce((sum, count) => sum + count, 0)
}
