import type { TortureSchema } from './models'
import type { Random } from './random'

/** The rows of a torture run, by id. */
export interface TortureIds {
  readonly users: readonly number[]
  /** Every book: bulk writes take ranges of hundreds of them. */
  readonly books: readonly number[]
  /** The books the readers ask about (and single-row writes change): the first ones, and a spread over the rest. */
  readonly readBooks: readonly number[]
  readonly listings: readonly number[]
}

const USERS = 10
const LISTINGS = 12
/** The first books, which single-row writes change most often, and how many of the rest are read too. */
const HOT_BOOKS = 20
const SPREAD_BOOKS = 20

export function tortureIds(books: number): TortureIds {
  const all = range(1, books)
  const step = Math.max(1, Math.floor(books / SPREAD_BOOKS))
  return {
    users: range(1, USERS),
    books: all,
    readBooks: all.filter(id => id <= HOT_BOOKS || id % step === 0),
    listings: range(1, LISTINGS),
  }
}

/** Fresh tables: every user, every book with a random owner, links between read books and users, listings with a small stock. */
export async function seed(schema: TortureSchema, ids: TortureIds, random: Random): Promise<void> {
  await schema.sequelize.sync({ force: true })
  await schema.User.bulkCreate(ids.users.map(id => ({ id, name: `user${id}` })))
  await schema.Book.bulkCreate(ids.books.map(id => ({ id, title: `book${id}`, ownerId: random.pick(ids.users) })))
  const links = ids.readBooks.flatMap(bookId => random.subset(ids.users, 0.25).map(userId => ({ bookId, userId })))
  await schema.BookReader.bulkCreate(links)
  await schema.Listing.bulkCreate(ids.listings.map(id => ({ id, sku: `sku${id}`, stock: random.int(0, 2) })))
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index)
}
