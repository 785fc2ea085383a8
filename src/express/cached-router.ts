import type { NextFunction, Request, Response, Router } from 'express'
import type { Attributes, CreationAttributes, FindOptions, Model, ModelStatic } from 'sequelize'
import { CachemeError } from '../errors'
import type { BaseCache } from '../instance-cache/base-cache'
import { PkOnlyList, PkOnlyModel } from '../instance-cache/fields'
import { instanceId, modelName, type Pk } from '../instance-cache/row-identity'

/** What the list reads: its filter and order. The list's SQL query selects the primary keys only. */
export type ListOptions<M extends Model = Model> = Pick<FindOptions<Attributes<M>>, 'where' | 'order' | 'include' | 'paranoid'>

export interface CachedRouterOptions<M extends Model = Model> {
  /** The cache version served. Default: the cache's `defaultVersion`. */
  readonly version?: string
  /**
   * The list's filter and order (default: by primary key, which also ends every other order so
   * that pages do not overlap). It applies to `GET /` only: `GET /:pk` serves any row the cache has.
   */
  readonly findOptions?: ListOptions<M>
  /** Items in a page when `?limit=` is not given. Default 20. */
  readonly pageSize?: number
  /** The largest `?limit=`; a larger one is lowered to it. Default 100. */
  readonly maxPageSize?: number
  /**
   * `true` adds `POST /`, `PATCH /:pk` and `DELETE /:pk`, with every attribute writable but the
   * timestamps and the primary key (which a create may set when the database does not make it).
   * A list of attributes allows these only (the primary key in it: on create). Default false.
   */
  readonly writable?: boolean | readonly (keyof Attributes<M> & string)[]
  /**
   * The primary key a URL segment names, or undefined when it is malformed (400). It must return
   * the key as the row holds it (`17`, not `'017'`), since the hooks refresh that key's entry.
   * Default: by the key's type: integers, UUIDs (lower case), else any non-empty string.
   */
  readonly parsePk?: (segment: string) => Pk | undefined
  /** What a row's cached data is sent as. Default `toResponse`. */
  readonly toResponse?: (data: Record<string, unknown>) => unknown
}

const OPTION_NAMES = new Set(['version', 'findOptions', 'pageSize', 'maxPageSize', 'writable', 'parsePk', 'toResponse'])

type Handler = (req: Request, res: Response, next: NextFunction) => Promise<unknown>

/**
 * An Express router serving a model from the instance cache:
 * `app.use('/books', cachedRouter(cache, Book, { writable: ['title'] }))`.
 *
 * - `GET /?offset=&limit=`: `{ items, offset, limit, next }`; one SQL query for the page's primary
 *   keys, then the rows from the cache (one MGET), so none more when they are cached.
 * - `GET /:pk`: the row from the cache, no SQL query when cached; 404 `{ error: 'not found' }`,
 *   400 for a malformed key.
 * - when writable, `POST /` (201), `PATCH /:pk` and `DELETE /:pk` (204) write through Sequelize;
 *   its hooks refresh the cache once the change commits, before the response is read from it.
 *
 * Validation errors answer 400 with their messages, unique and foreign key conflicts 409; other
 * errors go to the application's error handler. The router registers the model's hooks
 * (`cache.registerModels([model])`, which does nothing the second time): without them a write would
 * leave its row's entry stale.
 */
export function cachedRouter<M extends Model>(cache: BaseCache, model: ModelStatic<M>, options: CachedRouterOptions<M> = {}): Router {
  const settings = checkedOptions(cache, model, options)
  const express = loadExpress()
  const router = express.Router()
  const name = modelName(model)
  const pkAttribute = model.primaryKeyAttribute
  cache.registerModels([model as unknown as ModelStatic<Model>])
  // Express 4 does not pass a rejected promise on; Express 5 does. This works with both.
  const handle = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
    handler(req, res, next).catch(next)
  }

  /** The rows' data in the order of `pks`, leaving out rows that no longer exist. */
  async function read(pks: readonly Pk[]): Promise<unknown[]> {
    const instances = await cache.getInstances(
      pks.map(pk => [model, pk]),
      settings.version,
    )
    return pks.flatMap(pk => {
      const found = instances.get(instanceId(name, pk))
      return found ? [settings.toResponse(found[0])] : []
    })
  }

  /** The pk of the URL, or undefined once it has answered 400. */
  function pkOf(req: Request, res: Response): Pk | undefined {
    const segment = req.params.pk
    const pk = typeof segment === 'string' ? settings.parsePk(segment) : undefined
    if ((typeof pk === 'number' && Number.isFinite(pk)) || (typeof pk === 'string' && pk !== '')) return pk
    res.status(400).json({ error: 'malformed pk' })
    return undefined
  }

  router.get(
    '/',
    handle(async (req, res) => {
      const page = pageOf(req.query, settings.pageSize, settings.maxPageSize)
      if (typeof page === 'string') return void res.status(400).json({ error: page })
      const { offset, limit } = page
      // One more than the page: whether there is a next page, without a count query.
      const rows = (await model.findAll({
        ...settings.findOptions,
        order: settings.order,
        attributes: [pkAttribute],
        offset,
        limit: limit + 1,
        raw: true,
      })) as unknown as Record<string, Pk>[]
      // An include can repeat a row.
      const pks = [...new Set(rows.map(row => row[pkAttribute]))]
      const items = await read(pks.slice(0, limit))
      const next = pks.length > limit ? `${base(req) || '/'}?offset=${offset + limit}&limit=${limit}` : null
      res.json({ items, offset, limit, next })
    }),
  )

  router.get(
    '/:pk',
    handle(async (req, res) => {
      const pk = pkOf(req, res)
      if (pk === undefined) return
      const [item] = await read([pk])
      if (item === undefined) return void notFound(res)
      res.json(item)
    }),
  )

  const writable = settings.writable
  if (writable) {
    const json = express.json()

    router.post(
      '/',
      json,
      handle(async (req, res) => {
        const values = valuesOf(req, res, model, writable.create, writable.required)
        if (!values) return
        const row = await model.create(values as CreationAttributes<M>)
        const pk = row.get(pkAttribute) as Pk
        const [item] = await read([pk])
        res
          .status(201)
          .location(`${base(req)}/${encodeURIComponent(String(pk))}`)
          // null: created, but not readable through the cache (a default scope leaves it out).
          .json(item ?? null)
      }),
    )

    router.patch(
      '/:pk',
      json,
      handle(async (req, res) => {
        const pk = pkOf(req, res)
        if (pk === undefined) return
        const values = valuesOf(req, res, model, writable.update)
        if (!values) return
        const row = await model.findByPk(pk)
        if (!row) return void notFound(res)
        // Resolves once the hooks have refreshed the entry (after the commit), so the read below is fresh.
        await row.update(values)
        const [item] = await read([pk])
        if (item === undefined) return void notFound(res)
        res.json(item)
      }),
    )

    router.delete(
      '/:pk',
      handle(async (req, res) => {
        const pk = pkOf(req, res)
        if (pk === undefined) return
        const row = await model.findByPk(pk)
        if (!row) return void notFound(res)
        await row.destroy()
        res.status(204).end()
      }),
    )
  }

  const allowed = (methods: string) => (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS') return next()
    res.set('Allow', methods).status(405).json({ error: 'method not allowed' })
  }
  router.all('/', allowed(writable ? 'GET, HEAD, POST' : 'GET, HEAD'))
  router.all('/:pk', allowed(writable ? 'GET, HEAD, PATCH, DELETE' : 'GET, HEAD'))

  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const answer = clientError(error)
    if (!answer || res.headersSent) return next(error)
    res.status(answer.status).json(answer.body)
  })
  return router
}

/**
 * A row's cached data as JSON for a client: a PK field becomes the related row's primary key, a
 * PKList field the array of primary keys, a Date its ISO string (null when invalid); arrays and
 * plain objects are converted through, other values are kept.
 */
export function toResponse(data: Record<string, unknown>): Record<string, unknown> {
  return plain(data) as Record<string, unknown>
}

function plain(value: unknown): unknown {
  if (value instanceof PkOnlyModel) return value.pk
  if (value instanceof PkOnlyList) return [...value.pks]
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    // fromEntries defines properties: a "__proto__" field stays a field.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]))
  }
  return value
}

interface Settings {
  readonly version: string | undefined
  readonly findOptions: ListOptions | undefined
  readonly order: NonNullable<FindOptions['order']>
  readonly pageSize: number
  readonly maxPageSize: number
  /** What a create and an update may set, and what a create must (a primary key the database does not make). */
  readonly writable: { readonly create: readonly string[]; readonly update: readonly string[]; readonly required: readonly string[] } | undefined
  readonly parsePk: (segment: string) => Pk | undefined
  readonly toResponse: (data: Record<string, unknown>) => unknown
}

function checkedOptions<M extends Model>(cache: BaseCache, model: ModelStatic<M>, options: CachedRouterOptions<M>): Settings {
  const fail = (problem: string): never => {
    throw new CachemeError('INVALID_OPTIONS', `cachedRouter(): ${problem}`)
  }
  if (cache === null || typeof cache !== 'object' || typeof cache.getInstances !== 'function') fail('the first argument must be a BaseCache')
  if (typeof model !== 'function' || typeof model.findAll !== 'function' || typeof model.getAttributes !== 'function') fail('the second argument must be a Sequelize model')
  if (model.primaryKeyAttributes.length !== 1) fail(`${model.name} must have exactly one primary key attribute, not ${model.primaryKeyAttributes.length}`)
  if (options === null || typeof options !== 'object') fail('options must be an object')
  for (const name of Object.keys(options)) if (!OPTION_NAMES.has(name)) fail(`unknown option '${name}' (known: ${[...OPTION_NAMES].join(', ')})`)
  const { version, findOptions, pageSize = 20, maxPageSize = 100, writable = false, parsePk, toResponse: represent = toResponse } = options
  if (version !== undefined && !cache.versions.includes(version)) fail(`unknown version ${JSON.stringify(version)} (versions: ${cache.versions.join(', ')})`)
  if (findOptions !== undefined && (findOptions === null || typeof findOptions !== 'object')) fail('findOptions must be an object of where, order, include, paranoid')
  const pageSizes = { maxPageSize, pageSize }
  for (const [name, value] of Object.entries(pageSizes)) if (!Number.isSafeInteger(value) || value < 1) fail(`${name} must be a whole number >= 1, got ${String(value)}`)
  if (pageSize > maxPageSize) fail(`pageSize ${pageSize} is larger than maxPageSize ${maxPageSize}`)
  if (parsePk !== undefined && typeof parsePk !== 'function') fail('parsePk must be a function (segment) => pk | undefined')
  if (typeof represent !== 'function') fail('toResponse must be a function (data) => unknown')

  const pk = model.primaryKeyAttribute
  // The primary key ends every order: rows the order ties would otherwise move between pages.
  const order = findOptions?.order ?? []
  if (!Array.isArray(order)) fail('findOptions.order must be an array, as [["title", "ASC"]]')
  const byPk = (order as unknown[]).some(item => item === pk || (Array.isArray(item) && item.length === 2 && item[0] === pk))
  return {
    version,
    findOptions: findOptions as ListOptions | undefined,
    order: byPk ? (order as NonNullable<FindOptions['order']>) : ([...(order as unknown[]), [pk, 'ASC']] as NonNullable<FindOptions['order']>),
    pageSize,
    maxPageSize,
    writable: writableFields(model as unknown as ModelStatic<Model>, writable, fail),
    parsePk: parsePk ?? defaultParsePk(model as unknown as ModelStatic<Model>),
    toResponse: represent,
  }
}

/** The attributes a create and an update may set. */
function writableFields(model: ModelStatic<Model>, writable: unknown, fail: (problem: string) => never): Settings['writable'] {
  if (writable === false) return undefined
  const attributes = model.getAttributes() as Record<string, { autoIncrement?: boolean; defaultValue?: unknown; _autoGenerated?: boolean }>
  const pk = model.primaryKeyAttribute
  // SQLite would even store a row without it, under a key no URL can name.
  const pkGiven = !attributes[pk].autoIncrement && attributes[pk].defaultValue === undefined && !attributes[pk]._autoGenerated
  if (writable === true) {
    // Sequelize maintains the timestamps (and the default id); marked _autoGenerated or listed here.
    const timestamps = new Set(Object.values((model as unknown as { _timestampAttributes?: Record<string, string> })._timestampAttributes ?? {}))
    const update = Object.keys(attributes).filter(name => name !== pk && !timestamps.has(name) && !attributes[name]._autoGenerated)
    return { create: pkGiven ? [pk, ...update] : update, update, required: pkGiven ? [pk] : [] }
  }
  if (!Array.isArray(writable) || writable.some(name => typeof name !== 'string')) return fail('writable must be true, false or an array of attribute names')
  const unknown = writable.filter(name => !Object.hasOwn(attributes, name))
  if (unknown.length > 0) fail(`writable: ${model.name} has no attribute ${unknown.join(', ')}`)
  return { create: [...writable], update: writable.filter(name => name !== pk), required: pkGiven && writable.includes(pk) ? [pk] : [] }
}

const INTEGER_TYPES = new Set(['INTEGER', 'BIGINT', 'SMALLINT', 'MEDIUMINT', 'TINYINT'])
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Parses a URL segment by the primary key's type, into the form the row holds (and the hooks' keys spell). */
function defaultParsePk(model: ModelStatic<Model>): (segment: string) => Pk | undefined {
  const type = (model.getAttributes() as Record<string, { type?: { key?: string } }>)[model.primaryKeyAttribute].type
  const key = type?.key ?? ''
  if (INTEGER_TYPES.has(key)) {
    return segment => {
      if (!/^-?\d{1,20}$/.test(segment)) return undefined
      const value = Number(segment)
      // Beyond 2^53 a number would name another row: BIGINT keys stay exact as strings, as Sequelize reads them.
      if (Number.isSafeInteger(value)) return value
      return key === 'BIGINT' ? BigInt(segment).toString() : undefined
    }
  }
  if (key.startsWith('UUID')) return segment => (UUID.test(segment) ? segment.toLowerCase() : undefined)
  return segment => (segment === '' ? undefined : segment)
}

/** The page the query asks for, or what is wrong with it. */
function pageOf(query: Request['query'], pageSize: number, maxPageSize: number): { offset: number; limit: number } | string {
  const number = (name: string, fallback: number, min: number): number | string => {
    const value = query[name]
    if (value === undefined) return fallback
    if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || Number(value) < min) return `${name} must be a whole number >= ${min}`
    return Number(value)
  }
  const offset = number('offset', 0, 0)
  const limit = number('limit', pageSize, 1)
  if (typeof offset === 'string') return offset
  if (typeof limit === 'string') return limit
  return { offset, limit: Math.min(limit, maxPageSize) }
}

/** The body's values for these attributes, after Sequelize's type checks; undefined once it has answered 400. */
function valuesOf(req: Request, res: Response, model: ModelStatic<Model>, fields: readonly string[], required: readonly string[] = []): Record<string, unknown> | undefined {
  const body: unknown = req.body
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    res.status(400).json({ error: 'the body must be a JSON object' })
    return undefined
  }
  const attributes = model.getAttributes() as Record<string, { type?: { key?: string; validate?: (value: unknown) => unknown } }>
  const values: Record<string, unknown> = {}
  const messages = required.filter(field => !Object.hasOwn(body, field) || (body as Record<string, unknown>)[field] === null).map(field => `${field} is required`)
  for (const field of fields) {
    if (!Object.hasOwn(body, field)) continue
    const value = (body as Record<string, unknown>)[field]
    values[field] = value
    if (value === null) continue
    // What Sequelize's typeValidation would check; a JSON object or array only where the type holds one.
    const type = attributes[field].type
    if (typeof value === 'object' && !STRUCTURED_TYPES.has(type?.key ?? '')) {
      messages.push(`${field}: ${JSON.stringify(value)} is not a valid ${(type?.key ?? 'value').toLowerCase()}`)
      continue
    }
    try {
      type?.validate?.(value)
    } catch (error) {
      messages.push(`${field}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  if (messages.length === 0) return values
  res.status(400).json({ error: 'validation failed', messages })
  return undefined
}

const STRUCTURED_TYPES = new Set(['JSON', 'JSONB', 'ARRAY', 'RANGE', 'HSTORE', 'GEOMETRY', 'GEOGRAPHY', 'VIRTUAL'])

/** The answer to an error the client caused: a malformed body, a failed validation, a conflict. */
function clientError(error: unknown): { status: number; body: { error: string; messages?: string[] } } | undefined {
  if (error === null || typeof error !== 'object') return undefined
  const { name, errors, status, expose, message } = error as { name?: unknown; errors?: unknown; status?: unknown; expose?: unknown; message?: unknown }
  const messages = Array.isArray(errors) ? errors.map(item => String((item as { message?: unknown })?.message ?? item)) : []
  if (name === 'SequelizeUniqueConstraintError') return { status: 409, body: { error: 'conflict', messages } }
  if (name === 'SequelizeForeignKeyConstraintError')
    return { status: 409, body: { error: 'conflict', messages: ['a row it refers to, or that refers to it, does not allow this'] } }
  if (name === 'SequelizeValidationError') return { status: 400, body: { error: 'validation failed', messages } }
  // express.json()'s errors: malformed JSON, too large, unsupported charset.
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) return { status, body: { error: String(message) } }
  return undefined
}

function notFound(res: Response): void {
  res.status(404).json({ error: 'not found' })
}

/** The router's mount path; never `//host`, which a client would take for another site. */
function base(req: Request): string {
  return req.baseUrl.replace(/^\/{2,}/, '/')
}

/** Express is loaded only when a router is made: the rest of cacheme works without it. */
function loadExpress(): typeof import('express') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded on demand
    return require('express') as typeof import('express')
  } catch (error) {
    throw new CachemeError('INVALID_OPTIONS', 'cachedRouter() needs Express: npm install express', { cause: error })
  }
}
