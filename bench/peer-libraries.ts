import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createKeyv } from '@keyv/redis'
import { createCache } from 'cache-manager'
import type { BenchRedis } from './harness'
import { ensurePeersInstalled, PEERS_DIR } from './peers/install'

/** A peer library set up the way its documentation shows, with its own client to the benchmark's Redis. */
export interface Peer {
  readonly name: string
  /** The library's memoized call: the value cached under `key`, else `compute`'s, stored. `dependency` is used by peers that tag entries. */
  readonly cached: <T>(key: string, compute: () => Promise<T>, dependency: string) => Promise<T>
  /** The Redis key the library stores `key` under. */
  readonly redisKey: (key: string) => string
  /** Its client writes the commands of one event-loop turn to the socket together by default, as ioredis does with enableAutoPipelining. */
  readonly pipelines: boolean
  readonly close: () => Promise<void>
}

// The shapes used from the libraries under bench/peers, written here so that type checking does not need them installed.
interface IoRedis5 {
  ping(): Promise<string>
  quit(): Promise<string>
}
type IoRedis5Class = new (url: string, options?: object) => IoRedis5
interface BentoCacheInstance {
  getOrSet<T>(options: { key: string; factory: () => Promise<T>; tags?: string[] }): Promise<T>
  disconnectAll(): Promise<void>
}
interface BentoCacheModule {
  BentoCache: new (options: object) => BentoCacheInstance
  bentostore(): { useL2Layer(driver: unknown): unknown }
}
interface BentoRedisModule {
  redisDriver(options: { connection: IoRedis5 }): unknown
}
type MethodDecorator = (target: object, name: string, descriptor: PropertyDescriptor) => PropertyDescriptor
interface TypeCacheableModule {
  Cacheable(options: { cacheKey: (args: unknown[]) => string; client: unknown }): MethodDecorator
}
interface TypeCacheableAdapterModule {
  IoRedisAdapter: new (client: IoRedis5) => unknown
}

const peerRequire = createRequire(path.join(PEERS_DIR, 'package.json'))

export function peerVersions(): string {
  const version = (from: string, pkg: string) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(from, 'node_modules', pkg, 'package.json'), 'utf8')).version as string
    } catch {
      return 'not installed'
    }
  }
  const root = path.join(__dirname, '..')
  return [
    `BentoCache ${version(PEERS_DIR, 'bentocache')}`,
    `@type-cacheable/core ${version(PEERS_DIR, '@type-cacheable/core')}`,
    `@type-cacheable/ioredis-adapter ${version(PEERS_DIR, '@type-cacheable/ioredis-adapter')}`,
    `ioredis ${version(PEERS_DIR, 'ioredis')} for these two (bench/peers)`,
    `cache-manager ${version(root, 'cache-manager')}`,
    `@keyv/redis ${version(root, '@keyv/redis')}`,
    `keyv ${version(root, 'keyv')}`,
  ].join(', ')
}

/**
 * Starts every peer on `redis`, each with its own connection, none of them with an in-process layer
 * and none with an expiry (cacheme's default), so that each call is a Redis round trip as cacheme's is.
 */
export async function startPeers(redis: BenchRedis): Promise<Peer[]> {
  ensurePeersInstalled()
  const { Redis } = peerRequire('ioredis') as { Redis: IoRedis5Class }
  const { BentoCache, bentostore } = peerRequire('bentocache') as BentoCacheModule
  const { redisDriver } = peerRequire('bentocache/drivers/redis') as BentoRedisModule
  const { Cacheable } = peerRequire('@type-cacheable/core') as TypeCacheableModule
  const { IoRedisAdapter } = peerRequire('@type-cacheable/ioredis-adapter') as TypeCacheableAdapterModule

  const bentoPeer = (name: string, prefix: string, tagged: boolean): Peer => {
    const client = new Redis(redis.url)
    // L2 only: the memory tier would answer hits without Redis, which is another benchmark.
    const bento = new BentoCache({ default: 'redis', prefix, ttl: null, stores: { redis: bentostore().useL2Layer(redisDriver({ connection: client })) } })
    return {
      name,
      cached: (key, compute, dependency) => bento.getOrSet({ key, factory: compute, ...(tagged ? { tags: [dependency] } : {}) }),
      redisKey: key => `${prefix}:${key}`,
      pipelines: false,
      close: async () => {
        await bento.disconnectAll()
        await client.quit().catch(() => undefined)
      },
    }
  }

  const keyv = createKeyv(redis.url, { namespace: 'cm' })
  const manager = createCache({ stores: [keyv] })

  const typeCacheableClient = new Redis(redis.url)
  const adapter = new IoRedisAdapter(typeCacheableClient)
  class TypeCacheableService {
    // The decorator is applied here, once its library is loaded; the key is the first argument, as a cacheKey builder would compute it.
    @Cacheable({ cacheKey: args => `tc:${args[0] as string}`, client: adapter })
    async read<T>(key: string, compute: () => Promise<T>): Promise<T> {
      return compute()
    }
  }
  const service = new TypeCacheableService()

  const peers: Peer[] = [
    bentoPeer('BentoCache getOrSet', 'bento', false),
    bentoPeer('BentoCache getOrSet, 1 tag', 'bentotag', true),
    {
      name: 'cache-manager wrap (@keyv/redis)',
      cached: (key, compute) => manager.wrap(key, compute),
      redisKey: key => `cm::${key}`,
      // node-redis, through @keyv/redis.
      pipelines: true,
      close: async () => void (await manager.disconnect()),
    },
    {
      name: 'type-cacheable @Cacheable (ioredis adapter)',
      cached: (key, compute) => service.read(key, compute),
      redisKey: key => `tc:${key}`,
      pipelines: false,
      close: async () => void (await typeCacheableClient.quit().catch(() => undefined)),
    },
  ]
  // Connected before anything is measured or counted.
  await Promise.all([typeCacheableClient.ping(), keyv.get('bench:warmup'), ...peers.map(peer => peer.cached('bench:warmup', async () => 0, 'bench:warmup'))])
  return peers
}
