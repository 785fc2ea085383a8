import { Op, type Transaction } from 'sequelize'
import { cacheme, type CachemeOptions } from '../../src'
import type { TortureIds } from './dataset'
import type { TortureSchema } from './models'
import type { Random } from './random'
import { sleep } from './sleep'

/**
 * How long a computation takes between reading its rows and returning: serializers that call
 * other services take this long. With shorter windows a stale write-back is too rare for the
 * control run to show it reliably within a few seconds.
 */
const MIN_COMPUTE_DELAY_MS = 10
const MAX_COMPUTE_DELAY_MS = 30

/** One serializer-like computation, callable through cacheme and uncached. */
export interface Reader {
  readonly name: string
  /** The ids it is asked about. */
  readonly domain: readonly number[]
  /** `transaction`: its queries run in it, as a serializer called inside a request's transaction passes it on. */
  cached(id: number, transaction?: Transaction): Promise<unknown>
  fresh(id: number, transaction?: Transaction): Promise<unknown>
}

export interface ReaderSet {
  readonly readers: readonly Reader[]
  /** Calls answered from the cache. */
  readonly hits: number
  /** Off for the final comparison, which needs no race windows. */
  jitter: boolean
  named(name: ReaderName): Reader
}

export type ReaderName = 'bookOwner' | 'bookReaders' | 'userBooks' | 'userReading' | 'userList' | 'listing' | 'listingsInStock'

/**
 * The readers of the workload. Each reads rows (outside a transaction unless given one, or the
 * CLS one) and names in `invalidKeys` every row and link set it read, including rows it found
 * missing and keys known only from the result. After reading, each waits 10-30 ms: a writer that
 * commits in that window makes the value stale before it is stored, which is the race the guard
 * must catch.
 */
export function createReaders(schema: TortureSchema, ids: TortureIds, random: Random): ReaderSet {
  const { User, Book, BookReader, Listing } = schema
  let hits = 0
  const set: ReaderSet = {
    get readers() {
      return readers
    },
    get hits() {
      return hits
    },
    jitter: true,
    named: name => readers.find(reader => reader.name === name)!,
  }
  const widenRace = () => (set.jitter ? sleep(random.int(MIN_COMPUTE_DELAY_MS, MAX_COMPUTE_DELAY_MS)) : Promise.resolve())
  const reader = <F extends (id: number, transaction?: Transaction) => Promise<unknown>>(
    name: ReaderName,
    domain: readonly number[],
    fresh: F,
    options: Pick<CachemeOptions, 'key' | 'invalidKeys'>,
  ): Reader => ({
    name,
    domain,
    fresh,
    cached: cacheme({ ...options, tag: `torture.${name}`, hit: () => hits++ })(fresh),
  })

  const bookOwner = async (bookId: number, transaction?: Transaction) => {
    const book = await Book.findByPk(bookId, { transaction })
    const owner = book ? await User.findByPk(book.ownerId, { transaction }) : null
    await widenRace()
    return book ? { title: book.title, ownerId: book.ownerId, owner: owner?.name ?? null } : null
  }

  const bookReaders = async (bookId: number, transaction?: Transaction) => {
    const links = await BookReader.findAll({ where: { bookId }, transaction })
    const users = await User.findAll({ where: { id: { [Op.in]: links.map(link => link.get('userId') as number) } }, order: [['id', 'ASC']], transaction })
    await widenRace()
    return users.map(user => ({ id: user.id, name: user.name }))
  }

  const userBooks = async (userId: number, transaction?: Transaction) => {
    const books = await Book.findAll({ where: { ownerId: userId }, order: [['id', 'ASC']], transaction })
    await widenRace()
    return books.map(book => ({ id: book.id, title: book.title }))
  }

  // Every linked book, deleted ones included (title null): restoring one must invalidate this.
  const userReading = async (userId: number, transaction?: Transaction) => {
    const links = await BookReader.findAll({ where: { userId }, transaction })
    const bookIds = links.map(link => link.get('bookId') as number).sort((a, b) => a - b)
    const books = await Book.findAll({ where: { id: { [Op.in]: bookIds } }, transaction })
    await widenRace()
    const titles = new Map(books.map(book => [book.id, book.title]))
    return bookIds.map(bookId => ({ bookId, title: titles.get(bookId) ?? null }))
  }

  const userList = async (_all: number, transaction?: Transaction) => {
    const users = await User.findAll({ order: [['id', 'ASC']], transaction })
    await widenRace()
    return users.map(user => user.name)
  }

  const listing = async (listingId: number, transaction?: Transaction) => {
    const row = await Listing.findByPk(listingId, { transaction })
    await widenRace()
    return row ? { sku: row.sku, stock: row.stock } : null
  }

  // Which key a listing's change invalidates depends on its stock before and after the change.
  const listingsInStock = async (_all: number, transaction?: Transaction) => {
    const rows = await Listing.findAll({ where: { stock: { [Op.gt]: 0 } }, order: [['id', 'ASC']], transaction })
    await widenRace()
    return rows.map(row => row.id)
  }

  const readers: Reader[] = [
    reader('bookOwner', ids.readBooks, bookOwner, {
      key: c => `Book:${c.bookId}>owner`,
      invalidKeys: c => [`Book:${c.bookId}`, c.result ? `User:${c.result.ownerId}` : null],
    }),
    reader('bookReaders', ids.readBooks, bookReaders, {
      key: c => `Book:${c.bookId}>readers`,
      invalidKeys: c => [`Book:${c.bookId}:readers`, c.result.map((user: { id: number }) => `User:${user.id}`)],
    }),
    reader('userBooks', ids.users, userBooks, {
      key: c => `User:${c.userId}>books`,
      invalidKeys: c => `User:${c.userId}:books`,
    }),
    reader('userReading', ids.users, userReading, {
      key: c => `User:${c.userId}>reading`,
      invalidKeys: c => [`User:${c.userId}:reading`, c.result.map((link: { bookId: number }) => `Book:${link.bookId}`)],
    }),
    reader('userList', [0], userList, {
      key: () => 'Users>list',
      invalidKeys: () => 'User:list',
    }),
    reader('listing', ids.listings, listing, {
      key: c => `Listing:${c.listingId}>stock`,
      invalidKeys: c => `Listing:${c.listingId}`,
    }),
    reader('listingsInStock', [0], listingsInStock, {
      key: () => 'Listings>in-stock',
      invalidKeys: () => 'Listings:in-stock',
    }),
  ]
  return set
}
