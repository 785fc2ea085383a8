import { cachemeTags, type Tag } from '../tags'

/** What the admin page shows of one tag. */
export interface TagSummary {
  readonly name: string
  /** Keys stored under the tag now; undefined when the store could not be asked. */
  readonly keys: number | undefined
  readonly hits: number | undefined
  readonly misses: number | undefined
  /** hits / (hits + misses), undefined before the first call or without statistics. */
  readonly hitRate: number | undefined
}

interface Counters {
  readonly hits?: number
  readonly misses?: number
}

/** Every tag declared in this process, by name, with its key count and its hit rate. */
export async function summarizeTags(): Promise<TagSummary[]> {
  const names = Object.keys(cachemeTags).sort()
  return Promise.all(names.map(name => summarize(name, cachemeTags[name])))
}

async function summarize(name: string, tag: Tag): Promise<TagSummary> {
  let keys: number | undefined
  try {
    keys = (await tag.keys()).length
  } catch {
    keys = undefined // the store is unreachable: the page still lists the tag
  }
  // Statistics are counted per process since it started, when the build provides them.
  const counters = (tag as Tag & { stats?: () => Counters }).stats?.()
  const hits = counters?.hits
  const misses = counters?.misses
  const calls = (hits ?? 0) + (misses ?? 0)
  return { name, keys, hits, misses, hitRate: hits !== undefined && calls > 0 ? hits / calls : undefined }
}
