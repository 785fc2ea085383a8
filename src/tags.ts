import { runtime } from './config'

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

  /** Deletes every entry stored under this tag; returns how many were removed. */
  async invalidate(): Promise<number> {
    const { store, layout, enabled } = runtime()
    if (!enabled) return 0
    return store.invalidateSets([layout.tagSet(this.name)])
  }
}

/** Every tag a decorator has declared, by name. */
export const cachemeTags: Record<string, Tag> = Object.create(null)

/** The tag of that name, created on first use. */
export function tagNamed(name: string): Tag {
  return (cachemeTags[name] ??= new Tag(name))
}
