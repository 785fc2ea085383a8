import type { AnyContainer, Container, ResultOf } from './container'
import { localPolicy, type LocalChoice } from './local/local-options'
import { OptionChecks } from './option-checks'

/** Keys returned by `invalidKeys`: a string, null, or nested arrays of them. */
export type InvalidKeys = string | null | undefined | readonly InvalidKeys[]

/** A Sequelize model class, as far as cacheme needs to know it. */
export interface ModelClass {
  readonly name: string
  // Method syntax keeps the parameters bivariant, so Sequelize's overloaded addHook fits.
  addHook(...args: never[]): unknown
}

/** A through model of belongsToMany: per linked model's name, the keys a link change clears. */
export type M2MCacheKeys = Record<string, (ids: unknown[]) => InvalidKeys>

export interface CachemeOptions<C extends AnyContainer = Container> {
  /**
   * The cache key of a call, made from its container (`c.self`, `c.args`, the parameters by name).
   * A key with `>` is a field of a hash: `Book:1>owner` is field `owner` of `Book:1`. Required.
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner` })
   */
  readonly key: (c: C) => string
  /**
   * Dependency keys: the call's entry is deleted when any of them is invalidated (a change of a
   * model whose `cacheKey` it is, `invalidate({ invalidKey })`). `c.result` holds the computed value.
   * @default none: only the key, its tag and patterns invalidate the entry
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner`, invalidKeys: c => [`User:${c.book.ownerId}`] })
   */
  readonly invalidKeys?: (c: C) => InvalidKeys
  /**
   * Models whose changes invalidate the keys their instances' `cacheKey` names; the hooks are
   * installed once per model, when the decorator is applied.
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner`, invalidKeys: c => `User:${c.book.ownerId}`, invalidModels: [User] })
   */
  readonly invalidModels?: readonly ModelClass[]
  /**
   * Through models of belongsToMany links; their static `m2mCacheKeys` name what a link change clears.
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>readers`, invalidKeys: c => `Book:${c.book.id}:readers`, invalidM2MModels: [BookReader] })
   */
  readonly invalidM2MModels?: readonly ModelClass[]
  /**
   * Groups the keys for `cachemeTags[tag]`, `invalidate({ tag })` and the per-tag metrics.
   * @default 'ClassName.methodName', or the wrapped function's name
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner`, tag: 'book-owner' })
   */
  readonly tag?: string
  /**
   * Called when a call is served from the cache, with its key and the cached result.
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner`, hit: key => log.debug('hit', key) })
   */
  readonly hit?: (key: string, result: ResultOf<C>, c: C) => void
  /**
   * Called when a call finds nothing usable in the cache and computes (or joins a computation).
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner`, miss: key => log.debug('miss', key) })
   */
  readonly miss?: (key: string, c: C) => void
  /**
   * Time to live in seconds; 0 keeps the entry until it is invalidated. Overrides `configure({ ttl })`.
   * @default the configured `ttl`
   * @example
   * cacheme({ key: c => `Rates:${c.currency}`, ttl: 60 })
   */
  readonly ttl?: number
  /**
   * Seconds a value may still be served after its ttl, or after an invalidation that allows it,
   * while one caller recomputes it in the background (stale-while-revalidate).
   * @default 0
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>summary`, ttl: 300, grace: 30 })
   */
  readonly grace?: number
  /**
   * Seconds one process may hold the right to compute a missing key while other processes wait
   * for its value (polling), before they compute it themselves.
   * @default no lease: each process computes its own misses
   * @example
   * cacheme({ key: c => `Report:${c.month}`, lease: 10 })
   */
  readonly lease?: number
  /**
   * Calls that run uncached (nothing read, nothing stored). `true`: every call of this method,
   * settled when the decorator is applied, so a call costs no key and no store access; `false`:
   * the same as none. A function decides per call, from its container.
   * @default false: every call uses the cache
   * @example
   * cacheme({ key: c => `Book:${c.book.id}>owner`, skip: c => c.self.preview })
   * cacheme({ key: c => `Book:${c.book.id}>owner`, skip: process.env.NO_CACHE === '1' })
   */
  readonly skip?: boolean | ((c: C) => boolean)
  /**
   * The in-process tier of `configure({ local })` for this method: `false` always asks Redis (a
   * value that must be read as Redis has it now); `{ ttl }` keeps its values here at most `ttl`
   * seconds. Without a configured tier it does nothing.
   * @default the configured tier, as configured
   * @example
   * cacheme({ key: c => `Stock:${c.item.id}`, local: false })
   * cacheme({ key: c => `Book:${c.book.id}>summary`, local: { ttl: 5 } })
   */
  readonly local?: LocalChoice
}

const FUNCTION_OPTIONS = ['key', 'invalidKeys', 'hit', 'miss'] as const
const MODEL_OPTIONS = ['invalidModels', 'invalidM2MModels'] as const
const SECONDS_OPTIONS = ['ttl', 'grace', 'lease'] as const
const KNOWN: readonly (keyof CachemeOptions)[] = [...FUNCTION_OPTIONS, 'skip', ...MODEL_OPTIONS, 'tag', ...SECONDS_OPTIONS, 'local']

/** Checks decorator options when the decorator is applied, naming the method in every error. */
export function validateOptions(options: unknown, owner: string): asserts options is CachemeOptions {
  const checks = new OptionChecks(`@cacheme on ${owner}`)
  const given = checks.object(options as Record<string, unknown>, KNOWN)
  if (given.key === undefined) checks.fail('the key option is required')
  for (const name of FUNCTION_OPTIONS) checks.optionalFunction(name, given[name] as Function | undefined)
  if (given.skip !== undefined && typeof given.skip !== 'boolean' && typeof given.skip !== 'function')
    checks.fail(`skip must be a boolean or a function (c) => boolean, got ${given.skip === null ? 'null' : typeof given.skip}`)
  for (const name of MODEL_OPTIONS) {
    const models = given[name]
    if (models === undefined) continue
    if (!Array.isArray(models)) checks.fail(`${name} must be an array of Sequelize models`)
    for (const model of models as unknown[]) {
      if (typeof model !== 'function' || typeof (model as unknown as ModelClass).addHook !== 'function') {
        checks.fail(`${name} must contain Sequelize model classes, got ${model === null ? 'null' : typeof model}`)
      }
    }
  }
  checks.optionalString('tag', given.tag)
  for (const name of SECONDS_OPTIONS) checks.milliseconds(name, given[name])
  localPolicy(checks, given.local as CachemeOptions['local'])
}
