import type { Redis } from 'ioredis'
import { Sequelize } from 'sequelize'
import { configure } from '../src'
import { BookstoreCache } from '../examples/bookstore/instance-cache'
import { bindModels, Book, closeDatabase, sequelize as sqliteDatabase, sql } from '../examples/bookstore/models'
import { seed, type SeedSize } from '../examples/bookstore/seed'
import { BookSerializer } from '../examples/bookstore/serializer'
import { startPostgres, type PostgresServer } from '../tools/postgres-server'
import {
  CommandSpy,
  compare,
  describeCommands,
  formatUs,
  roundRatio,
  runAlone,
  useCacheme,
  type BenchRedis,
  type Contender,
  type Measured,
  type Section,
  type Verdict,
} from './harness'

/** The demo's bookstore. */
const SIZE: SeedSize = { users: 200, books: 1000, chaptersPerBook: 3, readersPerBook: 3 }
/** Books per page, as `GET /books?limit=100` serves them. */
const PAGE = 100
/** A warm page is at least this many times faster than an uncached one, on SQLite. */
const SPEEDUP_TARGET = 20
/** Requests of each contender over which SQL queries and Redis commands are counted. */
const COUNTED = 10
const COLUMNS = ['SQL queries per request', 'Redis commands per request', 'socket writes (round trips) per request']

interface Clients {
  readonly plain: Redis
  readonly piped: Redis
  /** Flushes the other dialect's entries. */
  readonly admin: Redis
}

interface Database {
  readonly dialect: string
  readonly sequelize: Sequelize
  readonly close: () => Promise<void>
}

/** `DATABASE_URL`, else a private PostgreSQL; a string says why there is none. */
async function openPostgres(): Promise<Database | string> {
  let server: PostgresServer | undefined
  let sequelize: Sequelize | undefined
  try {
    if (!process.env.DATABASE_URL) server = await startPostgres()
    // Counted like the demo's SQLite queries.
    sequelize = new Sequelize(process.env.DATABASE_URL ?? server!.url, { logging: () => void sql.queries++ })
    await sequelize.authenticate()
    const opened = sequelize
    const close = async () => {
      await opened.close()
      await server?.stop()
    }
    return { dialect: process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'PostgreSQL', sequelize, close }
  } catch (error) {
    await sequelize?.close()
    await server?.stop()
    return (error as Error).message.split('\n')[0]
  }
}

export async function bookstoreWorkload(redis: BenchRedis): Promise<Section[]> {
  const clients: Clients = { plain: redis.client(), piped: redis.client({ enableAutoPipelining: true }), admin: redis.client() }
  await useCacheme(clients.piped)
  await useCacheme(clients.plain)
  // The example's own SQLite file, then PostgreSQL.
  const databases: Database[] = [{ dialect: 'SQLite', sequelize: sqliteDatabase, close: closeDatabase }]
  const postgres = await openPostgres()
  let unmeasured: string | undefined
  if (typeof postgres === 'string') {
    unmeasured = `PostgreSQL was not measured: ${postgres}.`
    console.warn(`bookstore: ${unmeasured}`)
  } else {
    databases.push(postgres)
  }
  const sections: Section[] = []
  try {
    for (const database of databases) sections.push(...(await measure(database, clients, unmeasured)))
  } finally {
    for (const database of databases) await database.close()
    await useCacheme(clients.plain)
  }
  return sections
}

/** Seeds the bookstore on `database` and measures a page and a single book, uncached and warm, in one compare run. */
async function measure(database: Database, clients: Clients, unmeasured: string | undefined): Promise<Section[]> {
  const { dialect } = database
  bindModels(database.sequelize)
  const version = await database.sequelize.databaseVersion()
  // Disabled: seeding and the uncached requests touch no cache.
  const disable = () => configure({ enabled: false })
  const enable = () => useCacheme(clients.plain)
  const enablePiped = () => useCacheme(clients.piped)
  disable()
  await seed(SIZE)
  // The other dialect's entries hold the same keys.
  await clients.admin.flushdb()

  const serializer = new BookSerializer()
  const cache = new BookstoreCache()
  const page = async () => Promise.all((await Book.findAll({ order: [['id', 'ASC']], limit: PAGE })).map(book => serializer.serialize(book)))
  const instancePage = async () => (await cache.query(Book, { order: [['id', 'ASC']], limit: PAGE }).toArray()).map(row => row.toJSON())
  let next = 0
  const retrieve = async () => {
    const pk = 1 + (next++ % PAGE)
    return (await cache.getInstances([[Book, pk]])).get(`Book:${pk}`)?.[0]
  }

  const uncachedPage = JSON.stringify(await page())
  const uncachedInstances = JSON.stringify(await instancePage())
  // Fill both caches (the instance page fills every book a retrieve reads); warm reads must give what uncached ones do.
  await enable()
  await page()
  await instancePage()
  if (JSON.stringify(await page()) !== uncachedPage) throw new Error(`bookstore on ${dialect}: the @cacheme page and the uncached one differ`)
  if (JSON.stringify(await instancePage()) !== uncachedInstances) throw new Error(`bookstore on ${dialect}: the BaseCache page and the uncached one differ`)

  const names = {
    uncachedPage: `uncached, page of ${PAGE} books`,
    cachemePage: `@cacheme warm, page of ${PAGE} books`,
    cachemePipedPage: `@cacheme warm, auto-pipelining, page of ${PAGE} books`,
    instancePage: `BaseCache warm, page of ${PAGE} books`,
    uncachedOne: 'uncached, one book',
    instanceOne: 'BaseCache warm, one book',
  }
  const contenders: Contender[] = [
    { name: names.uncachedPage, run: page, before: disable },
    { name: names.cachemePage, run: page, before: enable },
    { name: names.cachemePipedPage, run: page, before: enablePiped },
    { name: names.instancePage, run: instancePage, before: enable },
    { name: names.uncachedOne, run: retrieve, before: disable },
    { name: names.instanceOne, run: retrieve, before: enable },
  ]

  // SQL queries (Sequelize's logging), Redis commands and socket writes (spies on the clients) per request, each contender alone.
  const counts = new Map<string, { queries: number; commands: string; writes: number }>()
  const spies = [new CommandSpy(clients.plain), new CommandSpy(clients.piped)]
  for (const contender of contenders) {
    await contender.before?.()
    for (const spy of spies) spy.reset()
    const before = sql.queries
    for (let i = 0; i < COUNTED; i++) await contender.run()
    const byName = new Map<string, number>()
    for (const spy of spies) for (const [name, count] of spy.byName) byName.set(name, (byName.get(name) ?? 0) + count)
    const writes = spies.reduce((sum, spy) => sum + spy.writes, 0)
    counts.set(contender.name, { queries: sql.queries - before, commands: describeCommands(byName, COUNTED), writes })
  }
  for (const spy of spies) spy.restore()

  const results = await compare(contenders, { rounds: 5, time: 300 })
  const result = (name: string) => results.find(r => r.name === name)!
  const withCounts = (r: Measured, reference: Measured): Measured => {
    const { queries, commands, writes } = counts.get(r.name)!
    const perRequest = (count: number) => String(Number((count / COUNTED).toFixed(2)))
    return {
      ...r,
      ratio: roundRatio(r, reference),
      extra: { 'SQL queries per request': perRequest(queries), 'Redis commands per request': commands, 'socket writes (round trips) per request': perRequest(writes) },
    }
  }

  const pageVerdicts: Verdict[] =
    dialect === 'SQLite'
      ? [names.cachemePage, names.cachemePipedPage, names.instancePage].map(name => {
          const warm = result(name)
          const uncached = result(names.uncachedPage)
          const speedup = roundRatio(uncached, warm)
          const met = speedup >= SPEEDUP_TARGET
          return {
            target: `bookstore page warm ≥ ${SPEEDUP_TARGET}× faster than uncached on SQLite: ${name.replace(/, page of .*$/, '')}`,
            measured: `uncached time / warm time = ${speedup.toFixed(1)}× (${formatUs(uncached.medianUs)} vs ${formatUs(warm.medianUs)} per page)`,
            met,
            verdict: met ? 'yes' : `no, ${speedup.toFixed(1)}×`,
          }
        })
      : []
  const { queries: retrieveQueries, commands: retrieveCommands } = counts.get(names.instanceOne)!
  const retrieveVerdict: Verdict = {
    target: `0 SQL queries for a BaseCache retrieve (warm) on ${dialect}`,
    measured: `${retrieveQueries} SQL queries in ${COUNTED} retrieves; Redis per retrieve: ${retrieveCommands}`,
    met: retrieveQueries === 0,
    verdict: retrieveQueries === 0 ? 'yes' : `no, ${retrieveQueries / COUNTED} per retrieve`,
  }

  const seeded = `seeded as the demo seeds it (${SIZE.users} users, ${SIZE.books} books, ${SIZE.chaptersPerBook} chapters and about ${SIZE.readersPerBook} readers each)`
  const counted = `SQL queries are counted through Sequelize's \`logging\`, Redis commands and socket writes with spies on the clients, over ${COUNTED} requests each; one write carries a whole pipeline.`
  return [
    {
      title: `Bookstore on ${dialect}: a page of ${PAGE} books`,
      description: `The bookstore example (examples/bookstore) on ${dialect} ${version}, ${seeded}. A request reads the first ${PAGE} books in id order. Uncached: the example's \`BookSerializer\` with caching disabled (the books, then each book's owner, chapters and readers, one query each). @cacheme warm: the same serializer, its three getters cached, read through a default ioredis client or an auto-pipelining one. BaseCache warm: the example's \`BookstoreCache\` representation of the books through \`cache.query(Book, { order, limit })\`, one query for the page's ids and one \`getInstances\`. ${counted}`,
      reference: names.uncachedPage,
      results: [names.uncachedPage, names.cachemePage, names.cachemePipedPage, names.instancePage].map(name => withCounts(result(name), result(names.uncachedPage))),
      extraColumns: COLUMNS,
      notes: [
        'The BaseCache page carries less than the serializer’s: each book’s title with its owner and chapters as primary keys, no readers, as `GET /books` of the example’s API serves it.',
        ...(unmeasured ? [unmeasured] : []),
      ],
      verdicts: pageVerdicts,
    },
    {
      title: `Bookstore on ${dialect}: one book`,
      description: `One book by id, in turn each of the page's ${PAGE}. BaseCache warm: \`cache.getInstances([[Book, id]])\`. Uncached: the same call with caching disabled, so the \`BookstoreCache\` batch loader (the book with its chapter ids, one query) and serializer run. Measured in the same compare run as the page. ${counted}`,
      reference: names.uncachedOne,
      results: [names.uncachedOne, names.instanceOne].map(name => withCounts(result(name), result(names.uncachedOne))),
      extraColumns: COLUMNS,
      notes: [],
      verdicts: [retrieveVerdict],
    },
  ]
}

if (require.main === module) void runAlone(bookstoreWorkload)
