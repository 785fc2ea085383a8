import type { ModelRef, Pk } from './row-identity'

/** What to read: a model, a pk, and optionally the row itself (used on a miss instead of the loader). */
export type InstanceSpec = readonly [model: ModelRef, pk: Pk, instance?: unknown]

/** A cached row: its data (typed fields decoded), its cache key (`keyFor`), and the row when it was given or loaded. */
export type CachedInstance = readonly [data: Record<string, unknown>, cacheKey: string, instance: unknown]

/**
 * Where rows are read from, by model and pk: what a `CachedQuery` needs of the instance cache.
 * The map is keyed by `instanceId(modelName(model), pk)` as each spec gave them, `Question:1`;
 * rows that do not exist are left out.
 */
export interface InstanceSource {
  getInstances(specs: Iterable<InstanceSpec>, version?: string): Promise<Map<string, CachedInstance>>
}
