// Mocha root-level global fixtures, loaded through `require` in both .mocharc files.
// Global setup runs in the same process as the specs (mocha is not run in parallel mode),
// so the servers it starts are shared through this module's state.
import { Cluster, Redis } from 'ioredis'
import { Sequelize, type Options } from 'sequelize'
import { startRedisCluster, type RedisCluster } from '../../tools/redis-cluster'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { postgresAvailable, startPostgres, type PostgresServer } from '../../tools/postgres-server'

export type TestDialect = 'sqlite' | 'postgres'

export interface TestDatabase {
  readonly dialect: TestDialect
  readonly url: string
}

interface FixtureState {
  setUp: boolean
  redisUrl?: string
  redisServer?: RedisServer
  redisCluster?: RedisCluster
  postgres?: PostgresServer
  postgresUrl?: string
}

const state: FixtureState = { setUp: false }

/** `CACHEME_TEST_CLUSTER=1`: the test Redis is a private 3-master Cluster, and `testRedis()` a Cluster client. */
export const clusterMode = process.env.CACHEME_TEST_CLUSTER === '1'

let postgresProbe: boolean | undefined
const canStartPostgres = () => (postgresProbe ??= postgresAvailable())

export async function mochaGlobalSetup(): Promise<void> {
  if (clusterMode) {
    state.redisCluster = await startRedisCluster()
    const [first] = state.redisCluster.startupNodes
    state.redisUrl = `redis://${first.host}:${first.port}`
  } else if (process.env.REDIS_URL) {
    state.redisUrl = process.env.REDIS_URL
  } else {
    state.redisServer = await startRedisServer()
    state.redisUrl = state.redisServer.url
  }

  if (process.env.DATABASE_URL) {
    state.postgresUrl = process.env.DATABASE_URL
  } else if (canStartPostgres()) {
    state.postgres = await startPostgres()
    state.postgresUrl = state.postgres.url
  } else if (process.env.CI) {
    throw new Error('PostgreSQL is required in CI but was not found; install it (apt-get install -y postgresql) or set DATABASE_URL')
  } else {
    console.warn('warning: PostgreSQL not found (set DATABASE_URL or install postgresql); postgres suites are skipped')
  }
  state.setUp = true
}

export async function mochaGlobalTeardown(): Promise<void> {
  const { redisServer, redisCluster, postgres } = state
  state.redisServer = undefined
  state.redisCluster = undefined
  state.postgres = undefined
  await Promise.allSettled([redisServer?.stop(), redisCluster?.stop(), postgres?.stop()])
}

/** Redis URL for tests (in cluster mode, one node of the Cluster); only valid inside hooks and tests (global setup runs after specs are loaded). */
export function testRedisUrl(): string {
  const url = state.redisUrl ?? process.env.REDIS_URL
  if (!url) {
    throw new Error('the test Redis is not started yet: call testRedisUrl() inside a hook or test, not at describe time')
  }
  return url
}

/** The private redis-server, for tests that stop or restart it; undefined when REDIS_URL is used, or in cluster mode. */
export function testRedisServer(): RedisServer | undefined {
  return state.redisServer
}

/** The private Cluster in cluster mode, else undefined. */
export function testRedisCluster(): RedisCluster | undefined {
  return state.redisCluster
}

/** A new client of the test Redis: a Cluster in cluster mode, a Redis otherwise. */
export function testRedis(): Redis | Cluster {
  const url = testRedisUrl()
  const cluster = state.redisCluster
  return cluster ? new Cluster([...cluster.startupNodes]) : new Redis(url)
}

const sqliteDatabase: TestDatabase = { dialect: 'sqlite', url: 'sqlite::memory:' }

// The URL is read lazily: suites are declared per database before global setup has started PostgreSQL.
const postgresDatabase: TestDatabase = {
  dialect: 'postgres',
  get url(): string {
    const url = state.postgresUrl ?? process.env.DATABASE_URL
    if (!url) {
      throw new Error('the test PostgreSQL is not started yet: read db.url inside a hook or test, not at describe time')
    }
    return url
  },
}

/**
 * Databases every Sequelize suite should run against. Safe to call at describe time;
 * `url` must be read inside hooks or tests.
 */
export function testDatabases(): TestDatabase[] {
  const withPostgres = state.setUp ? state.postgresUrl !== undefined : Boolean(process.env.DATABASE_URL) || canStartPostgres() || Boolean(process.env.CI)
  return withPostgres ? [sqliteDatabase, postgresDatabase] : [sqliteDatabase]
}

export function createSequelize(db: TestDatabase, options: Options = {}): Sequelize {
  // "sqlite::memory:" is not a valid WHATWG URL and makes Node print a deprecation warning when parsed.
  if (db.dialect === 'sqlite' && db.url.startsWith('sqlite:')) {
    return new Sequelize({ dialect: 'sqlite', storage: db.url.slice('sqlite:'.length) || ':memory:', logging: false, ...options })
  }
  return new Sequelize(db.url, { logging: false, ...options })
}
