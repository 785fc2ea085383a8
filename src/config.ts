import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { CachemeError, type ErrorContext, type ErrorHandler } from './errors'
import { cachemeEvents } from './events'
import { KeyLayout } from './keys'
import { localSettings, type LocalOptions } from './local/local-options'
import { metrics } from './metrics'
import { OptionChecks } from './option-checks'
import { Outbox, type OutboxOptions } from './outbox/outbox'
import { SingleFlight } from './single-flight'
import { isCluster, openStore } from './store/open-store'
import { UNAVAILABLE, type Store } from './store/store'

export interface ConfigureOptions {
  /**
   * The Redis to cache in: an ioredis `Redis` or `Cluster` (left open by `shutdown()`), a
   * `redis://` or `rediss://` URL, a Unix socket path or ioredis options (a client cacheme opens
   * and closes).
   * @default undefined: the in-process memory store
   * @example
   * configure({ redis: process.env.REDIS_URL })
   */
  readonly redis?: Redis | Cluster | string | RedisOptions
  /**
   * `'memory'` keeps everything in this process (tests, a single process); `'redis'` needs `redis`.
   * @default 'redis' when `redis` is given, else 'memory'
   * @example
   * configure({ store: 'memory' })
   */
  readonly store?: 'memory' | 'redis'
  /**
   * Every key cacheme writes starts with it, so applications can share one Redis. It ends with
   * `:`, `/`, `.` or `|`, so that no other application's names start with it.
   * @default 'CM:'
   * @example
   * configure({ redis, prefix: 'shop:' })
   */
  readonly prefix?: string
  /**
   * false: decorated methods run uncached, hooks do nothing, no Redis traffic.
   * @default true
   * @example
   * configure({ enabled: process.env.NODE_ENV !== 'test' })
   */
  readonly enabled?: boolean
  /**
   * Time to live of entries, in seconds, for methods that set no `ttl` of their own; 0 for none.
   * @default 0: entries live until invalidated
   * @example
   * configure({ redis, ttl: 3600 })
   */
  readonly ttl?: number
  /**
   * Store faults are handed here and never thrown at callers (a handler that throws is ignored).
   * @default a console warning
   * @example
   * configure({ redis, onError: (error, { operation, method }) => logger.warn({ error, operation, method }) })
   */
  readonly onError?: ErrorHandler
  /**
   * Longest wait for one Redis operation, in seconds; past it the call computes uncached.
   * @default 0.25
   * @example
   * configure({ redis, timeout: 0.1 })
   */
  readonly timeout?: number
  /**
   * Invalidations kept while Redis is unreachable, delivered when it answers again; past this
   * many, every entry under the prefix is treated as stale instead.
   * @default 10000
   * @example
   * configure({ redis, replayQueueSize: 50_000 })
   */
  readonly replayQueueSize?: number
  /**
   * Results whose JSON is larger than this many bytes are returned uncached (and reported); 0 for no limit.
   * @default 0: no limit
   * @example
   * configure({ redis, maxValueBytes: 512 * 1024 })
   */
  readonly maxValueBytes?: number
  /**
   * An in-process tier in front of Redis for `@cacheme` methods and the instance cache, kept
   * coherent by Redis's client tracking: a hit costs no round trip, and every change Redis sees
   * (through cacheme or not) drops the value here within the propagation delay. Needs a standalone
   * Redis; a method opts out with `local: false`. See the README's "In-process tier".
   * @default undefined: no in-process tier
   * @example
   * configure({ redis, local: { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttl: 60 } })
   */
  readonly local?: LocalOptions
  /**
   * Durable invalidation: each change's invalidation is written to a table of the application's
   * database in the change's own transaction, so that it survives the death of the process that
   * made it; a relay (`startRelay()`, `cacheme relay`) delivers what a dead process left.
   * @default none: an invalidation lives in the process until delivered, and a crash after the commit can lose it
   * @example
   * configure({ redis, outbox: { sequelize, tableName: 'cacheme_outbox', relayAfter: 2 } })
   */
  readonly outbox?: OutboxOptions
}

export interface ShutdownOptions {
  /**
   * Longest wait, in seconds, for the stores of misses still running and for invalidations still
   * being delivered or waiting for Redis to answer again. What is left then stays in the outbox;
   * without one it is dropped, and `onError` says how many.
   * @default 5
   */
  readonly wait?: number
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
  /** Invalidations waiting for Redis to answer again; absent for the memory store, which cannot fail. */
  readonly pendingInvalidations?: () => number
  /** Where changes record their invalidations, when configured. */
  readonly outbox?: Outbox
}

const OPTION_NAMES: readonly (keyof ConfigureOptions)[] = [
  'redis',
  'store',
  'prefix',
  'enabled',
  'ttl',
  'onError',
  'timeout',
  'replayQueueSize',
  'maxValueBytes',
  'outbox',
  'local',
]
const DEFAULT_PREFIX = 'CM:'
const DEFAULT_TIMEOUT_MS = 250
const DEFAULT_REPLAY_QUEUE_SIZE = 10_000
const DEFAULT_SHUTDOWN_WAIT_MS = 5_000
/** How often shutdown() looks whether the replay queue has emptied. */
const SHUTDOWN_POLL_MS = 50

const warn: ErrorHandler = (error, context) => {
  const message = error instanceof Error ? error.message : String(error)
  console.warn(`cacheme: ${context.operation}${context.method ? ` in ${context.method}` : ''} failed: ${message}`)
}

let active: Runtime | undefined
/** Deliveries of committed changes running now, which shutdown() waits for. */
const deliveries = new Set<Promise<void>>()

/** Replaces the configuration. Methods decorated earlier use it from their next call on. */
export function configure(options: ConfigureOptions = {}): void {
  const previous = active
  activate(createRuntime(options))
  // Its stores still running finish first, within shutdown()'s default wait.
  if (previous) void until(previous.flights.settled(), Date.now() + DEFAULT_SHUTDOWN_WAIT_MS).then(() => closeStore(previous))
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

/**
 * Finishes, within `wait`, the stores of misses and the invalidations still in flight or waiting
 * for Redis, stops the relay, and closes the store the configuration opened (a client the
 * application passed in stays open). Without an outbox, `onError` is told how many invalidations
 * were dropped.
 */
export async function shutdown(options: ShutdownOptions = {}): Promise<void> {
  const checks = new OptionChecks('shutdown()')
  checks.object(options, ['wait'])
  const waitMs = checks.milliseconds('wait', options.wait) ?? DEFAULT_SHUTDOWN_WAIT_MS
  const deadline = Date.now() + waitMs
  const current = active
  // A miss returns before its store is answered: the stores still running finish before the store closes.
  if (current) await until(current.flights.settled(), deadline)
  await metrics.flush()
  if (!current) return
  await current.outbox?.close()
  const left = await settleDeliveries(current, deadline)
  if (left > 0 && !current.outbox) {
    const what = left === 1 ? '1 invalidation was' : `${left} invalidations were`
    const message = `shutdown(): ${what} not delivered within ${waitMs / 1000} s and dropped; the entries they would have removed stay in Redis (an outbox keeps them for a relay)`
    current.report(new CachemeError('INVALIDATIONS_DROPPED', message), { operation: 'close' })
  }
  if (active === current) active = undefined
  await closeStore(current)
}

/**
 * Resolves once every computation this process has in flight has finished, its store included: a
 * miss returns its result as soon as it is computed, before Redis has answered its store. For tests
 * that look in Redis right after a call, and for a process about to exit without shutdown().
 */
export function cachemeSettled(): Promise<void> {
  return active?.flights.settled() ?? Promise.resolve()
}

/** Whether a store took every invalidation so far: none waits in this process for it to answer again. */
export function nothingWaiting(current: Runtime = runtime()): boolean {
  return (current.pendingInvalidations?.() ?? 0) === 0
}

/** Runs the delivery of a committed change, so that shutdown() can wait for it. */
export function delivering(delivery: () => Promise<void>): Promise<void> {
  const running = delivery().finally(() => deliveries.delete(running))
  deliveries.add(running)
  return running
}

/**
 * Waits until no delivery runs and no invalidation waits for replay, or the deadline passes;
 * resolves to how many are left: those waiting for replay, and the deliveries still running,
 * which the closed store will not take.
 */
async function settleDeliveries(current: Runtime, deadline: number): Promise<number> {
  const waiting = () => current.pendingInvalidations?.() ?? 0
  while (deliveries.size > 0 && Date.now() < deadline) await until(Promise.allSettled([...deliveries]), deadline)
  while (waiting() > 0 && Date.now() < deadline) await until(new Promise(done => setTimeout(done, SHUTDOWN_POLL_MS)), deadline)
  return waiting() + deliveries.size
}

/** Waits for `work`, or for the deadline if that comes first. */
async function until(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work, new Promise(done => (timer = setTimeout(done, Math.max(0, deadline - Date.now()))))])
  clearTimeout(timer)
}

/** Reports a fault through the configuration in force. */
export function report(error: unknown, context: ErrorContext): void {
  runtime().report(error, context)
}

export async function closeStore(runtime: Runtime): Promise<void> {
  try {
    await runtime.outbox?.close()
    await runtime.store.close()
  } catch (error) {
    runtime.report(error, { operation: 'close' })
  }
}

/** A configuration and its store, not put in force: configure() uses it, and so does a BaseCache given its own Redis. */
export function createRuntime(options: ConfigureOptions): Runtime {
  const checks = new OptionChecks('configure()', 'INVALID_CONFIG')
  checks.object(options, OPTION_NAMES)
  const ttlMs = checks.milliseconds('ttl', options.ttl) ?? 0
  const timeoutMs = checks.milliseconds('timeout', options.timeout, { positive: true }) ?? DEFAULT_TIMEOUT_MS
  const replayLimit = checks.wholeNumber('replayQueueSize', options.replayQueueSize ?? DEFAULT_REPLAY_QUEUE_SIZE, 1)
  const maxValueBytes = checks.wholeNumber('maxValueBytes', options.maxValueBytes ?? 0, 0, 'bytes')
  const onError = checks.optionalFunction('onError', options.onError) ?? warn
  const enabled = checks.optionalBoolean('enabled', options.enabled) ?? true
  const layout = new KeyLayout(options.prefix ?? DEFAULT_PREFIX, { cluster: isCluster(options.redis) })
  const local = localSettings(checks, options.local)
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
  const outbox = options.outbox === undefined ? undefined : new Outbox(options.outbox, checks)
  const { store, pendingInvalidations } = openStore(options, layout, checks, local, {
    timeoutMs,
    replayLimit,
    report,
    onCircuit: state => cachemeEvents.emit('circuit', state),
    onReplay: (delivered, pending) => cachemeEvents.emit('replay', delivered, pending),
    onOverflow: () => cachemeEvents.emit('overflow'),
  })
  return { store, layout, enabled, ttlMs, report, maxValueBytes, flights: new SingleFlight(), pendingInvalidations, outbox }
}
