import { CachemeError } from '../errors'
import { CachedModel, type CachedRow } from './cached-model'
import type { InstanceSource } from './instance-source'
import { isQueryableModel, type QueryableModel, type QueryOptions } from './queryable-model'
import { checkedPk, instanceId, modelName, type Pk } from './row-identity'

/**
 * A query whose rows come from the instance cache: the database gives only the primary keys
 * (one query, remembered), the rows are read from the cache in one round trip. The model is
 * used as given, so a scoped model (`Question.scope('published')`) filters as it would in
 * `findAll`.
 */
export class CachedQuery<D extends object = Record<string, unknown>> implements AsyncIterable<CachedRow<D>> {
  /** The findAll options, copied: changing the object given later does not change the query. */
  readonly options: Readonly<QueryOptions>
  readonly #source: InstanceSource
  readonly #pkAttribute: string
  #pks: Promise<readonly Pk[]> | undefined

  constructor(
    source: InstanceSource,
    readonly model: QueryableModel,
    options: Readonly<QueryOptions> = {},
    readonly version?: string,
  ) {
    if (source === null || typeof source !== 'object' || typeof source.getInstances !== 'function')
      throw new CachemeError('INVALID_OPTIONS', 'CachedQuery needs the instance cache')
    if (!isQueryableModel(model)) throw new CachemeError('INVALID_OPTIONS', 'CachedQuery needs a Sequelize model')
    if (options === null || typeof options !== 'object') throw new CachemeError('INVALID_OPTIONS', 'CachedQuery: options must be findAll options')
    if ((model.primaryKeyAttributes?.length ?? 1) > 1)
      throw new CachemeError('INVALID_OPTIONS', `CachedQuery: ${model.name} has a composite primary key, which the instance cache cannot key`)
    this.options = { ...options }
    this.#source = source
    this.#pkAttribute = model.primaryKeyAttribute
  }

  /** The primary keys in query order, from one SQL query made on the first call. */
  async pks(): Promise<Pk[]> {
    return [...(await this.#pkList())]
  }

  /** The number of rows: the remembered pks, else one COUNT query. */
  async count(): Promise<number> {
    if (this.#pks || this.#windowed || this.options.group !== undefined) return (await this.#pkList()).length
    // A projection breaks a COUNT on PostgreSQL; an include would count the joined rows.
    return Number(await this.model.count({ ...this.options, attributes: undefined, ...(this.options.include ? { distinct: true, col: this.#pkAttribute } : {}) }))
  }

  /** Rows `start` to `end` (excluded) of this query: the remembered pks sliced, else the pk query with LIMIT and OFFSET, run when needed. */
  slice(start: number, end?: number): CachedQuery<D> {
    for (const [name, value] of Object.entries({ start, end })) {
      if (value !== undefined && !(Number.isInteger(value) && value >= 0))
        throw new CachemeError('INVALID_OPTIONS', `CachedQuery.slice(): ${name} must be an integer >= 0, got ${String(value)}`)
    }
    const offset = this.options.offset ?? 0
    const limit = this.options.limit ?? Infinity
    const newOffset = offset + start
    const newEnd = Math.min(offset + limit, end === undefined ? Infinity : offset + end)
    const newLimit = Math.max(0, newEnd - newOffset)
    const sliced = new CachedQuery<D>(
      this.#source,
      this.model,
      { ...this.options, offset: newOffset || undefined, limit: newLimit === Infinity ? undefined : newLimit },
      this.version,
    )
    if (this.#pks) sliced.#pks = sliced.#remember(this.#pks.then(pks => pks.slice(start, end)))
    else if (newLimit === 0) sliced.#pks = Promise.resolve([])
    return sliced
  }

  /**
   * The row of this pk, if the query selects it: with the pks remembered no SQL is needed,
   * otherwise one query checks it against the query's where and scope. Throws NOT_FOUND if the
   * query does not select it or the row no longer exists.
   */
  async get(pk: Pk): Promise<CachedRow<D>> {
    checkedPk(pk, 'CachedQuery.get()')
    const found = await this.#selected(pk)
    const rows = found === undefined ? [] : await this.#read([found])
    if (rows.length === 0) throw new CachemeError('NOT_FOUND', `CachedQuery.get(): no ${this.model.name} with pk ${JSON.stringify(pk)} in this query`)
    return rows[0]
  }

  /** The rows in query order; a row deleted since the pks were read is left out. */
  async toArray(): Promise<CachedRow<D>[]> {
    return this.#read(await this.#pkList())
  }

  async *[Symbol.asyncIterator](): AsyncIterator<CachedRow<D>> {
    yield* await this.toArray()
  }

  get #windowed(): boolean {
    return this.options.limit !== undefined || this.options.offset !== undefined
  }

  /** The remembered pks; pks() gives copies so that a caller cannot change them. */
  #pkList(): Promise<readonly Pk[]> {
    return (this.#pks ??= this.#remember(this.#queryPks()))
  }

  async #queryPks(): Promise<Pk[]> {
    const rows = (await this.model.findAll({ ...this.options, attributes: [this.#pkAttribute], raw: true })) as unknown as Record<string, Pk>[]
    // An include joining several rows repeats the pk.
    return [...new Set(rows.map(row => row[this.#pkAttribute]))]
  }

  /** A failed query is not remembered, so that the next call tries again. */
  #remember(pks: Promise<readonly Pk[]>): Promise<readonly Pk[]> {
    pks.catch(() => {
      if (this.#pks === pks) this.#pks = undefined
    })
    return pks
  }

  /** The pk as the query has it, or undefined when the query does not select it. */
  async #selected(pk: Pk): Promise<Pk | undefined> {
    // A window (LIMIT, OFFSET) cannot be checked for one pk: its pks are read, and remembered.
    if (this.#pks || this.#windowed || this.options.group !== undefined) return (await this.#pkList()).find(selected => String(selected) === String(pk))
    // Op from the model's own Sequelize: the package does not load Sequelize itself (an optional peer).
    const { and } = (this.model.sequelize as { constructor: { Op: { and: symbol } } }).constructor.Op
    const where = this.options.where === undefined ? { [this.#pkAttribute]: pk } : { [and]: [this.options.where, { [this.#pkAttribute]: pk }] }
    const row = (await this.model.findOne({ ...this.options, where, attributes: [this.#pkAttribute], raw: true })) as unknown as Record<string, Pk> | null
    return row?.[this.#pkAttribute]
  }

  async #read(pks: readonly Pk[]): Promise<CachedRow<D>[]> {
    if (pks.length === 0) return []
    const name = modelName(this.model)
    const instances = await this.#source.getInstances(
      pks.map(pk => [this.model, pk] as const),
      this.version,
    )
    return pks.flatMap(pk => {
      const instance = instances.get(instanceId(name, pk))
      return instance ? [new CachedModel(this.model, instance[0] as D, this.#pkAttribute) as CachedRow<D>] : []
    })
  }
}
