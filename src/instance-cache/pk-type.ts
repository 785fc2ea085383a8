// The type of a model's primary key, and the one spelling every pk of that type has: what makes '01', '1' and 1 one row.
import { CachemeError } from '../errors'
import { isPk, type Pk } from './row-identity'

/** What the instance cache tells apart of a key's type: enough to spell each of its pks one way. */
export type PkKind = 'integer' | 'bigint' | 'uuid' | 'string' | 'unknown'

/** What a Sequelize model says of its attributes (`getAttributes()` since 6.x, `rawAttributes` before). */
interface AttributedModel {
  readonly name?: string
  readonly primaryKeyAttribute?: string
  readonly primaryKeyAttributes?: readonly string[]
  readonly rawAttributes?: Record<string, { type?: { key?: string } }>
  getAttributes?(): Record<string, { type?: { key?: string } }>
}

const INTEGER_TYPES = new Set(['INTEGER', 'SMALLINT', 'MEDIUMINT', 'TINYINT'])
const STRING_TYPES = new Set(['STRING', 'CHAR', 'TEXT', 'CITEXT'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const DESCRIBED: Partial<Record<PkKind, string>> = { integer: 'an integer', bigint: 'an integer', uuid: 'a UUID' }

// A model's attributes do not change once it is initialised.
const kinds = new WeakMap<object, PkKind>()

/** The kind of a model's single-column primary key; 'unknown' for a key of several columns or of another type. */
export function pkKindOf(model: object): PkKind {
  let kind = kinds.get(model)
  if (kind === undefined) {
    kind = kindOf(model as AttributedModel)
    kinds.set(model, kind)
  }
  return kind
}

function kindOf(model: AttributedModel): PkKind {
  const attribute = model.primaryKeyAttribute
  if (attribute === undefined || (model.primaryKeyAttributes?.length ?? 1) > 1) return 'unknown'
  const attributes = typeof model.getAttributes === 'function' ? model.getAttributes() : model.rawAttributes
  const type = attributes?.[attribute]?.type?.key ?? ''
  if (INTEGER_TYPES.has(type)) return 'integer'
  if (type === 'BIGINT') return 'bigint'
  if (type.startsWith('UUID')) return 'uuid'
  return STRING_TYPES.has(type) ? 'string' : 'unknown'
}

/**
 * The one spelling of `value` as a pk of this kind, or undefined when it cannot be one: an
 * integer as a number (beyond 2^53 a BIGINT stays exact as its decimal string, as Sequelize reads
 * it), a UUID in lower case, a string key as given (a number as its decimal string), another
 * type as given.
 */
export function pkOfKind(kind: PkKind, value: unknown): Pk | undefined {
  if (!isPk(value)) return undefined
  switch (kind) {
    case 'integer':
    case 'bigint': {
      // `+ 0` spells -0 as 0.
      if (typeof value === 'number') return Number.isSafeInteger(value) ? value + 0 : undefined
      if (!/^-?\d{1,20}$/.test(value)) return undefined
      const number = Number(value)
      if (Number.isSafeInteger(number)) return number + 0
      return kind === 'bigint' ? BigInt(value).toString() : undefined
    }
    case 'uuid':
      return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : undefined
    case 'string':
      return String(value)
    default:
      return value
  }
}

/** `pk` spelt by the model's key type; `caller` names the method in the error for a pk the type cannot hold. */
export function pkOfModel(model: object, pk: Pk, caller: string): Pk {
  const kind = pkKindOf(model)
  const spelt = pkOfKind(kind, pk)
  if (spelt === undefined) {
    const shown = typeof pk === 'string' ? JSON.stringify(pk) : String(pk)
    throw new CachemeError('INVALID_KEY', `${caller}: ${(model as AttributedModel).name} has ${DESCRIBED[kind]} primary key, got ${shown}`)
  }
  return spelt
}
