import { CachemeError } from '../errors'
import type { ModelRef, Pk } from './row-identity'

/** Members a data field of the same name does not replace; the field stays readable through `toJSON()`. */
const RESERVED = new Set(['pk', 'model', 'toJSON'])

/**
 * A row read from the instance cache, standing in for a model instance: its data fields (typed
 * fields decoded, so a DateTime is a Date) are read-only properties. `pk`, `model` and `toJSON`
 * are always the members below, whatever the data holds. A field the data lacks reads as
 * undefined; `CachedRow<D>` types the fields. `CachedModel` alone accepts any row.
 */
export class CachedModel<D extends object = object> {
  readonly #model: ModelRef
  // Not typed D, so that a row of any data is a CachedModel.
  readonly #data: Readonly<Record<string, unknown>>
  readonly #pkAttribute: string

  /** `pkAttribute` defaults to the Sequelize model's primary key attribute, else `'id'`. */
  constructor(model: ModelRef, data: D, pkAttribute?: string) {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new CachemeError('INVALID_OPTIONS', 'CachedModel takes the data of a row as an object')
    if (pkAttribute !== undefined && (typeof pkAttribute !== 'string' || pkAttribute === '')) {
      throw new CachemeError('INVALID_OPTIONS', 'CachedModel: pkAttribute must be a non-empty string')
    }
    this.#model = model
    // A copy: the row is a snapshot, whatever later happens to the object given.
    this.#data = { ...data } as Record<string, unknown>
    this.#pkAttribute = pkAttribute ?? (model as { primaryKeyAttribute?: string }).primaryKeyAttribute ?? 'id'
    // Own properties rather than a Proxy: spreading, Object.keys and the debugger see the fields; defineProperty keeps a "__proto__" field a field.
    for (const [name, value] of Object.entries(data)) {
      if (!RESERVED.has(name)) Object.defineProperty(this, name, { value, enumerable: true, writable: false, configurable: false })
    }
  }

  /** The value of the primary key attribute (undefined if the serializer does not store it). */
  get pk(): Pk {
    return this.#data[this.#pkAttribute] as Pk
  }

  /** The model this row belongs to, as given: a Sequelize model class or a name. */
  get model(): ModelRef {
    return this.#model
  }

  /** A copy of the data, so that `JSON.stringify(row)` and `res.json(row)` give the fields. */
  toJSON(): D {
    return { ...this.#data } as D
  }
}

/** A cached row with its data fields typed: `CachedRow<QuestionData>` has `text`, `publishedAt` ... besides `pk`, `model` and `toJSON()`. */
export type CachedRow<D extends object = Record<string, unknown>> = CachedModel<D> & Readonly<Omit<D, 'pk' | 'model' | 'toJSON'>>
