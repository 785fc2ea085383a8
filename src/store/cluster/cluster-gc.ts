import { scanKeys } from '../key-scan'
import { pruneInSteps } from '../scan-steps'
import { gcBatchSize, type GcOptions, type GcReport } from '../store'
import type { ClusterContext } from './cluster-context'
import { invalidateSets } from './cluster-invalidation'
import { pruneMembers } from './member-pruning'

/**
 * gc() on a Cluster: every master is walked. Each dependency and tag set is read an SSCAN page at
 * a time, and its dead members pruned as small invalidations (member-pruning.ts); a popped set
 * left by an invalidation that failed midway is finished (its set invalidated again); hash fields
 * past their deadline are deleted (prune-hash.lua, one key).
 */
export async function collectGarbage(context: ClusterContext, options?: GcOptions): Promise<GcReport> {
  const { client, layout } = context
  const batch = gcBatchSize(options)
  const everything = layout.pattern('*')
  let sets = 0
  let membersRemoved = 0
  const unfinished: string[] = []
  for await (const { names } of scanKeys(client, everything, batch, 'set')) {
    for (const name of names) {
      const set = layout.setOfPopped(name)
      if (set !== undefined) unfinished.push(set)
    }
    const indexSets = names.filter(name => layout.isIndexSet(name))
    sets += indexSets.length
    const removed = await Promise.all(indexSets.map(set => pruneSet(context, set, batch)))
    membersRemoved += removed.reduce((sum, count) => sum + count, 0)
  }
  if (unfinished.length > 0) await invalidateSets(context, unfinished)
  let fieldsRemoved = 0
  for await (const { names } of scanKeys(client, everything, batch, 'hash')) {
    const hashes = names.filter(name => layout.isEntryName(name))
    fieldsRemoved += await pruneInSteps(hashes, (hash, cursor) => client.cachemePruneHash(hash, Date.now(), cursor, batch))
  }
  return { sets, membersRemoved, fieldsRemoved }
}

/** One set, an SSCAN page at a time. */
async function pruneSet(context: ClusterContext, set: string, batch: number): Promise<number> {
  let removed = 0
  let cursor = '0'
  do {
    const [next, members] = await context.client.sscan(set, cursor, 'COUNT', batch)
    cursor = next
    removed += (await pruneMembers(context, set, members)).removed
  } while (cursor !== '0')
  return removed
}
