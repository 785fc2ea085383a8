import type { AnyContainer, Container, ResultOf } from './container'
import { CachemeError } from './errors'

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
  /** The cache key of a call. A key with `>` is a hash field: `Book:1>owner`. */
  readonly key: (c: C) => string
  /** Dependency keys: the call's entry is deleted when any of them is invalidated. `c.result` is set. */
  readonly invalidKeys?: (c: C) => InvalidKeys
  /** Models whose changes invalidate (their instances' `cacheKey`); hooks are installed once per model. */
  readonly invalidModels?: readonly ModelClass[]
  /** Through models of belongsToMany links; their static `m2mCacheKeys` name what a link change clears. */
  readonly invalidM2MModels?: readonly ModelClass[]
  /** Groups the keys for `cachemeTags[tag]`. Default `ClassName.methodName`, or the function's name. */
  readonly tag?: string
  readonly hit?: (key: string, result: ResultOf<C>, c: C) => void
  readonly miss?: (key: string, c: C) => void
  /** Time to live in seconds (0: no expiry); overrides the configured default. */
  readonly ttl?: number
  /**
   * Seconds a value may still be served after its ttl, or after an invalidation that allows it,
   * while one caller recomputes it in the background. Default 0.
   */
  readonly grace?: number
  /**
   * Seconds one process may hold the right to compute a missing key while other processes wait
   * for its value (polling), before they compute it themselves. Default: no lease.
   */
  readonly lease?: number
  /** true: run uncached for this call. */
  readonly skip?: (c: C) => boolean
}

const FUNCTION_OPTIONS = ['key', 'invalidKeys', 'hit', 'miss', 'skip'] as const
const MODEL_OPTIONS = ['invalidModels', 'invalidM2MModels'] as const
const KNOWN = new Set<string>([...FUNCTION_OPTIONS, ...MODEL_OPTIONS, 'tag', 'ttl', 'grace', 'lease'])

/** Checks decorator options when the decorator is applied, naming the method in every error. */
export function validateOptions(options: unknown, owner: string): asserts options is CachemeOptions {
  const fail = (problem: string): never => {
    throw new CachemeError('INVALID_OPTIONS', `@cacheme on ${owner}: ${problem}`)
  }
  if (options === null || typeof options !== 'object') fail(`options must be an object, got ${options === null ? 'null' : typeof options}`)
  const given = options as Record<string, unknown>
  for (const name of Object.keys(given)) {
    if (!KNOWN.has(name)) fail(`unknown option '${name}' (known: ${[...KNOWN].join(', ')})`)
  }
  if (given.key === undefined) fail('the key option is required')
  for (const name of FUNCTION_OPTIONS) {
    if (given[name] !== undefined && typeof given[name] !== 'function') fail(`${name} must be a function, got ${typeof given[name]}`)
  }
  for (const name of MODEL_OPTIONS) {
    const models = given[name]
    if (models === undefined) continue
    if (!Array.isArray(models)) fail(`${name} must be an array of Sequelize models`)
    for (const model of models as unknown[]) {
      if (typeof model !== 'function' || typeof (model as unknown as ModelClass).addHook !== 'function') {
        fail(`${name} must contain Sequelize model classes, got ${model === null ? 'null' : typeof model}`)
      }
    }
  }
  if (given.tag !== undefined && (typeof given.tag !== 'string' || given.tag === '')) fail('tag must be a non-empty string')
  for (const name of ['ttl', 'grace', 'lease']) {
    const seconds = given[name]
    if (seconds !== undefined && !(typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0)) {
      fail(`${name} must be a number of seconds >= 0, got ${String(seconds)}`)
    }
  }
}
