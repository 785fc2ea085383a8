// What names a cached row: its model (a class or a name, compared in lower case) and its primary key.
import { CachemeError } from '../errors'
import { shown } from './shown'

/** A model class or its name; names are compared in lower case. */
export type ModelRef = string | { readonly name: string }

/** A primary key as stored: `''` is not a key, `0` is. */
export type Pk = string | number

/** A pk as keys spell it: a non-empty string or a finite number (0 included). */
export const isPk = (value: unknown): value is Pk => (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value !== '')

export function checkedPk(pk: unknown, caller: string): Pk {
  if (isPk(pk)) return pk
  throw new CachemeError('INVALID_KEY', `${caller}: a pk must be a non-empty string or a finite number, got ${pk === '' ? 'an empty string' : String(pk)}`)
}

/** The model name as stored: a Sequelize model class (its `.name`) or a string, lower-cased so `'Question'` and `'question'` give one key. */
export function modelName(model: ModelRef): string {
  const name = typeof model === 'string' ? model : model?.name
  if (typeof name !== 'string' || name === '') throw new CachemeError('INVALID_OPTIONS', `modelName(): needs a model class or a non-empty name, got ${shown(model)}`)
  return name.toLowerCase()
}

/**
 * How one row is named among the instances of every model, `question:1`: the keys of the map
 * `getInstances` returns. `model` is a name as `modelName()` gives it.
 */
export function instanceId(model: string, pk: Pk): string {
  return `${model}:${pk}`
}

/** A Sequelize row's primary key, or a plain object's `pk` / `id`; undefined for a key of several columns. */
export function rowPk(row: unknown): Pk | undefined {
  if (row === null || typeof row !== 'object') return undefined
  const { primaryKeyAttribute: attribute, primaryKeyAttributes } = row.constructor as { primaryKeyAttribute?: string; primaryKeyAttributes?: string[] }
  if (primaryKeyAttributes && primaryKeyAttributes.length > 1) return undefined
  const value = attribute ? (row as { get(name: string): unknown }).get(attribute) : ((row as { pk?: unknown }).pk ?? (row as { id?: unknown }).id)
  return typeof value === 'string' || typeof value === 'number' ? value : undefined
}
