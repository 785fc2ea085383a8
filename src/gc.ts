import { runtime } from './config'
import type { GcOptions, GcReport } from './store/store'

export type { GcOptions, GcReport } from './store/store'

const NOTHING_DONE: GcReport = { sets: 0, membersRemoved: 0, fieldsRemoved: 0 }

/**
 * Prunes the dependency and tag sets of the configured prefix: members whose entries are gone or
 * expired are removed, hash fields past their deadline deleted, and sets and hashes left empty go.
 * Writes prune a few members of what they touch; this catches what nobody writes to any more (run
 * it from a timer, e.g. hourly). Works in short steps, so it can run while the cache is in use.
 * Store faults are thrown: the caller asked for this.
 */
export async function gc(options?: GcOptions): Promise<GcReport> {
  const { store, enabled } = runtime()
  if (!enabled) return NOTHING_DONE
  return store.gc(options)
}
