import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { CachemeError } from './errors'
import { KeyLayout } from './keys'
import { MemoryStore } from './store/memory-store'
import { RedisStore } from './store/redis-store'
import type { Store } from './store/store'

/** What cacheme was doing when a store fault happened; handed to `onError`. */
export interface ErrorContext {
  readonly operation: 'read' | 'write' | 'invalidate' | 'tag' | 'close'
  /** The cache key or dependency keys concerned, when there are any. */
  readonly key?: string | readonly string[]
  /** `ClassName.method` (or the function name) whose call met the fault. */
  readonly method?: string
}

export type ErrorHandler = (error: unknown, context: ErrorContext) => void

export interface ConfigureOptions {
  /** An ioredis `Redis` or `Cluster`, a Redis URL, or ioredis options. */
  readonly redis?: Redis | Cluster | string | RedisOptions
  /** `'memory'` keeps everything in this process; `'redis'` (the default when `redis` is given). */
  readonly store?: 'memory' | 'redis'
  /** Every key cacheme writes starts with it. Default `CM:`. */
  readonly prefix?: string
  /** false: decorated methods run uncached, hooks do nothing, no Redis traffic. Default true. */
  readonly enabled?: boolean
  /** Default time to live of entries, in seconds; none by default. */
  readonly ttl?: number
  /** Store faults are reported here and never thrown at callers. Default: a console warning. */
  readonly onError?: ErrorHandler
}

/** The configuration in force; decorated methods read it on every call. */
export interface Runtime {
  readonly store: Store
  readonly layout: KeyLayout
  readonly enabled: boolean
  /** Default time to live in milliseconds, 0 for none. */
  readonly ttlMs: number
  readonly onError: ErrorHandler
}

const OPTION_NAMES = new Set(['redis', 'store', 'prefix', 'enabled', 'ttl', 'onError'])
const DEFAULT_PREFIX = 'CM:'

const warn: ErrorHandler = (error, context) => {
  const message = error instanceof Error ? error.message : String(error)
  console.warn(`cacheme: ${context.operation}${context.method ? ` in ${context.method}` : ''} failed: ${message}`)
}

let active: Runtime | undefined

/** Replaces the configuration. Methods decorated earlier use it from their next call on. */
export function configure(options: ConfigureOptions = {}): void {
  const next = createRuntime(options)
  const previous = active
  active = next
  if (previous) void closeStore(previous)
}

/** The configuration in force; without a `configure()` call, the in-process memory store. */
export function runtime(): Runtime {
  return (active ??= createRuntime({}))
}

/** Closes the store the configuration opened (a client the application passed in stays open). */
export async function shutdown(): Promise<void> {
  const current = active
  active = undefined
  if (current) await closeStore(current)
}

/** Reports a fault through the configured handler; a handler that throws must not break the caller. */
export function report(error: unknown, context: ErrorContext): void {
  try {
    runtime().onError(error, context)
  } catch {
    // the handler's own failure has nowhere better to go
  }
}

async function closeStore(runtime: Runtime): Promise<void> {
  try {
    await runtime.store.close()
  } catch (error) {
    runtime.onError(error, { operation: 'close' })
  }
}

function createRuntime(options: ConfigureOptions): Runtime {
  if (options === null || typeof options !== 'object') {
    throw new CachemeError('INVALID_CONFIG', `configure() takes an options object, got ${options === null ? 'null' : typeof options}`)
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw new CachemeError('INVALID_CONFIG', `configure(): unknown option '${name}' (known: ${[...OPTION_NAMES].join(', ')})`)
    }
  }
  const { ttl, onError = warn, enabled = true, prefix = DEFAULT_PREFIX } = options
  if (ttl !== undefined && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0)) {
    throw new CachemeError('INVALID_CONFIG', `configure(): ttl must be a number of seconds >= 0, got ${String(ttl)}`)
  }
  if (typeof onError !== 'function') {
    throw new CachemeError('INVALID_CONFIG', 'configure(): onError must be a function')
  }
  if (typeof enabled !== 'boolean') {
    throw new CachemeError('INVALID_CONFIG', 'configure(): enabled must be a boolean')
  }
  const layout = new KeyLayout(prefix)
  return { store: createStore(options, layout), layout, enabled, ttlMs: Math.round((ttl ?? 0) * 1000), onError }
}

function createStore(options: ConfigureOptions, layout: KeyLayout): Store {
  const { redis, store } = options
  if (store !== undefined && store !== 'memory' && store !== 'redis') {
    throw new CachemeError('INVALID_CONFIG', `configure(): store must be 'memory' or 'redis', got ${JSON.stringify(store)}`)
  }
  if (store === 'memory' || (store === undefined && redis === undefined)) {
    if (redis !== undefined) throw new CachemeError('INVALID_CONFIG', "configure(): give either redis or store: 'memory', not both")
    return new MemoryStore(layout)
  }
  if (redis === undefined) throw new CachemeError('INVALID_CONFIG', "configure(): store 'redis' needs the redis option")
  if (redis instanceof Redis || redis instanceof Cluster || isRedisClient(redis)) return new RedisStore(redis, layout)
  if (typeof redis === 'string') return new RedisStore(new Redis(redis), layout, true)
  if (typeof redis === 'object' && redis !== null) return new RedisStore(new Redis(redis), layout, true)
  throw new CachemeError('INVALID_CONFIG', `configure(): redis must be an ioredis client, a URL or options, got ${typeof redis}`)
}

/** A client from another copy of ioredis fails `instanceof`; recognise it by its shape. */
function isRedisClient(value: unknown): value is Redis {
  const candidate = value as Partial<Redis> | null
  return typeof candidate === 'object' && candidate !== null && typeof candidate.defineCommand === 'function' && typeof candidate.pipeline === 'function'
}
