import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { report } from '../config'
import { currentTransaction } from './after-commit'
import { isComputed, libraryOf } from './sequelize-internals'

export interface RowLookup {
  readonly transaction?: Transaction | null
  /** Live rows only; by default soft-deleted rows are found too (a write may touch them). */
  readonly paranoid?: boolean
  /** Only these columns; by default the whole row. */
  readonly attributes?: readonly string[]
}

/**
 * The rows of `model` that `where` matches, as the write's transaction sees them, and locked in it
 * (PostgreSQL's FOR UPDATE; SQLite's write lock covers the database) so that no concurrent writer
 * changes them between this read and the write. Scopes are left out: a write's `where` already
 * holds its scope. Every lookup of the rows a write touches goes through here.
 */
export function findRows(model: ModelStatic<Model>, where: WhereOptions, lookup: RowLookup = {}): Promise<Model[]> {
  return model.unscoped().findAll(queryOf(model, where, lookup))
}

/** Rows per query when the rows of a write are read in pages. */
export const PAGE_ROWS = 1000

/**
 * The rows findRows would find, a page at a time, in primary key order: each page is the next
 * rows after the last key of the one before (keyset pagination), so that no more than one page is
 * loaded at once however many rows match. The first page may be smaller (`firstPageRows`); stops
 * after `maxRows`. A model without a primary key is read in one page.
 */
export async function* rowPages(
  model: ModelStatic<Model>,
  where: WhereOptions,
  lookup: RowLookup = {},
  { pageRows = PAGE_ROWS, firstPageRows = pageRows, maxRows = Infinity }: { pageRows?: number; firstPageRows?: number; maxRows?: number } = {},
): AsyncGenerator<Model[]> {
  const keys = model.primaryKeyAttributes
  if (keys.length === 0) {
    yield await findRows(model, where, lookup)
    return
  }
  const { and } = libraryOf(model)!.Op
  const order = keyOrder(keys)
  for (let read = 0, last: Model | undefined; read < maxRows;) {
    const limit = Math.min(last ? pageRows : firstPageRows, maxRows - read)
    const page = await model.unscoped().findAll({ ...queryOf(model, last ? { [and]: [where, following(model, keys, last)] } : where, lookup), order, limit })
    if (page.length > 0) yield page
    if (page.length < limit) return
    read += page.length
    last = page[page.length - 1]
  }
}

/**
 * Whether `where` matches more than `count` rows: one query that skips `count` of them in primary
 * key order and reads the key of the next, if any, building no instance.
 */
export async function matchesMoreThan(model: ModelStatic<Model>, where: WhereOptions, lookup: RowLookup, count: number): Promise<boolean> {
  const keys = model.primaryKeyAttributes
  const next = await model
    .unscoped()
    .findAll({ ...queryOf(model, where, lookup), lock: undefined, attributes: [...keys], order: keyOrder(keys), offset: count, limit: 1, raw: true })
  return next.length > 0
}

const keyOrder = (keys: readonly string[]) => keys.map(key => [key, 'ASC'] as [string, string])

function queryOf(model: ModelStatic<Model>, where: WhereOptions, lookup: RowLookup) {
  return {
    where,
    transaction: lookup.transaction,
    lock: currentTransaction(model, lookup) ? true : undefined,
    paranoid: lookup.paranoid ?? false,
    attributes: lookup.attributes ? [...lookup.attributes] : undefined,
  }
}

/** The rows after `last` in the order of these key columns: (a, b) > (x, y) is a > x, or a = x and b > y. */
function following(model: ModelStatic<Model>, keys: readonly string[], last: Model): WhereOptions {
  const { or, gt } = libraryOf(model)!.Op
  const clauses = keys.map((key, i) => ({ ...Object.fromEntries(keys.slice(0, i).map(before => [before, last.getDataValue(before)])), [key]: { [gt]: last.getDataValue(key) } }))
  return clauses.length === 1 ? clauses[0] : { [or]: clauses }
}

/** The rows as the write left them, found again by primary key: the database computed what it wrote, or it was not all given. */
export async function readBack(model: ModelStatic<Model>, rows: readonly Model[], lookup: RowLookup = {}): Promise<Model[]> {
  const where = primaryKeyWhere(model, rows)
  return where ? failOpen(model, () => findRows(model, where, { transaction: lookup.transaction })) : []
}

/** A hook's lookup fails open: the error is reported, no rows are found, and the application's write goes on. */
export async function failOpen(model: ModelStatic<Model>, find: () => Promise<Model[]>): Promise<Model[]> {
  try {
    return await find()
  } catch (error) {
    report(error, { operation: 'invalidate', key: model.name })
    return []
  }
}

/** Where clause for these rows by primary key; undefined when none has one. */
export function primaryKeyWhere(model: ModelStatic<Model>, rows: readonly Model[]): WhereOptions | undefined {
  const keys = model.primaryKeyAttributes
  const identified = rows.filter(row => keys.every(key => row.getDataValue(key) !== undefined && row.getDataValue(key) !== null))
  if (keys.length === 0 || identified.length === 0) return undefined
  if (keys.length === 1) return { [keys[0]]: [...new Set(identified.map(row => row.getDataValue(keys[0])))] }
  return { [libraryOf(model)!.Op.or]: identified.map(row => Object.fromEntries(keys.map(key => [key, row.getDataValue(key)]))) }
}

/** A bulk update's rows as the write left them: copies with its values, or read back when the database computed some of them. */
export async function asUpdated(model: ModelStatic<Model>, rows: readonly Model[], values: Record<string, unknown> | undefined, lookup: RowLookup): Promise<Model[]> {
  if (!values) return []
  if (Object.values(values).some(value => isComputed(model, value))) return readBack(model, rows, lookup)
  return rows.map(row => rowOf(model, { ...plainValues(row), ...values }))
}

/** A row built from values, to read the `cacheKey` that version of it has. */
export function rowOf(model: ModelStatic<Model>, values: Record<string, unknown>): Model {
  return model.build(values, { isNewRecord: false, raw: true })
}

export function plainValues(row: Model): Record<string, unknown> {
  return row.get({ plain: true }) as Record<string, unknown>
}
