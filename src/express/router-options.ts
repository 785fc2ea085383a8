import type { Attributes, FindOptions, Model, ModelStatic } from 'sequelize'
import type { BaseCache } from '../instance-cache/base-cache'
import type { Pk } from '../instance-cache/row-identity'
import { OptionChecks } from '../option-checks'
import { defaultParsePk, type WritableFields } from './request-parsing'
import { toResponse } from './responses'

/** What the list reads: its filter and order. The list's SQL query selects the primary keys only. */
export type ListOptions<M extends Model = Model> = Pick<FindOptions<Attributes<M>>, 'where' | 'order' | 'include' | 'paranoid'>

export interface CachedRouterOptions<M extends Model = Model> {
  /**
   * The cache version served, one of the cache's `versions`.
   * @default the cache's `defaultVersion`
   * @example { version: 'v2' }
   */
  readonly version?: string
  /**
   * The list's filter and order. The primary key ends every order, so that pages do not overlap.
   * It applies to `GET /` only: `GET /:pk` serves any row the cache has.
   * @default every row, by primary key
   * @example { findOptions: { where: { published: true }, order: [['title', 'ASC']] } }
   */
  readonly findOptions?: ListOptions<M>
  /**
   * Items in a page when `?limit=` is not given.
   * @default 20
   * @example { pageSize: 50 }
   */
  readonly pageSize?: number
  /**
   * The largest `?limit=`; a larger one is lowered to it.
   * @default 100
   * @example { maxPageSize: 500 }
   */
  readonly maxPageSize?: number
  /**
   * `true` adds `POST /`, `PATCH /:pk` and `DELETE /:pk`, with every attribute writable but the
   * timestamps and the primary key (which a create may set when the database does not make it).
   * A list of attributes allows these only (the primary key in it: on create).
   * @default false
   * @example { writable: ['title', 'body'] }
   */
  readonly writable?: boolean | readonly (keyof Attributes<M> & string)[]
  /**
   * The primary key a URL segment names, or undefined when it is malformed (400). It must return
   * the key as the row holds it (`17`, not `'017'`), since the hooks refresh that key's entry.
   * @default by the key's type: integers, UUIDs (lower case), else any non-empty string
   * @example { parsePk: segment => (/^[a-z0-9-]{1,64}$/.test(segment) ? segment : undefined) }
   */
  readonly parsePk?: (segment: string) => Pk | undefined
  /**
   * What a row's cached data is sent as.
   * @default toResponse
   * @example { toResponse: ({ passwordHash, ...data }) => toResponse(data) }
   */
  readonly toResponse?: (data: Record<string, unknown>) => unknown
}

const OPTION_NAMES = ['version', 'findOptions', 'pageSize', 'maxPageSize', 'writable', 'parsePk', 'toResponse']

/** The options checked, with their defaults. */
export interface RouterSettings {
  readonly version: string | undefined
  readonly findOptions: ListOptions | undefined
  readonly order: NonNullable<FindOptions['order']>
  readonly pageSize: number
  readonly maxPageSize: number
  /** What a create and an update may set; undefined when the router is read-only. */
  readonly writable: { readonly create: WritableFields; readonly update: WritableFields } | undefined
  readonly parsePk: (segment: string) => Pk | undefined
  readonly toResponse: (data: Record<string, unknown>) => unknown
}

export function checkedRouterOptions<M extends Model>(cache: BaseCache, model: ModelStatic<M>, options: CachedRouterOptions<M>): RouterSettings {
  const checks = new OptionChecks('cachedRouter()')
  if (cache === null || typeof cache !== 'object' || typeof cache.getInstances !== 'function') checks.fail('the first argument must be a BaseCache')
  if (typeof model !== 'function' || typeof model.findAll !== 'function' || typeof model.getAttributes !== 'function') checks.fail('the second argument must be a Sequelize model')
  if (model.primaryKeyAttributes.length !== 1) checks.fail(`${model.name} must have exactly one primary key attribute, not ${model.primaryKeyAttributes.length}`)
  const { version, findOptions, pageSize = 20, maxPageSize = 100, writable = false, parsePk, toResponse: represent } = checks.object(options, OPTION_NAMES)
  if (version !== undefined && !cache.versions.includes(version)) checks.fail(`unknown version ${JSON.stringify(version)} (versions: ${cache.versions.join(', ')})`)
  if (findOptions !== undefined && (findOptions === null || typeof findOptions !== 'object')) checks.fail('findOptions must be an object of where, order, include, paranoid')
  checks.wholeNumber('maxPageSize', maxPageSize, 1)
  checks.wholeNumber('pageSize', pageSize, 1)
  if (pageSize > maxPageSize) checks.fail(`pageSize ${pageSize} is larger than maxPageSize ${maxPageSize}`)
  checks.optionalFunction('parsePk', parsePk, '(segment) => pk | undefined')
  checks.optionalFunction('toResponse', represent, '(data) => unknown')
  const anyModel = model as unknown as ModelStatic<Model>
  return {
    version,
    findOptions: findOptions as ListOptions | undefined,
    order: pageOrder(anyModel, findOptions?.order, checks),
    pageSize,
    maxPageSize,
    writable: writableFields(anyModel, writable, checks),
    parsePk: parsePk ?? defaultParsePk(anyModel),
    toResponse: represent ?? toResponse,
  }
}

/** The list's order, ended by the primary key: rows the order ties would otherwise move between pages. */
function pageOrder(model: ModelStatic<Model>, given: unknown, checks: OptionChecks): NonNullable<FindOptions['order']> {
  const order = given ?? []
  if (!Array.isArray(order)) checks.fail('findOptions.order must be an array, as [["title", "ASC"]]')
  const pk = model.primaryKeyAttribute
  const byPk = (order as unknown[]).some(item => item === pk || (Array.isArray(item) && item.length === 2 && item[0] === pk))
  return (byPk ? order : [...(order as unknown[]), [pk, 'ASC']]) as NonNullable<FindOptions['order']>
}

/** The attributes a create and an update may set. */
function writableFields(model: ModelStatic<Model>, writable: unknown, checks: OptionChecks): RouterSettings['writable'] {
  if (writable === false) return undefined
  const attributes = model.getAttributes() as Record<string, { autoIncrement?: boolean; defaultValue?: unknown; _autoGenerated?: boolean }>
  const pk = model.primaryKeyAttribute
  // SQLite would even store a row without it, under a key no URL can name.
  const pkGiven = !attributes[pk].autoIncrement && attributes[pk].defaultValue === undefined && !attributes[pk]._autoGenerated
  if (writable === true) {
    // Sequelize maintains the timestamps (and the default id); marked _autoGenerated or listed here.
    const timestamps = new Set(Object.values((model as unknown as { _timestampAttributes?: Record<string, string> })._timestampAttributes ?? {}))
    const update = Object.keys(attributes).filter(name => name !== pk && !timestamps.has(name) && !attributes[name]._autoGenerated)
    return { create: { fields: pkGiven ? [pk, ...update] : update, required: pkGiven ? [pk] : [] }, update: { fields: update } }
  }
  if (!Array.isArray(writable) || writable.some(name => typeof name !== 'string')) return checks.fail('writable must be true, false or an array of attribute names')
  const unknown = writable.filter(name => !Object.hasOwn(attributes, name))
  if (unknown.length > 0) checks.fail(`writable: ${model.name} has no attribute ${unknown.join(', ')}`)
  return {
    create: { fields: [...writable], required: pkGiven && writable.includes(pk) ? [pk] : [] },
    update: { fields: writable.filter(name => name !== pk) },
  }
}
