// What names a cached row: its model (a class or a name) and its primary key, as the caller spelt them and as keys spell them.
import { CachemeError } from '../errors'
import { shown } from './shown'

/** A model class or its name; names are matched in any case. */
export type ModelRef = string | { readonly name: string }

/** A primary key as stored: `''` is not a key, `0` is. */
export type Pk = string | number

/** A pk as keys spell it: a non-empty string or a finite number (0 included). */
export const isPk = (value: unknown): value is Pk => (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value !== '')

export function checkedPk(pk: unknown, caller: string): Pk {
  if (isPk(pk)) return pk
  throw new CachemeError('INVALID_KEY', `${caller}: a pk must be a non-empty string or a finite number, got ${pk === '' ? 'an empty string' : String(pk)}`)
}

/** The model's name as handed back: a string as given, a model class by the name it declares (`.name`). */
export function modelName(model: ModelRef): string {
  const name = typeof model === 'string' ? model : model?.name
  if (typeof name !== 'string' || name === '') throw new CachemeError('INVALID_OPTIONS', `modelName(): needs a model class or a non-empty name, got ${shown(model)}`)
  return name
}

/** The model's name as keys, stored references and lookups spell it: lower case, so `'Question'` and `'question'` are one model. */
export function storedModelName(model: ModelRef): string {
  return modelName(model).toLowerCase()
}

/** One row as the instance cache names it. */
export interface RowIdentity {
  /** The model as given, or as its class declares it (`User`): the spelling handed back. */
  readonly model: string
  /** The model in lower case (`user`): the spelling of keys and lookups. */
  readonly storedModel: string
  /** The pk spelt by the model's key type (`1` for `'01'` of an integer key), or as given when the type is not known. */
  readonly pk: Pk
}

/**
 * How one row is named among the instances of every model, `Question:1`: the keys of the map
 * `getInstances` returns, made of the model and the pk as the spec gave them.
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
