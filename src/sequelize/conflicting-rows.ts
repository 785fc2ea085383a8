import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { findRows, readBack } from './affected-rows'
import { internalsOf, isComputed, libraryOf } from './sequelize-internals'

export interface ConflictOptions {
  transaction?: Transaction | null
  /** upsert's conflict target, as column names. */
  conflictFields?: readonly string[]
  /** bulkCreate's conflict target, as attribute names. */
  conflictAttributes?: readonly string[]
}

/**
 * Before an insert that updates on conflict (upsert, bulkCreate with updateOnDuplicate): the rows
 * it may update, as they are, since `cacheKey` may depend on a column it changes (an owner).
 */
export async function findConflicting(model: ModelStatic<Model>, records: readonly Model[], options: ConflictOptions): Promise<Model[]> {
  const where = conflictWhere(model, records, candidateKeys(model, conflictTarget(options)))
  return where ? findRows(model, where, { transaction: options.transaction }) : []
}

function conflictTarget(options: ConflictOptions): string[] {
  return [...(options.conflictFields ?? []), ...(options.conflictAttributes ?? [])]
}

/**
 * After it: the rows it updated, read back as they are now, and the records it created. A record
 * that shares a key with a row found before updated that row (SQLite gives such a record another
 * row's id): the row read back stands for it.
 */
export async function asWritten(model: ModelStatic<Model>, found: readonly Model[], records: readonly Model[], options: ConflictOptions): Promise<Model[]> {
  const keys = candidateKeys(model, conflictTarget(options))
  const existing = new Set(found.flatMap(row => keyValues(model, keys, row)))
  const created = records.filter(record => !keyValues(model, keys, record).some(value => existing.has(value)))
  return [...(await readBack(model, found, options)), ...created]
}

/**
 * The rows that share with one of the records its primary key, a unique key or unique index of
 * the model, or the conflict target the write names. Sequelize picks one of these as the target:
 * matching them all costs at most a few more keys to invalidate, and needs no copy of its choice.
 */
function conflictWhere(model: ModelStatic<Model>, records: readonly Model[], keys: readonly string[][]): WhereOptions | undefined {
  const clauses: WhereOptions[] = []
  for (const key of keys) {
    const tuples = records.map(record => keyTuple(model, key, record)).filter(tuple => tuple !== undefined)
    if (tuples.length === 0) continue
    if (key.length === 1) clauses.push({ [key[0]]: [...new Set(tuples.map(([value]) => value))] })
    else clauses.push(...tuples.map(tuple => Object.fromEntries(key.map((name, i) => [name, tuple[i]]))))
  }
  return clauses.length === 0 ? undefined : { [libraryOf(model)!.Op.or]: clauses }
}

/** Each set of attributes whose values identify at most one row. */
function candidateKeys(model: ModelStatic<Model>, target: readonly string[]): string[][] {
  const { tableAttributes, uniqueKeys, _indexes } = internalsOf(model)
  const keys = [
    [...model.primaryKeyAttributes],
    ...Object.values(uniqueKeys).map(unique => unique.fields),
    ..._indexes.filter(index => index.unique && !index.where).map(index => index.fields),
    target,
  ].map(fields => fields.map(field => attributeOf(model, field)))
  const distinct = new Map<string, string[]>()
  for (const key of keys) {
    if (key.length > 0 && key.every(name => name !== undefined && name in tableAttributes)) distinct.set(key.join('\n'), key as string[])
  }
  return [...distinct.values()]
}

/** The attribute of a column named in a key (a column name, an attribute name, or an index's `{ name }` / `{ attribute }`). */
function attributeOf(model: ModelStatic<Model>, field: unknown): string | undefined {
  const named = typeof field === 'string' ? field : ((field as { attribute?: unknown; name?: unknown } | null)?.attribute ?? (field as { name?: unknown } | null)?.name)
  if (typeof named !== 'string') return undefined
  return internalsOf(model).fieldRawAttributesMap[named]?.fieldName ?? named
}

/** A row's values of a key; undefined when one is missing or computed by the database. */
function keyTuple(model: ModelStatic<Model>, key: readonly string[], row: Model): unknown[] | undefined {
  const tuple = key.map(name => row.getDataValue(name))
  return tuple.every(value => value !== undefined && value !== null && !isComputed(model, value)) ? tuple : undefined
}

/** A row's values of each key, comparable across rows. */
function keyValues(model: ModelStatic<Model>, keys: readonly string[][], row: Model): string[] {
  return keys.flatMap((key, i) => {
    const tuple = keyTuple(model, key, row)
    return tuple ? [JSON.stringify([i, ...tuple])] : []
  })
}
