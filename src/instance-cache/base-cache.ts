import { closeStore, createRuntime, runtime, type ConfigureOptions, type Runtime } from '../config'
import { CachemeError } from '../errors'
import { invalidateDependencies } from '../invalidation'
import type { ModelClass } from '../options'
import { recordDependencies } from '../recorded-dependencies'
import { registerInvalidModels } from '../sequelize/invalid-models'
import { onModelChange, type ChangeListener } from '../sequelize/model-change'
import type { ManyRead, ManyWrite } from '../store/store'
import { CachedQuery } from './cached-query'
import { Invalidations, runCascade, visitId, type CascadeJob, type FollowUp } from './cascade'
import { BUILTIN_FIELD_TYPES, checkedPk, decodeFields, fieldFromJson, fieldToJson, mergeFieldTypes, modelName, type FieldType, type FieldTypes, type Pk } from './fields'
import { pkOf, resolveFunctions, type ModelCacheFunctions, type ResolvedFunctions, type SerializedRow } from './model-functions'
import { isQueryableModel, type QueryableModel, type QueryOptions } from './queryable-model'
import { stableJson } from './stable-json'

/** A model class or its name; names are compared in lower case. */
export type ModelRef = string | { readonly name: string }

/** What to read: a model, a pk, and optionally the row itself (used on a miss instead of the loader). */
export type InstanceSpec = readonly [model: ModelRef, pk: Pk, instance?: unknown]

/** A cached row: its data (typed fields decoded), its cache key (`keyFor`), and the row when it was given or loaded. */
export type CachedInstance = readonly [data: Record<string, unknown>, cacheKey: string, instance: unknown]

export interface BaseCacheOptions extends Pick<ConfigureOptions, 'redis' | 'store' | 'prefix' | 'onError' | 'timeout'> {
  /** Seconds an instance stays cached; default the configured `ttl` (none). Changes rewrite it anyway. */
  readonly ttl?: number
  /** Seconds a pk with no row is remembered as missing; default 0 (not remembered). */
  readonly missingTtl?: number
  /** Stored in PK and PKList fields (Sequelize has no app labels). Default `'default'`. */
  readonly app?: string
  /** Your own field types, by name, beside Date, DateTime, TimeDelta, PK and PKList. */
  readonly fieldTypes?: Readonly<Record<string, FieldType>>
  /**
   * Runs the follow-ups of a change elsewhere (a job queue): the job is plain JSON; the worker
   * calls `cache.cascade(job)`. By default they run at once, after the change commits.
   */
  readonly scheduler?: (job: CascadeJob) => void | Promise<void>
}

const OWN_STORE_OPTIONS = ['redis', 'store', 'prefix'] as const

/** A pk's row as serialized JSON, or null when the row is known not to exist. */
type Stored = SerializedRow | null

/**
 * The instance cache: rows served as JSON from Redis, so that reading one needs no SQL query and
 * a list needs one (its pks). A subclass defines, per model and version, a serializer, a loader
 * and an invalidator (`question_default_serializer(row)` ...) or registers them; `registerModels`
 * keeps the cache right when rows change, through every Sequelize write path.
 */
export class BaseCache {
  versions: readonly string[] = ['default']
  defaultVersion = 'default'

  readonly #options: BaseCacheOptions
  readonly #own: Runtime | undefined
  readonly #fieldTypes: FieldTypes
  readonly #app: string
  readonly #registered = new Map<string, ModelCacheFunctions>()
  readonly #models = new Map<string, QueryableModel>()
  #versionsChecked = false

  constructor(options: BaseCacheOptions = {}) {
    if (options === null || typeof options !== 'object') throw new CachemeError('INVALID_OPTIONS', 'BaseCache takes an options object')
    const { ttl, missingTtl, app = 'default', scheduler, fieldTypes = {} } = options
    for (const [name, value] of Object.entries({ ttl, missingTtl })) {
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
        throw new CachemeError('INVALID_OPTIONS', `BaseCache: ${name} must be a number of seconds >= 0, got ${String(value)}`)
      }
    }
    if (typeof app !== 'string' || app === '') throw new CachemeError('INVALID_OPTIONS', 'BaseCache: app must be a non-empty string')
    if (scheduler !== undefined && typeof scheduler !== 'function') throw new CachemeError('INVALID_OPTIONS', 'BaseCache: scheduler must be a function')
    this.#options = options
    this.#app = app
    this.#fieldTypes = mergeFieldTypes(BUILTIN_FIELD_TYPES, Object.entries(fieldTypes))
    const own = OWN_STORE_OPTIONS.some(name => options[name] !== undefined)
    this.#own = own ? createRuntime({ redis: options.redis, store: options.store, prefix: options.prefix, onError: options.onError, timeout: options.timeout }) : undefined
  }

  /** `drfc_{version}_{model}_{pk}`, stored under the prefix. */
  keyFor(version: string, model: ModelRef, pk: Pk): string {
    return `drfc_${version}_${modelName(model)}_${checkedPk(pk, 'keyFor()')}`
  }

  /** `['name:Type', json]` for a serializer: `this.fieldToJson('DateTime', 'created', row.createdAt)`. */
  fieldToJson(type: string, name: string, ...value: unknown[]): [string, unknown] {
    return fieldToJson(this.#fieldTypes, this.#app, type, name, ...value)
  }

  fieldFromJson(keyAndType: string, json: unknown): [string, unknown] {
    return fieldFromJson(this.#fieldTypes, keyAndType, json)
  }

  /** The registration form of the naming convention: the functions of a model in one version (default: the default version). */
  register<Row>(model: ModelRef, functions: ModelCacheFunctions<Row>, version?: string): this {
    if (functions === null || typeof functions !== 'object') throw new CachemeError('INVALID_OPTIONS', 'register() takes an object of serializer, loader, batchLoader, invalidator')
    const name = modelName(model)
    this.#registered.set(`${name}\n${this.#version(version, 'register()')}`, functions as ModelCacheFunctions)
    if (isQueryableModel(model)) this.#models.set(name, model)
    return this
  }

  /**
   * Installs the hooks that keep these models' instances right after every committed change
   * (refreshing them and cascading through invalidators), and that empty the `@cacheme`
   * dependency sets their rows' `cacheKey` names.
   */
  registerModels(models: readonly ModelClass[]): void {
    if (!Array.isArray(models)) throw new CachemeError('INVALID_OPTIONS', 'registerModels() takes an array of Sequelize models')
    for (const model of models) {
      onModelChange(model, this.#onChange, 'registerModels()')
      registerInvalidModels([model])
      if (isQueryableModel(model)) this.#models.set(modelName(model), model)
    }
  }

  /**
   * Reads instances: one MGET for all; the misses come from the rows given, or the batch loader
   * (one call per model), or the loader, and are stored in one more round trip. Rows that do not
   * exist are left out. Keys are `${model}:${pk}`, model in lower case.
   */
  async getInstances(specs: Iterable<InstanceSpec>, version?: string): Promise<Map<string, CachedInstance>> {
    const chosen = this.#version(version, 'getInstances()')
    const wanted = new Map<string, { model: string; pk: Pk; instance: unknown; key: string }>()
    let index = 0
    for (const spec of specs) {
      if (!Array.isArray(spec)) throw new CachemeError('INVALID_OPTIONS', `getInstances(): spec ${index} must be [model, pk, instance?]`)
      const [model, pk, instance] = spec as InstanceSpec
      const name = modelName(model)
      const key = this.keyFor(chosen, name, checkedPk(pk, `getInstances(): spec ${index}`))
      const id = `${name}:${pk}`
      if (!wanted.has(id) || instance !== undefined) wanted.set(id, { model: name, pk, instance, key })
      index++
    }
    const items = [...wanted.entries()]
    recordDependencies(items.map(([, item]) => item.key))

    const current = this.#runtime()
    const full = (key: string) => current.layout.prefix + key
    let read: ManyRead | undefined
    if (current.enabled && items.length > 0) {
      try {
        read = await current.store.readMany(items.map(([, item]) => full(item.key)))
      } catch (error) {
        current.report(error, { operation: 'read', key: items[0][1].key })
      }
    }

    const stored = new Map<string, Stored>()
    const misses: { id: string; model: string; pk: Pk; instance: unknown; key: string }[] = []
    items.forEach(([id, item], i) => {
      const found = parseStored(read?.values[i])
      if (found === undefined) misses.push({ id, ...item })
      else stored.set(id, found)
    })

    const loaded = new Map<string, unknown>()
    const writes: ManyWrite[] = []
    for (const [model, group] of groupBy(misses, miss => miss.model)) {
      const functions = this.#functions(model, chosen)
      const rows = await this.#load(functions, group)
      for (const miss of group) {
        const row = rows.get(String(miss.pk)) ?? null
        const data = row === null ? null : await this.#serialize(functions, model, chosen, row)
        stored.set(miss.id, data)
        if (data !== null) loaded.set(miss.id, row)
        const value = data === null ? (this.#missingTtlMs > 0 ? 'null' : undefined) : JSON.stringify(data)
        if (value !== undefined) writes.push({ key: full(miss.key), value, ttlMs: data === null ? this.#missingTtlMs : this.#ttlMs(current) })
      }
    }
    if (read && writes.length > 0) {
      try {
        await current.store.writeMany(writes, read.seq)
      } catch (error) {
        current.report(error, { operation: 'write', key: writes[0].key })
      }
    }

    const instances = new Map<string, CachedInstance>()
    for (const [id, item] of items) {
      const data = stored.get(id)
      if (data) instances.set(id, [decodeFields(this.#fieldTypes, data), item.key, item.instance ?? loaded.get(id)])
    }
    return instances
  }

  /**
   * Refreshes one instance in every version (or one): loads the row unless given, writes its new
   * representation only when it differs from the cached one, deletes the key of a row that is
   * gone, and on a change runs the invalidator. `updateOnly`: an instance that is not cached is
   * left alone. Returns the follow-ups, the instances to refresh next.
   */
  updateInstance(model: ModelRef, pk: Pk, instance?: unknown, version?: string, updateOnly = false): Promise<FollowUp[]> {
    return this.#update(modelName(model), checkedPk(pk, 'updateInstance()'), { instance, version, updateOnly, before: [] })
  }

  /** Deletes a row's instance in every version. */
  async deleteAllVersions(model: ModelRef, pk: Pk): Promise<void> {
    const current = this.#runtime()
    const name = modelName(model)
    const keys = this.#allVersions().map(version => this.keyFor(version, name, checkedPk(pk, 'deleteAllVersions()')))
    try {
      await current.store.deleteEntries(keys.map(key => plainEntry(current.layout.prefix + key)))
    } catch (error) {
      current.report(error, { operation: 'invalidate', key: keys })
    }
  }

  /**
   * Runs follow-ups, and theirs, until none is left; an instance is updated once per cascade, so
   * cycles end. A follow-up refreshes an instance only if it is cached (`updateOnly`): one that is
   * not will be read fresh when it is asked for, and loading it now would cost a query for nothing.
   */
  cascade(job: CascadeJob): Promise<void> {
    return runCascade(
      job,
      ([model, pk, version]) => this.#update(model, pk, { version, updateOnly: true, before: [] }),
      (error, [model, pk, version]) => this.#runtime().report(error, { operation: 'invalidate', key: this.keyFor(version, model, pk) }),
    )
  }

  /** A query whose pks come from one SQL query and whose rows come from the cache: `cache.query<QuestionData>(Question, { where, order })`. */
  query<D extends object = Record<string, unknown>>(model: QueryableModel, options?: QueryOptions, version?: string): CachedQuery<D> {
    return new CachedQuery<D>(this, model, options, version)
  }

  /** Closes the store this cache opened for itself (given `redis`, `store` or `prefix`). */
  async close(): Promise<void> {
    if (this.#own) await closeStore(this.#own)
  }

  /** The Sequelize model registered under this name, if any. */
  modelNamed(model: ModelRef): QueryableModel | undefined {
    return isQueryableModel(model) ? model : this.#models.get(modelName(model))
  }

  /** A change committed: refresh the rows' instances, then cascade (now, or through the scheduler). */
  readonly #onChange: ChangeListener = (model, rows) => {
    const name = modelName(model)
    // A row without a single-column pk (a through model's link) is not cached itself: its invalidator still runs.
    const byPk = groupBy(rows, (row, i) => (pkOf(row) === undefined ? `#${i}` : String(pkOf(row))))
    return async () => {
      const followUps: FollowUp[] = []
      const visited: string[] = []
      for (const [, before] of byPk) {
        const pk = pkOf(before[0])
        if (pk !== undefined) visited.push(...this.#allVersions().map(version => visitId(name, pk, version)))
        try {
          // Not the hook's row: loading it after the claim makes the last change win even when hooks run out of order.
          followUps.push(...(await this.#update(name, pk, { updateOnly: false, before })))
        } catch (error) {
          this.#runtime().report(error, { operation: 'invalidate', key: `${name}:${String(pk)}` })
        }
      }
      if (followUps.length === 0) return
      const job: CascadeJob = { followUps, visited }
      if (this.#options.scheduler) await this.#options.scheduler(job)
      else await this.cascade(job)
    }
  }

  /** `pk` undefined: a row that is not cached itself (no single-column pk); only its invalidator runs, on `before`. */
  async #update(model: string, pk: Pk | undefined, options: { instance?: unknown; version?: string; updateOnly: boolean; before: readonly unknown[] }): Promise<FollowUp[]> {
    const current = this.#runtime()
    if (!current.enabled) return []
    const versions = (options.version === undefined ? this.#allVersions() : [this.#version(options.version, 'updateInstance()')]).flatMap(version => {
      const functions = this.#functions(model, version, false)
      return functions ? [{ version, functions }] : []
    })
    const full = (key: string) => current.layout.prefix + key
    // The versions that hold an instance of this row; the claim refuses fills that loaded it before this change.
    const held = pk === undefined ? [] : versions.filter(({ functions }) => functions.serializer).map(({ version }) => ({ version, key: this.keyFor(version, model, pk) }))
    let claim: ManyRead | undefined
    if (held.length > 0) {
      try {
        claim = await current.store.claimMany(held.map(({ key }) => full(key)))
      } catch (error) {
        current.report(error, { operation: 'invalidate', key: held.map(({ key }) => key) })
      }
    }
    // Per held version, the stored string the claim read; no map when the store could not tell.
    const stored = claim && new Map(held.map(({ version }, i) => [version, claim.values[i]]))
    const notCached = (version: string) => stored !== undefined && stored.has(version) && stored.get(version) === undefined
    const active = options.updateOnly ? versions.filter(({ version }) => !notCached(version)) : versions
    // @cacheme values may have read an instance that has expired since: they are invalidated all the same.
    const changedKeys = held.filter(({ version }) => options.updateOnly && notCached(version)).map(({ key }) => key)
    if (active.length === 0) {
      await invalidateDependencies(changedKeys)
      return []
    }

    let row = options.instance
    // A model that only invalidates needs no fresh row when the hook gave it one.
    const needsRow = held.length > 0 || options.before.length === 0
    if (row === undefined && pk !== undefined && needsRow) row = (await active[0].functions.loader(pk)) ?? null
    const writes: ManyWrite[] = []
    // Instance keys to delete (plain, whatever their pk holds), with what the invalidators ask for.
    const deletions = new Set<string>()
    const invalidations = new Invalidations((version, model, pk) => this.keyFor(version, model, pk))
    for (const { version, functions } of active) {
      const key = held.find(each => each.version === version)?.key
      if (key !== undefined) {
        const next = row === null || row === undefined ? null : await this.#serialize(functions, model, version, row)
        if (next === null) writes.push({ key: full(key), value: undefined, ttlMs: 0 })
        else if (sameData(parseStored(stored?.get(version)), next)) continue
        else writes.push({ key: full(key), value: JSON.stringify(next), ttlMs: this.#ttlMs(current) })
        changedKeys.push(key)
      }
      if (!functions.invalidator) continue
      for (const input of new Set([row, ...options.before])) {
        if (input !== null && input !== undefined) invalidations.add(version, await functions.invalidator(input))
      }
    }

    if (claim && writes.length > 0) {
      try {
        await current.store.writeMany(writes, claim.seq)
      } catch (error) {
        current.report(error, { operation: 'write', key: writes[0].key })
        // The old representation must not outlive the change: delete what could not be rewritten.
        for (const write of writes) deletions.add(current.layout.userKey(write.key))
      }
    }
    for (const key of invalidations.immediate) deletions.add(key)
    const entries = [...[...deletions].map(key => plainEntry(full(key))), ...[...invalidations.rawKeys].map(key => current.layout.entry(key, `${model} invalidator`))]
    if (entries.length > 0) {
      try {
        await current.store.deleteEntries(entries)
      } catch (error) {
        current.report(error, { operation: 'invalidate', key: entries.map(entry => entry.full) })
      }
    }
    // @cacheme values computed from these instances (recorded by getInstances).
    await invalidateDependencies(changedKeys)
    return [...invalidations.followUps.values()]
  }

  /** The rows of the misses of one model: given ones, then one batch load, or one load per pk. */
  async #load(functions: ResolvedFunctions, misses: readonly { pk: Pk; instance: unknown }[]): Promise<Map<string, unknown>> {
    const rows = new Map<string, unknown>()
    const toLoad: Pk[] = []
    for (const { pk, instance } of misses) {
      if (instance !== undefined && instance !== null) rows.set(String(pk), instance)
      else toLoad.push(pk)
    }
    if (toLoad.length === 0) return rows
    if (functions.batchLoader) {
      for (const [pk, row] of await functions.batchLoader(toLoad)) rows.set(pk, row)
    } else {
      const loaded = await Promise.all(toLoad.map(pk => functions.loader(pk)))
      toLoad.forEach((pk, i) => rows.set(String(pk), loaded[i]))
    }
    return rows
  }

  /** The serializer's output as it will read back from JSON (so that comparisons see what is stored), or null for no row. */
  async #serialize(functions: ResolvedFunctions, model: string, version: string, row: unknown): Promise<SerializedRow | null> {
    if (!functions.serializer) throw new CachemeError('INVALID_OPTIONS', `the instance cache has no serializer for ${model} in version ${version}`)
    const data = await functions.serializer(row)
    if (data === null || data === undefined) return null
    try {
      return JSON.parse(JSON.stringify(data)) as SerializedRow
    } catch (error) {
      throw new CachemeError('UNSERIALIZABLE_RESULT', `${model}_${version}_serializer returned a value that is not JSON: ${(error as Error).message}`, { cause: error })
    }
  }

  #functions(model: string, version: string): ResolvedFunctions
  #functions(model: string, version: string, required: false): ResolvedFunctions | undefined
  #functions(model: string, version: string, required = true): ResolvedFunctions | undefined {
    const functions = resolveFunctions(this, this.#registered.get(`${model}\n${version}`), this.#models.get(model), model, version)
    if (!functions && required) {
      throw new CachemeError(
        'INVALID_OPTIONS',
        `the instance cache knows no model ${JSON.stringify(model)} in version ${version}: define ${model}_${version}_serializer and _loader, or register it`,
      )
    }
    return functions
  }

  #runtime(): Runtime {
    return this.#own ?? runtime()
  }

  #ttlMs(current: Runtime): number {
    return this.#options.ttl === undefined ? current.ttlMs : Math.round(this.#options.ttl * 1000)
  }

  get #missingTtlMs(): number {
    return Math.round((this.#options.missingTtl ?? 0) * 1000)
  }

  /** The versions, checked once: a subclass sets them as fields, after this constructor ran. */
  #allVersions(): readonly string[] {
    if (!this.#versionsChecked) {
      const { versions, defaultVersion } = this
      if (!Array.isArray(versions) || versions.length === 0 || !versions.every(version => typeof version === 'string' && version !== '')) {
        throw new CachemeError('INVALID_OPTIONS', `${this.constructor.name}: versions must be a non-empty array of names`)
      }
      if (!versions.includes(defaultVersion)) {
        throw new CachemeError('INVALID_OPTIONS', `${this.constructor.name}: defaultVersion ${JSON.stringify(defaultVersion)} is not one of versions ${JSON.stringify(versions)}`)
      }
      this.#versionsChecked = true
    }
    return this.versions
  }

  #version(version: string | undefined, caller: string): string {
    const versions = this.#allVersions()
    if (version === undefined) return this.defaultVersion
    if (!versions.includes(version)) throw new CachemeError('INVALID_OPTIONS', `${caller}: unknown version ${JSON.stringify(version)} (versions: ${versions.join(', ')})`)
    return version
  }
}

/** What a stored value says: data, null (known missing), or undefined (not cached, or unreadable). */
function parseStored(raw: string | undefined): Stored | undefined {
  if (raw === undefined) return undefined
  try {
    const parsed = JSON.parse(raw) as unknown
    return parsed === null || (typeof parsed === 'object' && !Array.isArray(parsed)) ? (parsed as Stored) : undefined
  } catch {
    return undefined
  }
}

function sameData(cached: Stored | undefined, next: SerializedRow): boolean {
  return cached !== undefined && cached !== null && stableJson(cached) === stableJson(next)
}

function plainEntry(key: string) {
  return { full: key, key, field: undefined }
}

function groupBy<T>(items: readonly T[], keyOf: (item: T, index: number) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const [index, item] of items.entries()) {
    const key = keyOf(item, index)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}
