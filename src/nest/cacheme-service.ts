import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common'
import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import { configure, runtime, shutdown, type Runtime } from '../config'
import type { ModelClass } from '../options'
import { registerInvalidModels } from '../sequelize/invalid-models'
import type { CachemeModuleOptions } from './module-options'
import { pendingInvalidations, ping } from './store-status'

/** What `CachemeService.status()` reports. */
export interface CachemeStatus {
  readonly store: 'redis' | 'memory'
  /** false when configured with `enabled: false`: nothing is cached. */
  readonly enabled: boolean
  /** Whether Redis answered a PING within a second; always true for the memory store. */
  readonly answering: boolean
  /** How long the PING took, in milliseconds, when Redis answered. */
  readonly latencyMs?: number
  /** Why Redis did not answer. */
  readonly error?: string
  /** Invalidations waiting for Redis to answer again (the replay queue); nothing is served from the cache meanwhile. */
  readonly pendingInvalidations: number
}

/** A health indicator's result, as `@nestjs/terminus` reads it: `{ [key]: { status: 'up' | 'down', ...details } }`. */
export type CachemeHealth = Record<string, CachemeStatus & { readonly status: 'up' | 'down' }>

/**
 * The configuration `CachemeModule` put in force. Made by the module: it configures cacheme, opens
 * the Redis connection when given a URL or options (a client the application passes is used as it
 * is), registers the models, and closes what it opened on application shutdown.
 */
export class CachemeService implements OnModuleInit, OnApplicationShutdown {
  readonly #runtime: Runtime
  readonly #client: Redis | Cluster | undefined
  /** Whether this service opened the client, and so quits it. */
  readonly #opened: boolean
  readonly #models: readonly ModelClass[]

  constructor(options: CachemeModuleOptions) {
    const { models = [], ...configureOptions } = options
    const { redis } = configureOptions
    // Opened here rather than by configure(), so that status() has a client to PING. A URL or
    // options (a plain object) are opened; anything else is the application's client.
    const opened = typeof redis === 'string' || isPlainObject(redis) ? open(redis) : undefined
    try {
      configure(opened ? { ...configureOptions, redis: opened } : configureOptions)
    } catch (error) {
      // Refused options: the connection would otherwise keep the process alive.
      opened?.disconnect()
      throw error
    }
    this.#runtime = runtime()
    this.#client = opened ?? (redis as Redis | Cluster | undefined)
    this.#opened = opened !== undefined
    this.#models = models
  }

  /** Every provider, the Sequelize connection among them, exists now: the models have been initialized. */
  onModuleInit(): void {
    if (this.#models.length > 0) registerInvalidModels(this.#models)
  }

  /** Whether Redis answers and how many invalidations wait for it. */
  async status(): Promise<CachemeStatus> {
    const common = { enabled: this.#runtime.enabled, pendingInvalidations: pendingInvalidations(this.#runtime) }
    if (!this.#client) return { store: 'memory', answering: true, ...common }
    return { store: 'redis', ...(await ping(this.#client)), ...common }
  }

  /** The status as a health indicator: `health.check([() => cacheme.isHealthy()])` with `@nestjs/terminus`. Down when Redis does not answer. */
  async isHealthy(key = 'cacheme'): Promise<CachemeHealth> {
    const status = await this.status()
    return { [key]: { status: status.answering ? 'up' : 'down', ...status } }
  }

  async onApplicationShutdown(): Promise<void> {
    // A configure() since then has replaced this configuration, and closed it: leave the new one alone.
    if (runtime() === this.#runtime) await shutdown()
    if (this.#opened) await quit(this.#client!)
  }
}

function isPlainObject(value: unknown): value is RedisOptions {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

function open(redis: string | RedisOptions): Redis {
  // Two calls: the constructor's overloads take a URL or options, not either.
  const client = typeof redis === 'string' ? new Redis(redis) : new Redis(redis)
  // Connection errors surface as failed commands, which cacheme reports; ioredis need not print them too.
  return client.on('error', () => {})
}

async function quit(client: Redis | Cluster): Promise<void> {
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}
