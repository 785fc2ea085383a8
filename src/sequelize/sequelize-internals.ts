import type { Model, ModelStatic, WhereOptions } from 'sequelize'

/**
 * The parts of Sequelize that cacheme reads and its typings do not declare, in one place. The
 * library is reached through a model's Sequelize instance: `sequelize` is an optional peer
 * dependency, so it is never imported at run time.
 */
interface SequelizeLibrary {
  readonly Op: { readonly and: symbol; readonly or: symbol; readonly gt: symbol }
  readonly Utils: { readonly SequelizeMethod: abstract new (...args: never[]) => object }
  /** Set by `Sequelize.useCLS(namespace)`: the namespace that holds the current transaction. */
  readonly _cls?: { get(key: string): unknown }
}

interface ModelInternals {
  /** The attributes that are columns (not VIRTUAL), by name. */
  readonly tableAttributes: Readonly<Record<string, unknown>>
  readonly uniqueKeys: Readonly<Record<string, { readonly fields: readonly string[] }>>
  readonly _indexes: readonly { readonly unique?: boolean; readonly where?: unknown; readonly fields: readonly unknown[] }[]
  readonly fieldRawAttributesMap: Readonly<Record<string, { readonly fieldName: string } | undefined>>
  /** The scope a scoped model (`Model.scope(...)`) applies, default scope included. */
  readonly _scope?: { readonly where?: WhereOptions }
}

export function libraryOf(model: ModelStatic<Model>): SequelizeLibrary | undefined {
  return model.sequelize?.constructor as unknown as SequelizeLibrary | undefined
}

export function internalsOf(model: ModelStatic<Model>): ModelInternals {
  return model as unknown as ModelInternals
}

/** A value the database computes (`literal`, `fn`, `col`, `cast`): what it wrote is known only by reading the row back. */
export function isComputed(model: ModelStatic<Model>, value: unknown): boolean {
  const method = libraryOf(model)?.Utils.SequelizeMethod
  return method !== undefined && value instanceof method
}

/** The attribute names a query loaded an instance with (`attributes: [...]`), or undefined when it was built otherwise. */
export function loadedAttributes(row: Model): readonly unknown[] | undefined {
  const attributes = (row as unknown as { _options?: { attributes?: unknown } })._options?.attributes
  return Array.isArray(attributes) ? attributes : undefined
}
