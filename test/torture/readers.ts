import { Op } from 'sequelize'
import { cacheme, type CachemeOptions } from '../../src'
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
  cached(id: number): Promise<unknown>
  fresh(id: number): Promise<unknown>
}

export interface ReaderSet {
  readonly readers: readonly Reader[]
  /** Calls answered from the cache. */
  readonly hits: number
  /** Off for the final comparison, which needs no race windows. */
  jitter: boolean
}

/**
 * The readers of the workload. Each reads rows without a transaction and names in `invalidKeys`
 * every row and link set it read, including rows it found missing and keys known only from the
 * result. After reading, each waits 10-30 ms: a writer that commits in that window
 * makes the value stale before it is stored, which is the race the guard must catch.
 */
export function createReaders(schema: TortureSchema, ids: { users: number[]; books: number[] }, random: Random): ReaderSet {
  const { User, Book, BookReader } = schema
  let hits = 0
  const set: ReaderSet = {
    get readers() {
      return readers
    },
    get hits() {
      return hits
    },
    jitter: true,
  }
  const widenRace = () => (set.jitter ? sleep(random.int(MIN_COMPUTE_DELAY_MS, MAX_COMPUTE_DELAY_MS)) : Promise.resolve())
  const reader = <F extends (id: number) => Promise<unknown>>(name: string, domain: number[], fresh: F, options: Pick<CachemeOptions, 'key' | 'invalidKeys'>): Reader => ({
    name,
    domain,
    fresh,
    cached: cacheme({ ...options, tag: `torture.${name}`, hit: () => hits++ })(fresh),
  })

  const bookOwner = async (bookId: number) => {
    const book = await Book.findByPk(bookId)
    const owner = book ? await User.findByPk(book.ownerId) : null
    await widenRace()
    return book ? { title: book.title, ownerId: book.ownerId, owner: owner?.name ?? null } : null
  }

  const bookReaders = async (bookId: number) => {
    const links = await BookReader.findAll({ where: { bookId } })
    const users = await User.findAll({ where: { id: { [Op.in]: links.map(link => link.get('userId') as number) } }, order: [['id', 'ASC']] })
    await widenRace()
    return users.map(user => ({ id: user.id, name: user.name }))
  }

  const userBooks = async (userId: number) => {
    const books = await Book.findAll({ where: { ownerId: userId }, order: [['id', 'ASC']] })
    await widenRace()
    return books.map(book => ({ id: book.id, title: book.title }))
  }

  // Every linked book, deleted ones included (title null): restoring one must invalidate this.
  const userReading = async (userId: number) => {
    const links = await BookReader.findAll({ where: { userId } })
    const bookIds = links.map(link => link.get('bookId') as number).sort((a, b) => a - b)
    const books = await Book.findAll({ where: { id: { [Op.in]: bookIds } } })
    await widenRace()
    const titles = new Map(books.map(book => [book.id, book.title]))
    return bookIds.map(bookId => ({ bookId, title: titles.get(bookId) ?? null }))
  }

  const userList = async (_all: number) => {
    const users = await User.findAll({ order: [['id', 'ASC']] })
    await widenRace()
    return users.map(user => user.name)
  }

  const readers: Reader[] = [
    reader('bookOwner', ids.books, bookOwner, {
      key: c => `Book:${c.bookId}>owner`,
      invalidKeys: c => [`Book:${c.bookId}`, c.result ? `User:${c.result.ownerId}` : null],
    }),
    reader('bookReaders', ids.books, bookReaders, {
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
  ]
  return set
}
