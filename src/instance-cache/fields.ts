// Typed fields of a cached instance: a serializer stores `'name:Type'` keys whose JSON value a field type turns back into a richer value on read.
import { CachemeError } from '../errors'
import { isPk, storedModelName, type Pk } from './row-identity'
import { shown } from './shown'

/** What a converter may need besides the value: the app label of the cache writing it (PK and PKList store it). */
export interface FieldContext {
  readonly app: string
}

/**
 * A converter of one field type: the value(s) to a JSON-safe value and back.
 * `toJson` may take several values (PK takes the model and the pk); a value it cannot convert may throw, which `fieldToJson` reports with the field's name.
 */
export interface FieldType {
  toJson(context: FieldContext, ...value: unknown[]): unknown
  fromJson(json: unknown): unknown
}

/** Field types by name as written, e.g. `'DateTime'`; names are looked up case-insensitively. */
export type FieldTypes = ReadonlyMap<string, FieldType>

/** A related row known only by its primary key (the cache stores the reference, not the row). */
export class PkOnlyModel {
  constructor(
    readonly app: string,
    readonly model: string,
    readonly pk: Pk,
  ) {}
}

/** Related rows known only by their primary keys; iterating gives one `PkOnlyModel` per pk. */
export class PkOnlyList implements Iterable<PkOnlyModel> {
  readonly pks: readonly Pk[]

  constructor(
    readonly app: string,
    readonly model: string,
    pks: Iterable<Pk>,
  ) {
    this.pks = Object.freeze([...pks])
  }

  *[Symbol.iterator](): Iterator<PkOnlyModel> {
    for (const pk of this.pks) yield new PkOnlyModel(this.app, this.model, pk)
  }
}

const refuse = (problem: string): never => {
  throw new CachemeError('UNSERIALIZABLE_RESULT', problem)
}

// The stored shape of PK and PKList: { app, model, pk } or { app, model, pks }.
const isReference = (json: unknown): json is Record<string, unknown> & FieldContext & { model: string } =>
  typeof json === 'object' && json !== null && typeof (json as FieldContext).app === 'string' && typeof (json as { model?: unknown }).model === 'string'

// UTC midnight of the day, or null for a day that does not exist (2023-02-30) rather than rolling it over; Date.UTC() would read years 0-99 as 1900-1999.
function utcDay(year: number, month: number, day: number): Date | null {
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date : null
}

// Strings are Sequelize's DATEONLY values.
function toDay(value: unknown): Date | null {
  if (value === null || value === undefined) return null
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value
  if (typeof value !== 'string') return refuse(`a Date needs a Date or a 'YYYY-MM-DD' string, got ${shown(value)}`)
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  if (!match) return null
  const [year, month, day] = match.slice(1).map(Number)
  return utcDay(year, month, day)
}

const dateType: FieldType = {
  toJson(_context, value) {
    const day = toDay(value)
    return day && [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()]
  },
  fromJson(json) {
    return Array.isArray(json) && json.length === 3 && json.every(Number.isInteger) ? utcDay(json[0], json[1], json[2]) : null
  },
}

// Whole seconds are an integer; otherwise "<seconds>.<microseconds>" with the seconds floored, as Python's timegm() does, so the fraction is never negative.
const dateTimeType: FieldType = {
  toJson(_context, value) {
    if (value === null || value === undefined) return null
    if (!(value instanceof Date) && typeof value !== 'string') return refuse(`a DateTime needs a Date or an ISO date string, got ${shown(value)}`)
    const ms = value instanceof Date ? value.getTime() : Date.parse(value)
    if (Number.isNaN(ms)) return null
    const seconds = Math.floor(ms / 1000)
    const fraction = ms - seconds * 1000
    return fraction === 0 ? seconds : `${seconds}.${String(fraction * 1000).padStart(6, '0')}`
  },
  fromJson(json) {
    // Exactly six digits, as written: Python would read a shorter fraction as a count of microseconds, not as a decimal.
    const match = typeof json === 'string' ? /^(-?\d+)\.(\d{6})$/.exec(json) : null
    const date = new Date(typeof json === 'number' ? Math.round(json * 1000) : match ? Number(match[1]) * 1000 + Math.floor(Number(match[2]) / 1000) : NaN)
    return Number.isNaN(date.getTime()) ? null : date
  },
}

// A duration in seconds (JavaScript has no timedelta): an integer when whole, else the decimal string.
const timeDeltaType: FieldType = {
  toJson(_context, value) {
    if (value === null || value === undefined) return null
    if (typeof value !== 'number') return refuse(`a TimeDelta needs a number of seconds, got ${shown(value)}`)
    if (!Number.isFinite(value)) return null
    return Number.isInteger(value) ? value : String(value)
  },
  fromJson(json) {
    const seconds = typeof json === 'string' && json.trim() !== '' ? Number(json) : json
    return typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : null
  },
}

const pkType: FieldType = {
  toJson({ app }, model, pk) {
    if (pk === null || pk === undefined) return null
    if (!isPk(pk)) return refuse(`a PK needs a non-empty string or a number, got ${shown(pk)}`)
    // In lower case, as drf-cached-instances stores Django's model_name: a reference reads the same whoever wrote it.
    return { app, model: storedModelName(model as string), pk }
  },
  fromJson(json) {
    return isReference(json) && isPk(json.pk) ? new PkOnlyModel(json.app, json.model, json.pk) : null
  },
}

const pkListType: FieldType = {
  toJson({ app }, model, pks) {
    if (pks === null || pks === undefined) return null
    if (typeof pks !== 'object' || !(Symbol.iterator in pks)) return refuse(`a PKList needs an iterable of primary keys, got ${shown(pks)}`)
    const list = [...(pks as Iterable<unknown>)]
    const bad = list.find(pk => !isPk(pk))
    if (bad !== undefined) refuse(`a PKList needs non-empty strings or numbers, got ${shown(bad)}`)
    return { app, model: storedModelName(model as string), pks: list }
  },
  fromJson(json) {
    return isReference(json) && Array.isArray(json.pks) && json.pks.every(isPk) ? new PkOnlyList(json.app, json.model, json.pks) : null
  },
}

export const BUILTIN_FIELD_TYPES: FieldTypes = new Map([
  ['Date', dateType],
  ['DateTime', dateTimeType],
  ['TimeDelta', timeDeltaType],
  ['PK', pkType],
  ['PKList', pkListType],
])

/** Merges field type maps, later ones winning; a later `'date'` replaces an earlier `'Date'` since lookups ignore case. */
export function mergeFieldTypes(...maps: Iterable<readonly [string, FieldType]>[]): FieldTypes {
  const merged = new Map<string, FieldType>()
  for (const map of maps) {
    for (const [name, type] of map) {
      for (const existing of merged.keys()) if (existing.toLowerCase() === name.toLowerCase()) merged.delete(existing)
      merged.set(name, type)
    }
  }
  return merged
}

// The registered name is returned so keys are written one way whatever case the caller used; the last match wins, as in mergeFieldTypes().
function lookup(types: FieldTypes, type: string, caller: string): [string, FieldType] {
  let found: [string, FieldType] | undefined
  if (typeof type === 'string') for (const [name, fieldType] of types) if (name.toLowerCase() === type.toLowerCase()) found = [name, fieldType]
  if (!found) throw new CachemeError('INVALID_OPTIONS', `${caller}: unknown field type ${JSON.stringify(type)}, known: ${[...types.keys()].join(', ')}`)
  return found
}

/** Converts one field for storage: returns the key `'name:Type'` and the JSON-safe value. `app` is stored by PK and PKList. */
export function fieldToJson(types: FieldTypes, app: string, type: string, name: string, ...value: unknown[]): [string, unknown] {
  if (typeof name !== 'string' || name === '') throw new CachemeError('INVALID_OPTIONS', `fieldToJson(): field name must be a non-empty string, got ${shown(name)}`)
  if (name.includes(':')) throw new CachemeError('INVALID_OPTIONS', `fieldToJson(): field name ${JSON.stringify(name)} must not contain ':'`)
  const [typeName, fieldType] = lookup(types, type, 'fieldToJson()')
  try {
    return [`${name}:${typeName}`, fieldType.toJson({ app }, ...value)]
  } catch (error) {
    const code = error instanceof CachemeError ? error.code : 'UNSERIALIZABLE_RESULT'
    const problem = error instanceof Error ? error.message : String(error)
    throw new CachemeError(code, `fieldToJson(): field ${JSON.stringify(name)} of type ${typeName}: ${problem}`, { cause: error })
  }
}

/** Converts one stored field back: splits `'name:Type'` on the first ':' and returns the name and the value. */
export function fieldFromJson(types: FieldTypes, keyAndType: string, json: unknown): [string, unknown] {
  const colon = keyAndType.indexOf(':')
  if (colon <= 0) throw new CachemeError('INVALID_OPTIONS', `fieldFromJson(): key ${JSON.stringify(keyAndType)} is not 'name:Type'`)
  const [, fieldType] = lookup(types, keyAndType.slice(colon + 1), 'fieldFromJson()')
  return [keyAndType.slice(0, colon), fieldType.fromJson(json)]
}

/** Decodes every `'name:Type'` key of a stored object into `'name'`, returning a new object. Throws if two keys give one name. */
export function decodeFields(types: FieldTypes, data: Record<string, unknown>): Record<string, unknown> {
  const decoded: Record<string, unknown> = {}
  // defineProperty, not assignment: a stored "__proto__" key must stay a field, not replace the prototype.
  const set = (name: string, value: unknown) => Object.defineProperty(decoded, name, { value, enumerable: true, writable: true, configurable: true })
  for (const [key, stored] of Object.entries(data)) {
    const [name, value] = key.includes(':') ? fieldFromJson(types, key, stored) : [key, stored]
    if (Object.hasOwn(decoded, name))
      throw new CachemeError('INVALID_OPTIONS', `decodeFields(): two stored keys give the field ${JSON.stringify(name)}, the second is ${JSON.stringify(key)}`)
    set(name, value)
  }
  return decoded
}
