import { CachemeError } from '../errors'
import type { QueryableModel } from './queryable-model'
import { rowPk, type ModelRef, type Pk } from './row-identity'

/** A row as a serializer makes it: JSON-safe, typed fields under `'name:Type'` keys. */
export type SerializedRow = Record<string, unknown>

/** What an invalidator names: a raw cache key to delete, or an instance to refresh (deleted at once when `immediate`). */
export type InvalidatorItem = string | readonly [model: ModelRef, pk: Pk, immediate?: boolean]

type MaybePromise<T> = T | Promise<T>

/**
 * How one model is cached in one version. The naming convention of the original
 * (`question_default_serializer`, `_loader`, `_batch_loader`, `_invalidator` methods on the cache)
 * and `cache.register(Model, functions)` give the same thing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are whatever the application's loaders return
export interface ModelCacheFunctions<Row = any> {
  /** The row as JSON-safe data; null or undefined: the row does not exist. */
  serializer?(row: Row): MaybePromise<SerializedRow | null | undefined>
  /** The row with this pk, or null/undefined when there is none. Optional for a registered Sequelize model (findByPk). */
  loader?(pk: Pk): MaybePromise<Row | null | undefined>
  /** The rows of these pks in one query: an array (matched by pk) or a Map by pk. */
  batchLoader?(pks: Pk[]): MaybePromise<Iterable<Row> | ReadonlyMap<Pk, Row>>
  /** The other cached instances a change of this row makes stale. */
  invalidator?(row: Row): MaybePromise<Iterable<InvalidatorItem> | null | undefined>
}

/** The functions of one model and version, bound to the cache, with Sequelize defaults for the loaders. */
export interface ResolvedFunctions {
  readonly serializer?: (row: unknown) => Promise<SerializedRow | null | undefined>
  readonly loader: (pk: Pk) => Promise<unknown>
  readonly batchLoader?: (pks: Pk[]) => Promise<Map<string, unknown>>
  readonly invalidator?: (row: unknown) => Promise<InvalidatorItem[]>
}

/**
 * Finds a model's functions for a version: a registration first, then the methods named by the
 * convention. A Sequelize model the cache knows gets findByPk / findAll as its loaders.
 */
export function resolveFunctions(
  cache: object,
  registered: ModelCacheFunctions | undefined,
  sequelizeModel: QueryableModel | undefined,
  model: string,
  version: string,
): ResolvedFunctions | undefined {
  const named = (kind: 'serializer' | 'loader' | 'batch_loader' | 'invalidator'): Function | undefined => {
    const method = (cache as Record<string, unknown>)[`${model}_${version}_${kind}`]
    return typeof method === 'function' ? method : undefined
  }
  const serializer = registered?.serializer ?? named('serializer')
  const invalidator = registered?.invalidator ?? named('invalidator')
  const loader = registered?.loader ?? named('loader')
  const batchLoader = registered?.batchLoader ?? named('batch_loader')
  if (!serializer && !invalidator && !loader) return undefined
  const call =
    <A, R>(fn: Function) =>
    async (arg: A): Promise<R> =>
      fn.call(cache, arg)
  const missing = (): never => {
    throw new CachemeError('INVALID_OPTIONS', `the instance cache has no loader for ${model} in version ${version}: define ${model}_${version}_loader or register it`)
  }
  return {
    serializer: serializer && call(serializer),
    invalidator: invalidator && (async row => [...((await invalidator.call(cache, row)) ?? [])]),
    loader: loader ? call(loader) : sequelizeModel ? pk => sequelizeModel.findByPk(pk) : missing,
    batchLoader: batchLoader
      ? async pks => byPk(await batchLoader.call(cache, pks))
      : !loader && sequelizeModel
        ? async pks => byPk(await sequelizeModel.findAll({ where: { [sequelizeModel.primaryKeyAttribute]: pks } }))
        : undefined,
  }
}

/** A batch loader's rows by pk (as a string, the way keys spell it). */
function byPk(rows: Iterable<unknown> | ReadonlyMap<Pk, unknown>): Map<string, unknown> {
  const found = new Map<string, unknown>()
  if (rows instanceof Map) {
    for (const [pk, row] of rows) found.set(String(pk), row)
    return found
  }
  for (const row of rows as Iterable<unknown>) {
    const pk = rowPk(row)
    if (pk === undefined) throw new CachemeError('INVALID_OPTIONS', 'a batch loader returned a row without a primary key; return a Map by pk instead')
    found.set(String(pk), row)
  }
  return found
}
