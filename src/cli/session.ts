import { Redis } from 'ioredis'
import { configure, runtime, shutdown } from '../config'
import { KeyLayout } from '../keys'
import type { Store } from '../store/store'
import { CliError, EXIT } from './exit'

/**
 * An admin command must say at once that Redis is not there, not wait for it the way the library
 * does for an application: no offline queue, no retries, no reconnection.
 */
const CONNECT_TIMEOUT_MS = 2_000
/** Each Redis command; the library's own steps (SCAN pages, script batches) are far shorter. */
const COMMAND_TIMEOUT_MS = 30_000
/**
 * The library bounds a whole invalidation by its `timeout` and, past it, queues the invalidation
 * for replay and returns 0: right for an application, wrong for a command that must finish and
 * report. Here that bound is out of the way and COMMAND_TIMEOUT_MS bounds each command instead.
 */
const LIBRARY_TIMEOUT_SECONDS = 24 * 3600

/** A connection to Redis with cacheme configured on it for the prefix. */
export class Session {
  readonly #faults: unknown[] = []
  #connectionError: unknown

  private constructor(
    readonly client: Redis,
    readonly layout: KeyLayout,
    readonly url: string,
  ) {
    client.on('error', error => (this.#connectionError = error))
  }

  /**
   * Connects, proving Redis answers, and configures cacheme for this process with the client.
   * A bad URL or prefix fails before any connection is tried.
   */
  static async open(rawUrl: string, prefix: string): Promise<Session> {
    const layout = new KeyLayout(prefix)
    const url = redacted(checkedUrl(rawUrl))
    const client = new Redis(rawUrl, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      // How long a failed connection's socket may linger before it is destroyed (default 2 s).
      disconnectTimeout: 200,
    })
    // ioredis rejects with "Connection is closed"; the event says why.
    let cause: unknown
    client.on('error', error => (cause ??= error))
    try {
      await withDeadline(
        client.connect().then(() => client.ping()),
        CONNECT_TIMEOUT_MS,
      )
    } catch (error) {
      if (client.status !== 'end') client.disconnect()
      throw new CliError(EXIT.redis, `cannot reach Redis at ${url}: ${messageOf(cause ?? error)}`)
    }
    const session = new Session(client, layout, url)
    configure({ redis: client, prefix, timeout: LIBRARY_TIMEOUT_SECONDS, onError: error => session.#faults.push(error) })
    return session
  }

  /** The store cacheme is configured with. */
  get store(): Store {
    return runtime().store
  }

  /**
   * The library reports faults of invalidations instead of throwing them (and returns 0); a
   * command must fail on them. Call after each library call that reports.
   */
  throwFaults(): void {
    if (this.#faults.length > 0) throw this.#faults[0]
  }

  /** What a failed command says, with why the connection failed when it did ("Connection is closed" says little). */
  failureMessage(error: unknown): string {
    const cause = this.#connectionError
    return cause === undefined || cause === error ? messageOf(error) : `${messageOf(error)} (${messageOf(cause)})`
  }

  /**
   * Every command has been answered by now, so nothing is lost by not waiting for QUIT (which a
   * stuck Redis would not answer), nor for a replay: a command fails on the faults it met.
   */
  async close(): Promise<void> {
    await shutdown({ wait: 0 })
    this.client.disconnect()
  }
}

/** ioredis would take a bare word for a host name; ask for what it documents. */
function checkedUrl(raw: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CliError(EXIT.redis, `bad Redis URL ${JSON.stringify(raw)}: expected redis://[[user]:password@]host[:port][/db] or rediss://...`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new CliError(EXIT.redis, `bad Redis URL ${JSON.stringify(redacted(url))}: the scheme must be redis: or rediss:, not ${url.protocol}`)
  }
  return url
}

/** Messages never show a password. */
export function redacted(url: URL): string {
  if (url.password === '') return url.href
  const copy = new URL(url.href)
  copy.password = '***'
  return copy.href
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
