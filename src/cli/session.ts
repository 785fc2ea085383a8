import { Cluster, Redis, type RedisOptions } from 'ioredis'
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

/** The connection options of every node: fail fast, as said above. */
const FAIL_FAST: RedisOptions = {
  connectTimeout: CONNECT_TIMEOUT_MS,
  commandTimeout: COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  // How long a failed connection's socket may linger before it is destroyed (default 2 s).
  disconnectTimeout: 200,
}

export interface SessionOptions {
  /** Connect as a Cluster client from the node the URL names, without asking the node first. */
  readonly cluster?: boolean
}

/** A connection to Redis with cacheme configured on it for the prefix. */
export class Session {
  readonly #faults: unknown[] = []
  #connectionError: unknown

  private constructor(
    readonly client: Redis | Cluster,
    readonly layout: KeyLayout,
    readonly url: string,
  ) {
    client.on('error', error => (this.#connectionError = error))
  }

  /**
   * Connects, proving Redis answers, and configures cacheme for this process with the client.
   * A node that says it is part of a Cluster (or `cluster`) is reached again as a Cluster, from
   * that node. A bad URL or prefix fails before any connection is tried.
   */
  static async open(rawUrl: string, prefix: string, { cluster = false }: SessionOptions = {}): Promise<Session> {
    // The prefix is checked before any connection, and again with the rules of a Cluster once connected.
    new KeyLayout(prefix)
    const parsed = checkedUrl(rawUrl)
    const client = await reach(rawUrl, parsed, cluster)
    let layout: KeyLayout
    try {
      layout = new KeyLayout(prefix, { cluster: client.isCluster })
    } catch (error) {
      client.disconnect()
      throw error
    }
    const session = new Session(client, layout, redacted(parsed))
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

/**
 * The client for the URL: a single Redis, unless `cluster` is asked for or the node it reaches
 * says it belongs to a Cluster.
 */
async function reach(rawUrl: string, url: URL, cluster: boolean): Promise<Redis | Cluster> {
  const failed = (error: unknown, what: string) => new CliError(EXIT.redis, `cannot reach ${what} at ${redacted(url)}: ${messageOf(error)}`)
  const reachCluster = () => connected(clusterFrom(url)).catch(error => Promise.reject(failed(error, 'the Redis Cluster')))
  if (cluster) return reachCluster()
  const single = await connected(new Redis(rawUrl, { lazyConnect: true, ...FAIL_FAST })).catch(error => Promise.reject(failed(error, 'Redis')))
  let clustered: boolean
  try {
    clustered = await isClusterNode(single)
  } catch (error) {
    single.disconnect()
    throw failed(error, 'Redis')
  }
  if (!clustered) return single
  single.disconnect()
  return reachCluster()
}

/** Resolves with the client once it has answered PING; rejects, disconnected, with why it did not. */
async function connected<T extends Redis | Cluster>(client: T): Promise<T> {
  // ioredis rejects with "Connection is closed"; the event says why.
  let cause: unknown
  client.on('error', error => (cause ??= error))
  try {
    await withDeadline(
      client.connect().then(() => client.ping()),
      CONNECT_TIMEOUT_MS,
    )
    return client
  } catch (error) {
    if (client.status !== 'end') client.disconnect()
    throw withNodeError(cause ?? error)
  }
}

/** A Cluster that cannot load its slots says only "Failed to refresh slots cache"; the last node's error says why. */
function withNodeError(error: unknown): unknown {
  const nodeError = (error as { lastNodeError?: unknown } | undefined)?.lastNodeError
  return nodeError === undefined ? error : new Error(`${messageOf(error)} (${messageOf(nodeError)})`)
}

/** `INFO cluster` says `cluster_enabled:1` on a node of a Cluster (a standalone server says 0). */
async function isClusterNode(client: Redis): Promise<boolean> {
  return /^cluster_enabled:1\s*$/m.test(await client.info('cluster'))
}

/** A Cluster client that discovers the others from the URL's node, each node connected as fail-fast as a single Redis. */
function clusterFrom(url: URL): Cluster {
  const redisOptions: RedisOptions = {
    ...FAIL_FAST,
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  }
  return new Cluster([{ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 6379) }], {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    redisOptions,
  })
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
