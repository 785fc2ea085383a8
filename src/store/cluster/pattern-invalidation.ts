import { scanKeys } from '../key-scan'
import { deleteMatchingFields } from '../scan-steps'
import type { InvalidateOptions } from '../store'
import type { ClusterContext } from './cluster-context'
import { groupBySlot } from '../../slots'

const SCAN_COUNT = 1000

/**
 * deleteMatching on a Cluster: raise the sequence once, stamp every slot guard with it (so a write
 * in flight anywhere is refused, as the prefix-wide guard does on standalone Redis), then SCAN
 * every master and delete what matches: whole keys, per slot, or with a `>` the matching fields.
 */
export async function deleteMatching(context: ClusterContext, pattern: string, { onProgress }: Pick<InvalidateOptions, 'onProgress'> = {}): Promise<number> {
  const { client, layout, guards, acks } = context
  const { keys, field } = layout.match(pattern, 'deleteMatching')
  await guards.ready()
  await guards.stampAll(await guards.raise())
  onProgress?.()
  const hdel = (hash: string, fields: string[]) => acks.run<number>(hash, 'hdel', [hash, ...fields])
  let deleted = 0
  for await (const { names } of scanKeys(client, keys, SCAN_COUNT, field === undefined ? undefined : 'hash')) {
    const entries = names.filter(name => layout.isEntryName(name))
    if (field !== undefined) {
      for (const hash of entries) deleted += await deleteMatchingFields(client, hash, field, onProgress, hdel)
    } else {
      const counts = await acks.runAll<number>([...groupBySlot(entries, name => name).values()].map(group => ({ key: group[0], command: 'unlink', args: group })))
      deleted += counts.reduce((sum, count) => sum + Number(count), 0)
    }
    onProgress?.()
  }
  return deleted
}
