import { createRuntime, type ConfigureOptions } from '../config'
import { CachemeError } from '../errors'
import { localPolicy, type LocalOptions } from '../local/local-options'
import { OptionChecks } from '../option-checks'
import type { ModelClass } from '../options'
import { registerInvalidModels } from '../sequelize/invalid-models'
import { onModelChange } from '../sequelize/model-change'
import { CachedQuery } from './cached-query'
import type { CascadeJob, FollowUp } from './cascade'
import { BUILTIN_FIELD_TYPES, fieldFromJson, fieldToJson, mergeFieldTypes, type FieldType, type FieldTypes } from './fields'
import { InstanceReader } from './instance-reader'
import { InstanceRefresher } from './instance-refresher'
import type { CachedInstance, InstanceSource, InstanceSpec } from './instance-source'
import { InstanceStorage } from './instance-storage'
import type { ModelCacheFunctions } from './model-functions'
import { ModelRegistry } from './model-registry'
import type { QueryableModel, QueryOptions } from './queryable-model'
import type { ModelRef, Pk } from './row-identity'

export interface BaseCacheOptions {
  /**
   * A Redis of this cache's own instead of the configured store: an ioredis `Redis` or `Cluster`,
   * a URL, or ioredis options. Giving `redis`, `store` or `prefix` opens that store; `close()`
   * closes it.
   * @default the store `configure()` set up
   * @example new BaseCache({ redis: 'redis://rows.internal:6379' })
   */
  readonly redis?: ConfigureOptions['redis']
  /**
   * The kind of this cache's own store: `'memory'` keeps its rows in this process.
   * @default the configured store; `'redis'` when `redis` is given
   * @example new BaseCache({ store: 'memory' })
   */
  readonly store?: ConfigureOptions['store']
  /**
   * The prefix of every key in this cache's own store.
   * @default the configured prefix (`'CM:'` unless `configure()` set another)
   * @example new BaseCache({ redis, prefix: 'rows:' })
   */
  readonly prefix?: ConfigureOptions['prefix']
  /**
   * Where the faults of this cache's own store are reported (with the configured store, the
   * configured `onError`); they are never thrown at callers.
   * @default a console warning
   * @example new BaseCache({ redis, onError: (error, context) => logger.warn({ error, ...context }) })
   */
  readonly onError?: ConfigureOptions['onError']
  /**
   * Longest wait in seconds for one operation of this cache's own store; past it the read goes
   * to the loaders.
   * @default 0.25
   * @example new BaseCache({ redis, timeout: 0.1 })
   */
  readonly timeout?: ConfigureOptions['timeout']
  /**
   * The in-process tier for this cache's rows. With a store of its own (`redis`), the tier of that
   * store, as `configure({ local })` sets one up. With the configured store: `false` always reads
   * rows from Redis, `{ ttl }` keeps them in the configured tier at most `ttl` seconds.
   * @default the configured tier, as configured; none for a store of its own
   * @example new BaseCache({ local: false })
   * @example new BaseCache({ redis: 'redis://rows.internal:6379', local: { maxEntries: 50_000, ttl: 30 } })
   */
  readonly local?: LocalOptions | false
  /**
   * Seconds an instance stays cached. A change rewrites it anyway, so this bounds only how long
   * a row nobody changes keeps its memory.
   * @default the configured `ttl` (none)
   * @example new BaseCache({ ttl: 24 * 3600 })
   */
  readonly ttl?: number
  /**
   * Seconds a pk with no row is remembered as missing, so that asking for it again needs no query.
   * @default 0 (not remembered)
   * @example new BaseCache({ missingTtl: 30 })
   */
  readonly missingTtl?: number
  /**
   * The app label stored in PK and PKList fields (Sequelize has no app labels).
   * @default 'default'
   * @example new BaseCache({ app: 'shop' })
   */
  readonly app?: string
  /**
   * Your own field types, by name, beside Date, DateTime, TimeDelta, PK and PKList; a name given
   * in any case replaces the built-in one.
   * @default none
   * @example new BaseCache({ fieldTypes: { Cents: { toJson: (_context, euros) => Math.round(Number(euros) * 100), fromJson: cents => Number(cents) / 100 } } })
   */
  readonly fieldTypes?: Readonly<Record<string, FieldType>>
  /**
   * Runs the follow-ups of a change elsewhere (a job queue): the job is plain JSON; the worker
   * calls `cache.cascade(job)`.
   * @default none: the follow-ups run at once, after the change commits
   * @example new BaseCache({ scheduler: job => queue.add('cascade', job) })
   */
  readonly scheduler?: (job: CascadeJob) => void | Promise<void>
}

/** Any of these opens a store of the cache's own; the other store options then apply to it. */
const OWN_STORE_OPTIONS = ['redis', 'store', 'prefix'] as const

/**
 * The instance cache: rows served as JSON from Redis, so that reading one needs no SQL query and
 * a list needs one (its pks). A subclass defines, per model and version, a serializer, a loader
 * and an invalidator (`question_default_serializer(row)` ...) or registers them; `registerModels`
 * keeps the cache right when rows change, through every Sequelize write path.
 *
 * A facade over three parts: the registry of model functions (`ModelRegistry`), the read path
 * (`InstanceReader`) and the refresh path (`InstanceRefresher`).
 */
export class BaseCache implements InstanceSource {
  versions: readonly string[] = ['default']
  defaultVersion = 'default'

  readonly #fieldTypes: FieldTypes
  readonly #app: string
  readonly #registry: ModelRegistry
  readonly #storage: InstanceStorage
  readonly #reader: InstanceReader
  readonly #refresher: InstanceRefresher

  constructor(options: BaseCacheOptions = {}) {
    const checks = new OptionChecks('BaseCache')
    if (options === null || typeof options !== 'object') checks.fail(`options must be an object, got ${options === null ? 'null' : typeof options}`)
    const ttlMs = checks.milliseconds('ttl', options.ttl)
    const missingTtlMs = checks.milliseconds('missingTtl', options.missingTtl) ?? 0
    const app = checks.optionalString('app', options.app) ?? 'default'
    const scheduler = checks.optionalFunction('scheduler', options.scheduler, '(job) => void')
    this.#fieldTypes = mergeFieldTypes(BUILTIN_FIELD_TYPES, Object.entries(checkedFieldTypes(checks, options.fieldTypes)))
    this.#app = app
    // The store options are checked by createRuntime(), as configure() checks them.
    const { redis, store, prefix, onError, timeout, local } = options
    const ownStore = OWN_STORE_OPTIONS.some(name => options[name] !== undefined)
    const own = ownStore ? createRuntime({ redis, store, prefix, onError, timeout, local: local || undefined }) : undefined
    // With the configured store, `local` says how this cache's reads use the configured tier.
    const policy = ownStore ? undefined : localPolicy(checks, local)
    this.#registry = new ModelRegistry(this)
    const keyFor = (version: string, model: string, pk: Pk) => this.keyFor(version, model, pk)
    this.#storage = new InstanceStorage(own, keyFor, ttlMs, missingTtlMs, policy === undefined ? undefined : { local: policy })
    this.#reader = new InstanceReader(this.#registry, this.#storage, this.#fieldTypes)
    // Names the cache's jobs in the outbox: the same in every process that runs this application.
    this.#refresher = new InstanceRefresher(this.#registry, this.#storage, scheduler, `instances:${app}/${this.constructor.name}`)
  }

  /**
   * `drfc_{version}_{model}_{pk}`, stored under the prefix: the model in lower case and the pk as
   * its key type spells it, so that each row has one key however it is named (`'User'`, `'user'`,
   * `User`; `'01'`, `1`).
   */
  keyFor(version: string, model: ModelRef, pk: Pk): string {
    const row = this.#registry.identify(model, pk, 'keyFor()')
    return `drfc_${version}_${row.storedModel}_${row.pk}`
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
    this.#registry.register(model, functions as ModelCacheFunctions, version)
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
      onModelChange(model, this.#refresher.onChange, 'registerModels()')
      registerInvalidModels([model])
      this.#registry.addModel(model)
    }
  }

  /**
   * Reads instances: one MGET for all; the misses come from the rows given, or the batch loader
   * (one call per model), or the loader, and are stored in one more round trip. Rows that do not
   * exist are left out. The Map is keyed `${model}:${pk}` as each spec spells them (a model class
   * by its declared name): `User:1`. Names of one row (`'User'` and `'user'`, `'01'` and `1` of an
   * integer key) are read once and each keys the same instance.
   */
  async getInstances(specs: Iterable<InstanceSpec>, version?: string): Promise<Map<string, CachedInstance>> {
    return this.#reader.read(specs, version)
  }

  /**
   * Refreshes one instance in every version (or one): loads the row unless given, writes its new
   * representation only when it differs from the cached one, deletes the key of a row that is
   * gone, and on a change runs the invalidator. `updateOnly`: an instance that is not cached is
   * left alone. Returns the follow-ups, the instances to refresh next, each named as its
   * invalidator named it: `['Question', 3, 'default']`.
   */
  async updateInstance(model: ModelRef, pk: Pk, instance?: unknown, version?: string, updateOnly = false): Promise<FollowUp[]> {
    const row = this.#registry.identify(model, pk, 'updateInstance()')
    return this.#refresher.refresh(row.storedModel, row.pk, { instance, version, updateOnly, before: [] })
  }

  /** Deletes a row's instance in every version. */
  async deleteAllVersions(model: ModelRef, pk: Pk): Promise<void> {
    const row = this.#registry.identify(model, pk, 'deleteAllVersions()')
    return this.#refresher.deleteAllVersions(row.storedModel, row.pk)
  }

  /**
   * Runs follow-ups, and theirs, until none is left; an instance is updated once per cascade, so
   * cycles end. A follow-up refreshes an instance only if it is cached (`updateOnly`).
   */
  cascade(job: CascadeJob): Promise<void> {
    return this.#refresher.cascade(job)
  }

  /** A query whose pks come from one SQL query and whose rows come from the cache: `cache.query<QuestionData>(Question, { where, order })`. */
  query<D extends object = Record<string, unknown>>(model: QueryableModel, options?: QueryOptions, version?: string): CachedQuery<D> {
    return new CachedQuery<D>(this, model, options, version)
  }

  /** Closes the store this cache opened for itself (given `redis`, `store` or `prefix`). */
  close(): Promise<void> {
    return this.#storage.close()
  }

  /** The Sequelize model registered under this name (in any case), if any. */
  modelNamed(model: ModelRef): QueryableModel | undefined {
    return this.#registry.modelNamed(model)
  }
}

/** `fieldTypes` as given, each with the two functions a field type needs. */
function checkedFieldTypes(checks: OptionChecks, fieldTypes: unknown): Readonly<Record<string, FieldType>> {
  if (fieldTypes === undefined) return {}
  if (fieldTypes === null || typeof fieldTypes !== 'object')
    checks.fail(`fieldTypes must be an object of field types by name, got ${fieldTypes === null ? 'null' : typeof fieldTypes}`)
  for (const [name, type] of Object.entries(fieldTypes)) {
    const { toJson, fromJson } = (type ?? {}) as Partial<FieldType>
    if (typeof toJson !== 'function' || typeof fromJson !== 'function') checks.fail(`fieldTypes.${name} must have toJson and fromJson functions`)
  }
  return fieldTypes as Readonly<Record<string, FieldType>>
}
