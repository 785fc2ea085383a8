import type { Cluster, Redis } from 'ioredis'

/** Fields per HSCAN page when a pattern deletes hash fields. */
const FIELDS_PER_PAGE = 1000

/**
 * Deletes the fields of a hash that match a glob, an HSCAN page at a time (`hdel` deletes one
 * page's fields: a Cluster store makes it durable). Returns fields deleted.
 */
export async function deleteMatchingFields(
  client: Redis | Cluster,
  hash: string,
  fieldGlob: string,
  onProgress: (() => void) | undefined,
  hdel: (hash: string, fields: string[]) => Promise<number> = (key, fields) => client.hdel(key, ...fields),
): Promise<number> {
  let deleted = 0
  let cursor = '0'
  do {
    const [next, fieldsAndValues] = await client.hscan(hash, cursor, 'MATCH', fieldGlob, 'COUNT', FIELDS_PER_PAGE)
    cursor = next
    const fields = fieldsAndValues.filter((_, i) => i % 2 === 0)
    if (fields.length > 0) deleted += await hdel(hash, fields)
    onProgress?.()
  } while (cursor !== '0')
  return deleted
}

/**
 * Runs a prune step on every key, then again on those whose scan cursor has not come back to 0:
 * a big set or hash takes several short script calls instead of one long one.
 */
export async function pruneInSteps(keys: string[], step: (key: string, cursor: string) => Promise<[string, number]>): Promise<number> {
  let removed = 0
  let pending = keys.map(key => ({ key, cursor: '0' }))
  while (pending.length > 0) {
    const results = await Promise.all(pending.map(({ key, cursor }) => step(key, cursor)))
    pending = pending.map(({ key }, i) => ({ key, cursor: results[i][0] })).filter(({ cursor }) => cursor !== '0')
    removed += results.reduce((sum, [, count]) => sum + Number(count), 0)
  }
  return removed
}
