import { runtime } from './config'
import { invalidate } from './invalidation'
import { metrics, type TagStats } from './metrics'

/** A group of cached keys: by default those of one decorated method (`ClassName.methodName`). */
export class Tag {
  constructor(readonly name: string) {}

  /** The keys stored under this tag now, as the key function made them. */
  async keys(): Promise<string[]> {
    const { store, layout, enabled } = runtime()
    if (!enabled) return []
    const members = await store.liveMembers(layout.tagSet(this.name))
    return members.map(member => layout.userKey(member))
  }

  /** This tag's counters in this process: hits, misses, stores, refused writes, invalidations, errors, compute time. */
  stats(): TagStats {
    return metrics.stats(this.name)
  }

  /** Invalidates every entry stored under this tag; returns how many. `grace: false` deletes entries that have grace. */
  invalidate(options: { grace?: boolean } = {}): Promise<number> {
    return invalidate({ tag: this.name, ...options })
  }
}

/** Every tag a decorator has declared, by name. */
export const cachemeTags: Record<string, Tag> = Object.create(null)

/** The tag of that name, created on first use. */
export function tagNamed(name: string): Tag {
  return (cachemeTags[name] ??= new Tag(name))
}
