import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { cachemeEvents } from '../events'
import type { KeyLayout } from '../keys'
import type { LocalSettings } from '../local/local-options'
import { LocalTierStore } from '../local/local-store'
import type { TierHooks } from '../local/local-tier'
import { openTier } from '../local/open-tier'
import type { OptionChecks } from '../option-checks'
import { checkEvictionPolicy } from './eviction-policy'
import { FailOpenStore, type FailOpenOptions } from './fail-open-store'
import { ClusterStore } from './cluster/cluster-store'
import { MemoryStore } from './memory-store'
import { RedisStore } from './redis-store'
import type { Store } from './store'

/** The options of `configure()` that choose the store. */
export interface StoreChoice {
  readonly redis?: Redis | Cluster | string | RedisOptions
  readonly store?: 'memory' | 'redis'
}

export interface OpenedStore {
  readonly store: Store
  /** Invalidations waiting for Redis to answer again; absent for the memory store, which cannot fail. */
  readonly pendingInvalidations?: () => number
}

/**
 * The store `configure()` asked for: the memory store, or Redis behind the fail-open wrapper (and
 * the in-process tier, when asked), with how many invalidations wait for Redis to answer again.
 */
export function openStore(options: StoreChoice, layout: KeyLayout, checks: OptionChecks, local: LocalSettings | undefined, failOpen: FailOpenOptions): OpenedStore {
  const { redis, store } = options
  if (store !== undefined && store !== 'memory' && store !== 'redis') checks.fail(`store must be 'memory' or 'redis', got ${JSON.stringify(store)}`)
  if (store === 'memory' || (store === undefined && redis === undefined)) {
    if (redis !== undefined) checks.fail("give either redis or store: 'memory', not both")
    return { store: new MemoryStore(layout) }
  }
  if (redis === undefined) checks.fail("store 'redis' needs the redis option")
  const remote = (client: Redis | Cluster, owned: boolean) => {
    const onState: TierHooks['onState'] = (state, reason) => cachemeEvents.emit('local', state, reason)
    const tier = local && openTier(client, layout, local, failOpen.timeoutMs, { onState })
    // Redis skipped: what the tier holds was vouched for by a server that may have changed since.
    const onCircuit: FailOpenOptions['onCircuit'] = state => {
      if (state === 'open' && tier) tier.clear()
      failOpen.onCircuit?.(state)
    }
    // The store defines its script commands first: an auto-pipelining client builds its pipeline
    // from the commands it knows when the first command is sent.
    const backend = client.isCluster ? new ClusterStore(client as Cluster, layout, { owned }) : new RedisStore(client, layout, owned)
    const failOpenStore = new FailOpenStore(backend, { ...failOpen, onCircuit })
    warnOnUnsafeEviction(client)
    const pendingInvalidations = () => failOpenStore.pendingInvalidations
    return { store: tier ? new LocalTierStore(failOpenStore, tier, pendingInvalidations) : failOpenStore, pendingInvalidations }
  }
  if (redis instanceof Redis || redis instanceof Cluster || isRedisClient(redis)) return remote(redis, false)
  if (typeof redis === 'string') {
    if (!isRedisAddress(redis)) {
      // A password in it stays out of the message, which goes to logs.
      const shown = JSON.stringify(redis.replace(/\/\/[^/@]*@/, '//***@'))
      checks.fail(`redis ${shown} is not a Redis URL: expected redis://[[user]:password@]host[:port][/db], rediss://... or a Unix socket path`)
    }
    return remote(quiet(new Redis(redis)), true)
  }
  if (typeof redis === 'object' && redis !== null && !Array.isArray(redis)) return remote(quiet(new Redis(redis)), true)
  const given = redis === null ? 'null' : Array.isArray(redis) ? 'an array' : typeof redis
  return checks.fail(`redis must be an ioredis client, a redis:// or rediss:// URL, a Unix socket path or ioredis options, got ${given}`)
}

/** An ioredis Cluster, from this copy of ioredis or another: its layout hash-tags the names it keeps together. */
export function isCluster(redis: unknown): boolean {
  return redis instanceof Cluster || (typeof redis === 'object' && redis !== null && (redis as { isCluster?: unknown }).isCluster === true)
}

/** What ioredis connects to and this documents: a redis: or rediss: URL that parses, or a socket path. */
function isRedisAddress(address: string): boolean {
  if (address.startsWith('/')) return true
  if (!URL.canParse(address)) return false
  const { protocol } = new URL(address)
  return protocol === 'redis:' || protocol === 'rediss:'
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
