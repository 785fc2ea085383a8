import type { Model, ModelStatic, Transaction } from 'sequelize'
import { failOpen, findRows, plainValues, primaryKeyWhere, readBack, rowOf } from './affected-rows'
import { internalsOf, isComputed, loadedAttributes } from './sequelize-internals'

/** Per instance being written, the columns it was not loaded with, as they were before the write. */
const unloadedBefore = new WeakMap<Model, Record<string, unknown>>()

interface WriteOptions {
  transaction?: Transaction | null
}

/**
 * Before an instance's update, destroy or restore: when a query loaded it with some attributes
 * only (`findByPk(1, { attributes: ['id', 'title'] })`), reads the columns it lacks, in the write's
 * transaction and before the write, since `cacheKey` may read them.
 */
export async function readUnloadedColumns(model: ModelStatic<Model>, row: Model, options: WriteOptions): Promise<void> {
  unloadedBefore.delete(row)
  const loaded = loadedAttributes(row)
  const columns = loaded ? Object.keys(internalsOf(model).tableAttributes).filter(name => !loaded.includes(name)) : []
  const where = columns.length > 0 ? primaryKeyWhere(model, [row]) : undefined
  if (!where) return
  const [found] = await failOpen(model, () => findRows(model, where, { transaction: options.transaction, attributes: columns }))
  if (found) unloadedBefore.set(row, Object.fromEntries(columns.map(name => [name, found.getDataValue(name)])))
}

/**
 * A saved row as it is and, when columns changed, as it was: `cacheKey` may depend on them (an
 * owner). Completed with the columns it was not loaded with; read back when the database computed
 * a value it wrote (`literal`, `fn`, `col`).
 */
export async function asSaved(model: ModelStatic<Model>, row: Model, options: WriteOptions): Promise<Model[]> {
  const unloaded = takeUnloaded(row)
  const previous = row.previous()
  const completed = Object.keys(unloaded).length > 0
  const was = completed || Object.keys(previous).length > 0 ? [rowOf(model, { ...plainValues(row), ...previous, ...unloaded })] : []
  const computed = Object.values(row.dataValues as Record<string, unknown>).some(value => isComputed(model, value))
  const is = computed ? await readBack(model, [row], options) : [completed ? rowOf(model, { ...unloaded, ...plainValues(row) }) : row]
  return [...is, ...was]
}

/**
 * An instance about to be saved, as the save will leave it and as it is, completed with the
 * columns it was not loaded with; none when no column changed. A value the database will compute
 * (`literal`) is known only after the write.
 */
export function asSaving(model: ModelStatic<Model>, row: Model): Model[] {
  const previous = row.previous()
  if (Object.keys(previous).length === 0) return []
  const unloaded = unloadedBefore.get(row) ?? {}
  return [rowOf(model, { ...unloaded, ...plainValues(row) }), rowOf(model, { ...plainValues(row), ...previous, ...unloaded })]
}

/** A destroyed or restored row, completed with the columns it was not loaded with. */
export function asRemovedOrRestored(model: ModelStatic<Model>, row: Model): Model {
  const unloaded = takeUnloaded(row)
  return Object.keys(unloaded).length > 0 ? rowOf(model, { ...plainValues(row), ...unloaded }) : row
}

function takeUnloaded(row: Model): Record<string, unknown> {
  const unloaded = unloadedBefore.get(row) ?? {}
  unloadedBefore.delete(row)
  return unloaded
}
