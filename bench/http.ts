import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { Sequelize } from 'sequelize'
import { startPostgres, type PostgresServer } from '../tools/postgres-server'
import { startRedisServer, type RedisServer } from '../tools/redis-server'
import { machineMarkdown, version } from './harness'
import { httpChart } from './http-chart'
import { drive, warmUp, type Load } from './http-load'
import { HTTP_HEADING, httpTable, speedup, withHttpSection, type HttpPoint } from './http-report'
import { startExample, type ExampleName, type ExampleServer } from './http-server'

const CONNECTIONS = [1, 16, 64]
const DEFAULT_SECONDS = 5
const APPS: Record<ExampleName, string> = { express: 'Express', nest: 'Nest' }

const started = Date.now()
const progress = (line: string) => console.log(`${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s  ${line}`)

/** The route each app is measured on. */
interface Endpoint {
  readonly route: string
  /** Requested in turn by every connection. */
  readonly paths: readonly string[]
  /** What one request does, uncached and warm, by the example's code. */
  readonly work: string
}

/** The same route in both apps, over the rows each example seeds: 6 books (Express), 3 (Nest). */
const ENDPOINTS: Record<ExampleName, Endpoint> = {
  express: {
    route: 'GET /books/:id',
    paths: [1, 2, 3, 4, 5, 6].map(id => `/books/${id}`),
    work: 'one of the 6 books in turn, with its author and review summary from `BookSerializer`: uncached 3 SQL queries (the book, its author, its reviews); warm 1 query (the book) and 2 cache hits',
  },
  nest: {
    route: 'GET /books/:id',
    paths: [1, 2, 3].map(id => `/books/${id}`),
    work: '`BooksService.findOne`, one of the 3 books in turn: uncached 1 SQL query (a primary-key lookup); warm 1 cache hit, no query',
  },
}

interface Database {
  readonly name: string
  /** A fresh, empty database for one server; undefined: the example's own in-memory SQLite. */
  readonly create: (name: string) => Promise<string | undefined>
}

const SQLITE: Database = { name: 'SQLite', create: async () => undefined }

/** Each server gets a database of its own on the private PostgreSQL, so that both seed the same rows. */
function postgresDatabase(server: PostgresServer): Database {
  return {
    name: 'PostgreSQL',
    async create(name) {
      await onPostgres(server, sequelize => sequelize.query(`CREATE DATABASE "${name}"`))
      const url = new URL(server.url)
      url.pathname = `/${name}`
      return url.toString()
    },
  }
}

async function onPostgres<T>(server: PostgresServer, use: (sequelize: Sequelize) => Promise<T>): Promise<T> {
  const sequelize = new Sequelize(server.url, { logging: false })
  try {
    return await use(sequelize)
  } finally {
    await sequelize.close()
  }
}

/** Requests every path of both servers, the warm one twice (cold, then from the cache): all three answers must be the same. */
async function checkSameAnswers(app: ExampleName, uncached: ExampleServer, warm: ExampleServer): Promise<void> {
  const body = async (server: ExampleServer, path: string) => {
    const response = await fetch(server.url + path)
    if (!response.ok) throw new Error(`${APPS[app]} GET ${path} answered ${response.status}`)
    return response.text()
  }
  for (const path of ENDPOINTS[app].paths) {
    const expected = await body(uncached, path)
    for (const answer of [await body(warm, path), await body(warm, path)]) {
      if (answer !== expected) throw new Error(`${APPS[app]} GET ${path}: the warm answer differs from the uncached one:\n${answer}\n${expected}`)
    }
  }
}

/** Both servers of one app on one database, up at once; at each concurrency each is driven in turn, the order alternating. */
async function measureApp(app: ExampleName, database: Database, redisUrl: string, seconds: number): Promise<HttpPoint[]> {
  const start = async (cached: boolean) => {
    const databaseUrl = await database.create(`http_${app}_${cached ? 'warm' : 'uncached'}`)
    return startExample(app, { redisUrl, databaseUrl, cached })
  }
  // Started together: a start is mostly loading code, and the two need not wait for each other.
  const starts = await Promise.allSettled([start(false), start(true)])
  const [uncached, warm] = starts.map(result => (result.status === 'fulfilled' ? result.value : undefined))
  try {
    for (const result of starts) if (result.status === 'rejected') throw result.reason
    progress(`${APPS[app]} on ${database.name}: both servers up`)
    const servers = { uncached: uncached!, warm: warm! }
    const { route, paths } = ENDPOINTS[app]
    await checkSameAnswers(app, servers.uncached, servers.warm)
    const points: HttpPoint[] = []
    for (const [index, connections] of CONNECTIONS.entries()) {
      const loads = new Map<keyof typeof servers, Load>()
      for (const mode of index % 2 ? (['warm', 'uncached'] as const) : (['uncached', 'warm'] as const)) {
        await warmUp(servers[mode].url, paths, connections)
        loads.set(mode, await drive(servers[mode].url, paths, connections, seconds))
      }
      const point = { app: APPS[app], endpoint: route, database: database.name, connections, uncached: loads.get('uncached')!, warm: loads.get('warm')! }
      progress(httpTable([point]).split('\n')[2])
      points.push(point)
    }
    return points
  } finally {
    await Promise.all([warm?.stop(), uncached?.stop()])
  }
}

const loadAverage = () => os.loadavg().map(value => value.toFixed(1))

function describe(seconds: number, machine: string, postgres: string, load: { start: string[]; end: string[] }, points: HttpPoint[], minutes: number): string {
  const speedups = points.map(speedup)
  const cores = os.cpus().length
  const busy = [...load.start, ...load.end].some(value => Number(value) > cores)
  const slower = points.filter(p => speedup(p) < 1).map(p => `${p.app} \`${p.endpoint}\` on ${p.database} at ${p.connections} connection${p.connections === 1 ? '' : 's'}`)
  return [
    HTTP_HEADING,
    '',
    `Produced by \`npm run bench:http\` in about ${minutes} minutes; \`npm run bench\` keeps this section as it finds it.`,
    `autocannon (its programmatic API, in the benchmark's process) drives examples/express and examples/nest (a Nest app over \`@nestjs/sequelize\` with sequelize-typescript models), each served by a Node process of its own (\`bench/http-server.ts\`) on a loopback port.`,
    `Each app is served twice at once, the same code over the same rows: uncached (\`CACHEME_ENABLED=false\`: \`configure({ enabled: false })\`, every decorated method runs its body) and warm (cacheme on, every path requested before measuring).`,
    `Before measuring, every path is requested from both, and the warm server's answers, cold and cached, must be the uncached one's. Databases: the examples' in-memory SQLite, and ${postgres} through \`DATABASE_URL\`, a database of its own for each server (Sequelize's default pool of 5 connections). One private redis-server for both.`,
    `At each number of connections the two servers are driven in turn (which goes first alternates from one level to the next), each first warmed up (unmeasured, until every connection has had 2 answers and the server 50 at least) and then measured for ${seconds} s; a connection sends its next request when the answer to its last one arrives, going through the route's paths in turn.`,
    'Requests per second are the answers counted over the measured seconds; p99 is autocannon’s 99th percentile latency, in whole milliseconds. Any error or non-2xx answer fails the run.',
    '',
    machine,
    `- autocannon ${version('autocannon')}, Express ${version('express')}, NestJS ${version('@nestjs/core')}, @nestjs/sequelize ${version('@nestjs/sequelize')}, sequelize-typescript ${version('sequelize-typescript')}`,
    `- the load generator, the servers, Redis and PostgreSQL share the machine's ${cores} cores, with other work: load average (1, 5, 15 min) ${load.start.join(', ')} at the start, ${load.end.join(', ')} at the end${busy ? ' (more than the machine has cores)' : ''}. Absolute figures are low for that reason; each ratio compares two measurements seconds apart.`,
    '',
    'What one request does:',
    '',
    ...(Object.keys(ENDPOINTS) as ExampleName[]).map(app => `- ${APPS[app]} \`${ENDPOINTS[app].route}\`: ${ENDPOINTS[app].work}.`),
    '',
    '![HTTP requests per second, uncached and warm](bench/http.svg)',
    '',
    httpTable(points),
    '',
    `Warm / uncached requests per second ranges from ${Math.min(...speedups).toFixed(1)}× to ${Math.max(...speedups).toFixed(1)}× over the ${points.length} points${slower.length ? `; warm is slower than uncached at ${slower.join(', ')}` : ''}.`,
  ].join('\n')
}

function secondsOption(): number {
  const index = process.argv.indexOf('--seconds')
  const seconds = index < 0 ? DEFAULT_SECONDS : Number(process.argv[index + 1])
  if (!(seconds > 0)) throw new Error('--seconds takes a positive number of seconds per measurement')
  return seconds
}

async function main(): Promise<void> {
  const seconds = secondsOption()
  const command = `npm run bench:http${seconds === DEFAULT_SECONDS ? '' : ` -- --seconds ${seconds}`}`
  const loadAtStart = loadAverage()
  let redisServer: RedisServer | undefined
  let postgres: PostgresServer | undefined
  try {
    if (!process.env.REDIS_URL) redisServer = await startRedisServer()
    const redisUrl = process.env.REDIS_URL ?? redisServer!.url
    const databases = [SQLITE]
    let postgresLabel = 'no PostgreSQL'
    try {
      postgres = await startPostgres()
      databases.push(postgresDatabase(postgres))
      postgresLabel = `a private PostgreSQL ${await onPostgres(postgres, sequelize => sequelize.databaseVersion())} (tools/postgres-server.ts)`
    } catch (error) {
      postgresLabel = `no PostgreSQL (${(error as Error).message.split('\n')[0]})`
      console.warn(`http: PostgreSQL is not measured: ${postgresLabel}`)
    }
    const points: HttpPoint[] = []
    for (const app of Object.keys(APPS) as ExampleName[]) {
      for (const database of databases) points.push(...(await measureApp(app, database, redisUrl, seconds)))
    }
    const redis = new Redis(redisUrl)
    const machine = await machineMarkdown(redis, command).finally(() => redis.quit())
    const minutes = Math.round((Date.now() - started) / 60_000)
    const section = describe(seconds, machine, postgresLabel, { start: loadAtStart, end: loadAverage() }, points, minutes)
    console.log(`\n${section}\n`)
    const file = path.join(__dirname, '..', 'BENCHMARKS.md')
    fs.writeFileSync(file, withHttpSection(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n', section))
    fs.writeFileSync(path.join(__dirname, 'http.svg'), httpChart(points))
    console.log(`wrote its section of BENCHMARKS.md and bench/http.svg in ${Math.round((Date.now() - started) / 1000)} s`)
  } finally {
    await postgres?.stop()
    await redisServer?.stop()
  }
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
