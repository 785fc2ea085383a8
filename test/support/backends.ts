import type { Cluster, Redis } from 'ioredis'
import { configure, type ConfigureOptions } from '../../src'
import { escapeGlob, KeyLayout } from '../../src/keys'
import { scanKeys } from '../../src/store/key-scan'
import { clusterMode, testRedis } from './fixtures'

export type Backend = 'redis' | 'memory'
/** The stores every behavioural suite runs against; the Cluster pass has nothing to learn from the memory store. */
export const BACKENDS: readonly Backend[] = clusterMode ? ['redis'] : ['redis', 'memory']

/**
 * Whether a suite may count the exact commands of one Redis: a Cluster splits them per slot, with
 * the sequence read apart; test/store/cluster-store.test.ts counts its round trips per master.
 */
export const countsCommands = (backend: Backend): boolean => backend === 'redis' && !clusterMode

let client: Redis | Cluster | undefined
let counter = 0
/** Prefixes stay unique across runs against a shared REDIS_URL. */
const RUN = `${process.pid}${Date.now().toString(36)}`

/** One ioredis client for the run (a Cluster in cluster mode), also used by tests to look at what cacheme wrote. */
export function redisClient(): Redis | Cluster {
  return (client ??= testRedis())
}

after(async () => {
  await client?.quit()
  client = undefined
})

/**
 * On a Cluster a new prefix's first write waits for the store to create its 16384 slot guards,
 * longer than the default 250 ms on a loaded machine; a suite that sets its own timeout keeps it.
 */
export const TEST_STORE_OPTIONS: Pick<ConfigureOptions, 'timeout'> = clusterMode ? { timeout: 5 } : {}

/**
 * Each prefix leaves its 16384 slot guards on a Cluster, and every scan (gc, patterns) would walk
 * those of all earlier tests: a new prefix starts on an emptied Cluster. A master runs the commands
 * of one connection in order, so the new store's first commands run after the flush.
 */
function emptyCluster(): void {
  if (!clusterMode) return
  for (const master of (redisClient() as Cluster).nodes('master')) void master.flushall().catch(() => undefined)
}

/** Configures cacheme on the backend under a prefix of its own, so tests never see each other's keys. */
export function configureBackend(backend: Backend, options: Omit<ConfigureOptions, 'redis' | 'store' | 'prefix'> = {}): string {
  const prefix = `t${RUN}_${++counter}:`
  if (backend === 'redis') emptyCluster()
  configure({ ...(backend === 'redis' ? { redis: redisClient() } : { store: 'memory' }), prefix, onError: () => {}, ...TEST_STORE_OPTIONS, ...options })
  return prefix
}

/**
 * Deletes every entry under the prefix, on every master of a Cluster: the next reads are cold.
 * cacheme's bookkeeping stays, as a store that lost only entries would find it.
 */
export async function deleteEntries(prefix: string): Promise<void> {
  const layout = new KeyLayout(prefix)
  const client = redisClient()
  for await (const { names } of scanKeys(client, `${escapeGlob(prefix)}*`, 1000)) {
    await Promise.all(names.filter(name => layout.isEntryName(name)).map(name => client.unlink(name)))
  }
}

/** A promise with its resolve function outside: holds a computation open while a test acts. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>(done => (resolve = done))
  return { promise, resolve }
}

export const sleep = (ms: number) => new Promise(done => setTimeout(done, ms))

/** The promise's value, or an error naming what it waited for once `ms` have passed: a bound that only catches a hang. */
export function settlesWithin<T>(promise: Promise<T>, ms: number, what = 'the call'): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what}: still pending after ${ms} ms`)))])
}
