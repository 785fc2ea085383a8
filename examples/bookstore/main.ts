import 'reflect-metadata' // legacy decorators with emitDecoratorMetadata: load before any decorated class

import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Redis from 'ioredis'
// In an application: import { configure, invalidate, shutdown } from 'cacheme'
import { configure, invalidate, shutdown } from '../../src'
import { chooseStore, type StoreChoice } from '../support/choose-store'
import { createApi } from './api'
import { BookstoreCache } from './instance-cache'
import { Book, BookReader, Chapter, closeDatabase, sql, User } from './models'
import { seed } from './seed'
import { BookSerializer, recomputed, type CatalogueEntry } from './serializer'
import { run } from '../support/run'

const RENAMED_USER = 17
const NEW_NAME = 'Grace Murray Hopper'
/** The book the API section reads and renames: not on the first page, so its first read is cold. */
const API_BOOK = 500
const WARM_RUNS = 5

interface Run {
  entries: CatalogueEntry[]
  ms: number
  queries: number
  /** The keys computed in this run (cache misses), from the decorator's `miss` callback. */
  computed: string[]
}

const serializer = new BookSerializer()

/** Serializes the whole catalogue, as a listing endpoint would, timing it and counting its SQL. */
async function catalogue(): Promise<Run> {
  recomputed.length = 0
  const queries = sql.queries
  const started = performance.now()
  const books = await Book.findAll({ order: [['id', 'ASC']] })
  const entries = await Promise.all(books.map(book => serializer.serialize(book)))
  return { entries, ms: performance.now() - started, queries: sql.queries - queries, computed: [...recomputed] }
}

const ms = (value: number) => `${value.toFixed(value < 100 ? 1 : 0)} ms`

function printTable(rows: [string, Run, boolean][]): void {
  console.log(`\n${''.padEnd(12)}${'time'.padStart(10)}${'SQL queries'.padStart(14)}${'computed'.padStart(11)}`)
  for (const [name, run, cached] of rows) {
    const computed = cached ? String(run.computed.length) : '-'
    console.log(`${name.padEnd(12)}${ms(run.ms).padStart(10)}${String(run.queries).padStart(14)}${computed.padStart(11)}`)
  }
}

/** `Book:12>owner` sorts by book number, then by getter. */
function byBook(a: string, b: string): number {
  const number = (key: string) => Number(/^Book:(\d+)>/.exec(key)?.[1] ?? 0)
  return number(a) - number(b) || a.localeCompare(b)
}

function printKeys(keys: string[]): void {
  for (let i = 0; i < keys.length; i += 6)
    console.log(
      `  ${keys
        .slice(i, i + 6)
        .map(key => key.padEnd(18))
        .join('')
        .trimEnd()}`,
    )
}

async function demo(store: StoreChoice, redisCommands: { readonly count: number } | undefined): Promise<boolean> {
  // While disabled, decorated methods run the plain method and hooks do nothing, so seeding and the
  // uncached baseline touch no cache.
  configure({ enabled: false })
  const seeding = performance.now()
  const rows = await seed({ users: 200, books: 1000, chaptersPerBook: 3, readersPerBook: 3 })
  console.log(`SQLite: ${rows.users} users, ${rows.books} books, ${rows.chapters} chapters, ${rows.links} reader links (seeded in ${ms(performance.now() - seeding)})`)
  const uncached = await catalogue()

  configure(store.options)
  await invalidate({ pattern: '*' }) // start cold, even on a shared Redis holding an earlier run's entries
  // The instance cache's hooks: from now on every committed change refreshes the cached rows.
  const cache = new BookstoreCache()
  cache.registerModels([User, Book, Chapter])
  const cold = await catalogue()
  const warm = await catalogue()
  printTable([
    ['uncached', uncached, false],
    ['cold cache', cold, true],
    ['warm cache', warm, true],
  ])
  console.log(`\nwarm cache vs uncached: ${(uncached.ms / warm.ms).toFixed(1)}x faster, ${uncached.queries} -> ${warm.queries} SQL queries`)

  // A plain model update: cacheme's hooks on User empty the dependency set of User:17, and with it
  // exactly the entries that listed that user.
  const user = await User.findByPk(RENAMED_USER, { rejectOnEmpty: true })
  const oldName = user.name
  await user.update({ name: NEW_NAME })
  const after = await catalogue()

  const perGetter = ['owner', 'chapters', 'readers'].map(getter => `${getter} ${after.computed.filter(key => key.endsWith(`>${getter}`)).length}`)
  console.log(`\nrenamed User:${user.id} "${oldName}" -> "${NEW_NAME}"; the catalogue again: ${ms(after.ms)}, ${after.queries} SQL queries`)
  console.log(`recomputed ${after.computed.length} entries (${perGetter.join(', ')}):`)
  printKeys([...after.computed].sort(byBook))

  // What depended on the user, asked of the database: the books they own and the books they read.
  const owned = await Book.findAll({ where: { ownerId: user.id }, attributes: ['id'] })
  const read = await BookReader.findAll({ where: { userId: user.id } })
  const expected = [...owned.map(book => `Book:${book.id}>owner`), ...read.map(link => `Book:${link.bookId}>readers`)].sort(byBook)
  const actual = [...after.computed].sort(byBook)
  const missing = expected.filter(key => !actual.includes(key))
  const extra = actual.filter(key => !expected.includes(key))
  if (missing.length > 0 || extra.length > 0 || actual.length !== expected.length) {
    console.error(`FAILED: expected the ${expected.length} entries depending on User:${user.id} to be recomputed`)
    if (missing.length > 0) console.error(`  not recomputed (stale): ${missing.join(', ')}`)
    if (extra.length > 0) console.error(`  recomputed needlessly: ${extra.join(', ')}`)
    return false
  }
  console.log(`exactly the ${expected.length} entries that depended on User:${user.id} were recomputed (${owned.length} owned, ${read.length} read)`)

  // The new name is served in every entry that depended on the user, the old one in none.
  const dependent = new Set([...owned.map(book => book.id), ...read.map(link => link.bookId)])
  const shows = (entry: CatalogueEntry, name: string) => entry.owner.name === name || entry.readers.some(reader => reader.name === name)
  const withNewName = after.entries.filter(entry => shows(entry, NEW_NAME))
  const withOldName = after.entries.filter(entry => shows(entry, oldName))
  if (withOldName.length > 0 || withNewName.length !== dependent.size || !withNewName.every(entry => dependent.has(entry.id))) {
    console.error(`FAILED: ${withNewName.length} of ${dependent.size} dependent entries show the new name, ${withOldName.length} still show "${oldName}"`)
    return false
  }
  const ownedEntry = withNewName.find(entry => entry.owner.id === user.id)
  const readEntry = withNewName.find(entry => entry.readers.some(reader => reader.id === user.id))
  console.log(`the new name in the output (${withNewName.length} entries, none with the old one):`)
  if (ownedEntry) console.log(`  Book:${ownedEntry.id} "${ownedEntry.title}"  owner: ${JSON.stringify(ownedEntry.owner)}`)
  if (readEntry) console.log(`  Book:${readEntry.id} "${readEntry.title}"  readers: ${readEntry.readers.map(reader => reader.name).join(', ')}`)
  return apiDemo(cache, redisCommands)
}

/** What the API answers, as far as the demo reads it: a book, a page of books, or an error. */
interface Body {
  title?: string
  items?: unknown[]
  error?: string
}

interface Answer {
  status: number
  body: Body
  ms: number
  queries: number
  /** Commands sent to Redis while the request was served; undefined on the memory store. */
  commands: number | undefined
}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`
const figures = (answer: Answer) =>
  `${plural(answer.queries, 'SQL query', 'SQL queries')}${answer.commands === undefined ? '' : `, ${plural(answer.commands, 'Redis command', 'Redis commands')}`} ${ms(answer.ms)}`

/**
 * Counts the commands a client sends for requests (its sendCommand sees each one, pipelined or not).
 * The shared stats, flushed every few seconds in the background, are no request's work.
 */
function countCommands(client: Redis): { readonly count: number } {
  const counter = { count: 0 }
  const send = client.sendCommand.bind(client)
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    if (args[0].name !== 'hincrbyfloat') counter.count++
    return send(...args)
  }) as Redis['sendCommand']
  return counter
}

/**
 * The JSON API of api.ts on a free port: SQL queries and time per request, cold then warm, and a
 * PATCH whose new title the next read serves from the cache.
 */
async function apiDemo(cache: BookstoreCache, redisCommands: { readonly count: number } | undefined): Promise<boolean> {
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = createApi(cache)
      .listen(0, '127.0.0.1', () => resolve(listening))
      .once('error', reject)
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const request = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const before = sql.queries
    const commandsBefore = redisCommands?.count
    const started = performance.now()
    const init: RequestInit = body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
    const response = await fetch(base + path, init)
    const text = await response.text()
    // The write hooks have run when the response is sent: its queries are all counted.
    const commands = redisCommands && redisCommands.count - commandsBefore!
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Body), ms: performance.now() - started, queries: sql.queries - before, commands }
  }
  // Warm: the median time of a few requests (the first ones also warm up the JIT), and the most queries any made.
  const warm = async (path: string): Promise<Answer> => {
    const answers: Answer[] = []
    for (let i = 0; i < WARM_RUNS; i++) answers.push(await request('GET', path))
    const median = [...answers].sort((a, b) => a.ms - b.ms)[Math.floor(WARM_RUNS / 2)]
    const most = <T extends number | undefined>(figures: T[]): T => (figures.includes(undefined as T) ? undefined : Math.max(...(figures as number[]))) as T
    return { ...median, queries: most(answers.map(answer => answer.queries)), commands: most(answers.map(answer => answer.commands)) }
  }
  const failed = (problem: string, answer: Answer) => {
    console.error(`FAILED: ${problem}: ${answer.status} ${JSON.stringify(answer.body)}`)
    return false
  }

  try {
    console.log(
      `\nthe JSON API of cacheme/express on ${base}, books from the instance cache (SQL queries${redisCommands ? ', Redis commands' : ''} and time per request; warm: the median time of ${WARM_RUNS}, the most queries and commands):`,
    )
    const list = '/books?limit=100'
    const [coldList, warmList] = [await request('GET', list), await warm(list)]
    if (coldList.status !== 200 || warmList.body.items?.length !== 100) return failed(`GET ${list}`, warmList)
    console.log(`GET ${list} (${warmList.body.items.length} items): cold ${figures(coldList)}; warm ${figures(warmList)}`)

    const one = `/books/${API_BOOK}`
    const [coldOne, warmOne] = [await request('GET', one), await warm(one)]
    if (coldOne.status !== 200 || warmOne.status !== 200) return failed(`GET ${one}`, warmOne)
    console.log(`GET ${one}: cold ${figures(coldOne)}; warm ${figures(warmOne)}`)
    console.log(`  ${JSON.stringify(warmOne.body)}`)
    const missing = await request('GET', '/books/100000')
    if (missing.status !== 404) return failed('GET /books/100000', missing)
    console.log(`GET /books/100000: ${missing.status} ${JSON.stringify(missing.body)}, ${figures(missing)}`)

    // Written through Sequelize: its hooks reload the row and rewrite the book's entry after the commit.
    const title = `${warmOne.body.title}, 2nd edition`
    const patched = await request('PATCH', one, { title })
    if (patched.status !== 200 || patched.body.title !== title) return failed(`PATCH ${one}`, patched)
    console.log(`PATCH ${one} {"title":"${title}"}: ${patched.status}, ${figures(patched)} (find, update, the hooks' reload)`)
    const after = await request('GET', one)
    if (after.body.title !== title) return failed(`GET ${one} after the PATCH, expected "${title}"`, after)
    console.log(`GET ${one} after the PATCH: "${after.body.title}", ${figures(after)}`)
    return true
  } finally {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
}

async function main(): Promise<boolean> {
  // Own prefix and a 10-minute ttl (sets included): nothing lingers in a shared Redis.
  // A generous timeout: the demo also runs on busy CI machines, where 0.25 s can pass under load.
  const store = await chooseStore({ prefix: 'bookstore-demo:', ttl: 600, timeout: 2 })
  console.log(`cacheme bookstore demo — store: ${store.label}`)
  // The demo's own client, so that it can count the commands each API request sends.
  const client = typeof store.options.redis === 'string' ? new Redis(store.options.redis) : undefined
  try {
    return await demo(client ? { ...store, options: { ...store.options, redis: client } } : store, client && countCommands(client))
  } finally {
    await closeDatabase()
    await shutdown()
    await client?.quit()
    await store.server?.stop()
  }
}

run(main)
