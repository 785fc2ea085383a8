import { report, runtime, type Runtime } from './config'
import { CachemeError } from './errors'
import { cachemeEvents } from './events'
import { metrics } from './metrics'
import type { InvalidateOptions } from './store/store'

/** The ways of choosing what to invalidate by hand (see `invalidate()`), in the order messages list them. */
export const TARGET_KINDS = ['key', 'invalidKey', 'tag', 'pattern'] as const
export type TargetKind = (typeof TARGET_KINDS)[number]

/**
 * One way of choosing what to invalidate by hand: `{ key }`, `{ invalidKey }`, `{ tag }` or
 * `{ pattern }`. `grace: false` deletes entries that have grace instead of keeping them stale
 * (keys and patterns always delete).
 */
export type InvalidateTarget = { readonly [Kind in TargetKind]: { readonly [Name in Kind]: string } }[TargetKind] & { readonly grace?: boolean }

let issued = 0

/**
 * How many invalidations this process has issued. A computation shared by concurrent misses
 * compares it before and after, so that a caller never receives a value computed before a change
 * it could have seen, even when the store cannot tell (it is down).
 */
export function localInvalidations(): number {
  return issued
}

/**
 * Invalidates cached entries by hand: one `key`, every entry depending on an `invalidKey`, a
 * `tag`'s entries, or the entries whose keys match a Redis glob `pattern` inside the prefix.
 * Returns how many were invalidated; 0 when Redis cannot be reached, and then the invalidation is
 * delivered when it answers again.
 */
export async function invalidate(target: InvalidateTarget): Promise<number> {
  const [kind, value] = chosen(target)
  const options = { grace: target.grace ?? true }
  const { store, layout, enabled } = runtime()
  if (!enabled) return 0
  issued++
  const count = await (() => {
    switch (kind) {
      case 'key':
        return store.deleteEntries([layout.entry(value, 'invalidate({ key })')])
      case 'invalidKey':
        return store.invalidateSets([layout.invalidSet(value)], options)
      case 'tag':
        return store.invalidateSets([layout.tagSet(value)], options)
      case 'pattern':
        // Checked here: the store queues what it fails to deliver, and a bad pattern never delivers.
        layout.match(value, 'invalidate({ pattern })')
        return store.deleteMatching(value)
    }
  })()
  if (kind === 'tag') metrics.add(value, 'invalidations', count)
  cachemeEvents.emit('invalidate', count, kind)
  return count
}

/**
 * Empties the dependency sets of these invalid keys (what a model change does). Faults are
 * reported, never thrown: a write to the database must not fail because the cache did.
 */
export async function invalidateDependencies(invalidKeys: Iterable<string>, options: InvalidateOptions = {}): Promise<void> {
  const keys = [...new Set(invalidKeys)]
  if (keys.length === 0) return
  await invalidateForModel(keys, ({ store, layout }) =>
    store.invalidateSets(
      keys.map(key => layout.invalidSet(key)),
      options,
    ),
  )
}

/**
 * Invalidates every entry under the prefix: what a bulk write over more rows than its model's
 * `cachemeBulkLimit` does instead of naming each row's keys. Faults are reported, never thrown.
 */
export function invalidateEverything(): Promise<void> {
  return invalidateForModel('*', ({ store }) => store.deleteMatching('*'))
}

/** A model change's invalidation: counted, announced as `model`, its faults reported. */
async function invalidateForModel(concerned: string | readonly string[], deliver: (current: Runtime) => Promise<number>): Promise<void> {
  const current = runtime()
  if (!current.enabled) return
  issued++
  try {
    cachemeEvents.emit('invalidate', await deliver(current), 'model')
  } catch (error) {
    report(error, { operation: 'invalidate', key: concerned })
  }
}

function chosen(target: InvalidateTarget): [TargetKind, string] {
  const given = target === null || typeof target !== 'object' ? [] : TARGET_KINDS.filter(name => (target as Record<string, unknown>)[name] !== undefined)
  if (given.length !== 1) {
    throw new CachemeError('INVALID_OPTIONS', `invalidate() takes exactly one of ${TARGET_KINDS.join(', ')}, got ${given.length === 0 ? 'none' : given.join(' and ')}`)
  }
  const value = (target as Record<string, unknown>)[given[0]]
  if (typeof value !== 'string' || value === '') {
    throw new CachemeError('INVALID_OPTIONS', `invalidate({ ${given[0]} }) needs a non-empty string, got ${typeof value}`)
  }
  return [given[0], value]
}
