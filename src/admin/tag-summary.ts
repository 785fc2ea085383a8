import { cachemeTags, type Tag } from '../tags'

/** What the admin page shows of one tag. */
export interface TagSummary {
  readonly name: string
  /** Keys stored under the tag now; undefined when the store could not be asked. */
  readonly keys: number | undefined
  /** Counted in this process since it started. */
  readonly hits: number
  readonly misses: number
  /** hits / (hits + misses), undefined before the first call. */
  readonly hitRate: number | undefined
}

/** The tags declared in this process that `shown` accepts, by name, with their key counts and hit rates. */
export async function summarizeTags(shown: (name: string) => boolean = () => true): Promise<TagSummary[]> {
  const names = Object.keys(cachemeTags)
    .filter(name => shown(name))
    .sort()
  return Promise.all(names.map(name => summarize(name, cachemeTags[name])))
}

async function summarize(name: string, tag: Tag): Promise<TagSummary> {
  let keys: number | undefined
  try {
    keys = (await tag.keys()).length
  } catch {
    keys = undefined // the store is unreachable: the page still lists the tag
  }
  const { hits, misses } = tag.stats()
  return { name, keys, hits, misses, hitRate: hits + misses > 0 ? hits / (hits + misses) : undefined }
}
