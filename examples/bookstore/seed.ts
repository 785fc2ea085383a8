import { Book, BookReader, Chapter, User } from './models'

const FIRST = [
  'Ada',
  'Alan',
  'Barbara',
  'Claude',
  'Donald',
  'Edsger',
  'Frances',
  'Grace',
  'Hedy',
  'Ivan',
  'John',
  'Katherine',
  'Leslie',
  'Margaret',
  'Niklaus',
  'Radia',
  'Ken',
  'Shafi',
  'Tony',
  'Vint',
]
const LAST = ['Abbott', 'Baker', 'Carter', 'Diaz', 'Evans', 'Fischer', 'Garcia', 'Hughes', 'Ito', 'Jensen']
const WORDS = [
  'Silent',
  'Distributed',
  'Lazy',
  'Eventual',
  'Hidden',
  'Atomic',
  'Stale',
  'Concurrent',
  'Garden',
  'River',
  'Cache',
  'Lighthouse',
  'Protocol',
  'Winter',
  'Ledger',
  'Compiler',
]

/** A small seeded generator, so every run builds the same catalogue. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface SeedSize {
  users: number
  books: number
  chaptersPerBook: number
  /** Each book gets this many distinct readers, give or take one. */
  readersPerBook: number
}

/** Creates the tables and fills them in one transaction; returns how many rows of each it wrote. */
export async function seed(size: SeedSize) {
  const next = random(42)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]
  const userId = () => 1 + Math.floor(next() * size.users)

  const users = Array.from({ length: size.users }, (_, i) => {
    // Distinct names for the first FIRST × LAST users: a renamed user is easy to spot.
    const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`
    return { id: i + 1, name, email: `${name.toLowerCase().replace(' ', '.')}.${i + 1}@example.com` }
  })
  const books = Array.from({ length: size.books }, (_, i) => ({
    id: i + 1,
    title: `The ${pick(WORDS)} ${pick(WORDS)}`,
    ownerId: userId(),
  }))
  const chapters = books.flatMap(book =>
    Array.from({ length: size.chaptersPerBook }, (_, i) => ({
      bookId: book.id,
      title: `Chapter ${i + 1}`,
      pages: 5 + Math.floor(next() * 40),
    })),
  )
  const links = books.flatMap(book => {
    const readers = new Set<number>()
    const wanted = size.readersPerBook - 1 + Math.floor(next() * 3)
    while (readers.size < Math.min(wanted, size.users)) readers.add(userId())
    return [...readers].map(id => ({ bookId: book.id, userId: id }))
  })

  // The database the models are bound to (bindModels).
  const sequelize = Book.sequelize!
  await sequelize.sync({ force: true })
  await sequelize.transaction(async transaction => {
    await User.bulkCreate(users, { transaction })
    await Book.bulkCreate(books, { transaction })
    await Chapter.bulkCreate(chapters, { transaction })
    await BookReader.bulkCreate(links, { transaction })
  })
  return { users: users.length, books: books.length, chapters: chapters.length, links: links.length }
}
