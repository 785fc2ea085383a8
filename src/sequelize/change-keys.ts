import type { Model, ModelStatic } from 'sequelize'
import { CachemeError } from '../errors'
import type { M2MCacheKeys } from '../options'

export type { M2MCacheKeys }

/**
 * The invalid keys that changed rows make stale: each row's `cacheKey` (a string or an array), and
 * for a through model, the keys its static `m2mCacheKeys` gives for the ids on both sides of the links.
 */
export function changeKeys(model: ModelStatic<Model>, rows: readonly Model[]): string[] {
  const keys: string[] = []
  const add = (item: unknown): void => {
    if (Array.isArray(item)) item.forEach(add)
    else if (typeof item === 'string' && item !== '') keys.push(item)
  }
  for (const row of rows) add((row as Model & { cacheKey?: unknown }).cacheKey)
  const m2m = (model as ModelStatic<Model> & { m2mCacheKeys?: M2MCacheKeys }).m2mCacheKeys
  if (m2m) {
    for (const [modelName, ids] of linkedIds(model, rows)) {
      const keysFor = m2m[modelName]
      if (keysFor === undefined) continue
      if (typeof keysFor !== 'function') throw new CachemeError('INVALID_OPTIONS', `${model.name}.m2mCacheKeys.${modelName} must be a function`)
      add(keysFor(ids))
    }
  }
  return keys
}

/** Per linked model name, the distinct ids that the through rows point to. */
function linkedIds(through: ModelStatic<Model>, rows: readonly Model[]): Map<string, unknown[]> {
  const ids = new Map<string, Set<unknown>>()
  for (const [foreignKey, modelName] of foreignKeysOf(through)) {
    const seen = ids.get(modelName) ?? new Set()
    ids.set(modelName, seen)
    for (const row of rows) {
      const id = row.get(foreignKey)
      if (id !== null && id !== undefined) seen.add(id)
    }
  }
  return new Map([...ids].map(([name, set]) => [name, [...set]]))
}

interface BelongsToManyLike {
  associationType: string
  foreignKey: string
  otherKey: string
  source: ModelStatic<Model>
  target: ModelStatic<Model>
  through: { model: ModelStatic<Model> }
}

/**
 * The through model's foreign keys and the models they point to, read from the belongsToMany
 * associations that use it. Read at change time, so associations defined after registration count.
 */
function foreignKeysOf(through: ModelStatic<Model>): Map<string, string> {
  const keys = new Map<string, string>()
  for (const model of Object.values(through.sequelize?.models ?? {})) {
    for (const association of Object.values(model.associations) as unknown as BelongsToManyLike[]) {
      if (association.associationType !== 'BelongsToMany' || association.through.model !== through) continue
      keys.set(association.foreignKey, association.source.name)
      keys.set(association.otherKey, association.target.name)
    }
  }
  return keys
}
