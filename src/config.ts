import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { CachemeError } from './errors'
import { cachemeEvents } from './events'
import { KeyLayout } from './keys'
import { metrics } from './metrics'
import { SingleFlight } from './single-flight'
import { checkEvictionPolicy } from './store/eviction-policy'
import { FailOpenStore, UNAVAILABLE } from './store/fail-open-store'
import { MemoryStore } from './store/memory-store'
import { RedisStore } from './store/redis-store'
import type { Store } from './store/store'

/** What cacheme was doing when a store fault happened; handed to `onError`. */
export interface ErrorContext {
  /** `refresh`: recomputing a value served stale within its grace failed. */
  readonly operation: 'read' | 'write' | 'refresh' | 'invalidate' | 'close'
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
  /** Longest wait for one Redis operation, in seconds; past it the call computes uncached. Default 0.25. */
  readonly timeout?: number
  /** Invalidations kept while Redis is unreachable; past it the whole prefix is treated as stale. Default 10000. */
  readonly replayQueueSize?: number
  /** Results whose JSON is larger than this many bytes are returned uncached. Default: no limit. */
  readonly maxValueBytes?: number
}

/** The configuration in force; decorated methods read it on every call. */
export interface Runtime {
  readonly store: Store
  readonly layout: KeyLayout
  readonly enabled: boolean
  /** Default time to live in milliseconds, 0 for none. */
  readonly ttlMs: number
  /** Hands a fault to `onError` and the `fault` event. */
  readonly report: ErrorHandler
  /** 0 for no limit. */
  readonly maxValueBytes: number
  /** Computations in flight in this process, by entry. */
  readonly flights: SingleFlight
}

const OPTION_NAMES = new Set(['redis', 'store', 'prefix', 'enabled', 'ttl', 'onError', 'timeout', 'replayQueueSize', 'maxValueBytes'])
const DEFAULT_PREFIX = 'CM:'
const DEFAULT_TIMEOUT_SECONDS = 0.25
const DEFAULT_REPLAY_QUEUE_SIZE = 10_000

const warn: ErrorHandler = (error, context) => {
  const message = error instanceof Error ? error.message : String(error)
  console.warn(`cacheme: ${context.operation}${context.method ? ` in ${context.method}` : ''} failed: ${message}`)
}

let active: Runtime | undefined

/** Replaces the configuration. Methods decorated earlier use it from their next call on. */
export function configure(options: ConfigureOptions = {}): void {
  const previous = active
  activate(createRuntime(options))
  if (previous) void closeStore(previous)
}

/** The configuration in force; without a `configure()` call, the in-process memory store. */
export function runtime(): Runtime {
  return active ?? activate(createRuntime({}))
}

/** Puts a configuration in force; the metrics of every tag go to its store. */
function activate(next: Runtime): Runtime {
  active = next
  metrics.flushTo(async deltas => {
    try {
      await next.store.incrementStats(deltas)
    } catch (error) {
      next.report(error, { operation: 'write' })
      throw error
    }
  })
  return next
}

/** Closes the store the configuration opened (a client the application passed in stays open). */
export async function shutdown(): Promise<void> {
  await metrics.flush()
  const current = active
  active = undefined
  if (current) await closeStore(current)
}

/** Reports a fault through the configuration in force. */
export function report(error: unknown, context: ErrorContext): void {
  runtime().report(error, context)
}

export async function closeStore(runtime: Runtime): Promise<void> {
  try {
    await runtime.store.close()
  } catch (error) {
    runtime.report(error, { operation: 'close' })
  }
}

/** A configuration and its store, not put in force: configure() uses it, and so does a BaseCache given its own Redis. */
export function createRuntime(options: ConfigureOptions): Runtime {
  if (options === null || typeof options !== 'object') {
    throw new CachemeError('INVALID_CONFIG', `configure() takes an options object, got ${options === null ? 'null' : typeof options}`)
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) {
      throw new CachemeError('INVALID_CONFIG', `configure(): unknown option '${name}' (known: ${[...OPTION_NAMES].join(', ')})`)
    }
  }
  const { ttl, onError = warn, enabled = true, prefix = DEFAULT_PREFIX } = options
  const timeout = options.timeout ?? DEFAULT_TIMEOUT_SECONDS
  const replayQueueSize = options.replayQueueSize ?? DEFAULT_REPLAY_QUEUE_SIZE
  const maxValueBytes = options.maxValueBytes ?? 0
  const fail = (problem: string): never => {
    throw new CachemeError('INVALID_CONFIG', `configure(): ${problem}`)
  }
  if (ttl !== undefined && !isNonNegative(ttl)) fail(`ttl must be a number of seconds >= 0, got ${String(ttl)}`)
  if (!isNonNegative(timeout) || timeout === 0) fail(`timeout must be a number of seconds > 0, got ${String(timeout)}`)
  if (!Number.isInteger(replayQueueSize) || replayQueueSize < 1) fail(`replayQueueSize must be a whole number >= 1, got ${String(replayQueueSize)}`)
  if (!Number.isInteger(maxValueBytes) || maxValueBytes < 0) fail(`maxValueBytes must be a whole number of bytes >= 0, got ${String(maxValueBytes)}`)
  if (typeof onError !== 'function') fail('onError must be a function')
  if (typeof enabled !== 'boolean') fail('enabled must be a boolean')
  const layout = new KeyLayout(prefix)
  // A handler that throws must not break the caller; a skipped store was reported when it failed.
  const report: ErrorHandler = (error, context) => {
    if (error === UNAVAILABLE) return
    cachemeEvents.emit('fault', error, context)
    try {
      onError(error, context)
    } catch {
      // the handler's own failure has nowhere better to go
    }
  }
  const store = createStore(options, layout, { timeoutMs: Math.round(timeout * 1000), replayLimit: replayQueueSize, report })
  return { store, layout, enabled, ttlMs: Math.round((ttl ?? 0) * 1000), report, maxValueBytes, flights: new SingleFlight() }
}

function isNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function createStore(options: ConfigureOptions, layout: KeyLayout, failOpen: ConstructorParameters<typeof FailOpenStore>[1]): Store {
  const { redis, store } = options
  if (store !== undefined && store !== 'memory' && store !== 'redis') {
    throw new CachemeError('INVALID_CONFIG', `configure(): store must be 'memory' or 'redis', got ${JSON.stringify(store)}`)
  }
  if (store === 'memory' || (store === undefined && redis === undefined)) {
    if (redis !== undefined) throw new CachemeError('INVALID_CONFIG', "configure(): give either redis or store: 'memory', not both")
    return new MemoryStore(layout)
  }
  if (redis === undefined) throw new CachemeError('INVALID_CONFIG', "configure(): store 'redis' needs the redis option")
  const remote = (client: Redis | Cluster, owned: boolean) => {
    // The store defines its script commands first: an auto-pipelining client builds its pipeline
    // from the commands it knows when the first command is sent.
    const store = new FailOpenStore(new RedisStore(client, layout, owned), failOpen)
    warnOnUnsafeEviction(client)
    return store
  }
  if (redis instanceof Redis || redis instanceof Cluster || isRedisClient(redis)) return remote(redis, false)
  if (typeof redis === 'string') return remote(quiet(new Redis(redis)), true)
  if (typeof redis === 'object' && redis !== null) return remote(quiet(new Redis(redis)), true)
  throw new CachemeError('INVALID_CONFIG', `configure(): redis must be an ioredis client, a URL or options, got ${typeof redis}`)
}

const checkedClients = new WeakSet<object>()

/** Once per client, in the background: an eviction policy that drops sets loses invalidations. */
function warnOnUnsafeEviction(client: Redis | Cluster): void {
  if (checkedClients.has(client)) return
  checkedClients.add(client)
  void checkEvictionPolicy(client, message => console.warn(message))
}

/** Connection errors surface as failed commands, which are reported; ioredis need not print them too. */
function quiet(client: Redis): Redis {
  return client.on('error', () => {})
}

/** A client from another copy of ioredis fails `instanceof`; recognise it by its shape. */
function isRedisClient(value: unknown): value is Redis {
  const candidate = value as Partial<Redis> | null
  return typeof candidate === 'object' && candidate !== null && typeof candidate.defineCommand === 'function' && typeof candidate.pipeline === 'function'
}
