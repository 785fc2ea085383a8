// In an application: import { cacheme, type Container } from 'cacheme'
import { cacheme, type Container } from '../../src'
import { Book, BookReader, Chapter, User } from './models'

export interface Person {
  id: number
  name: string
}

export interface ChapterSummary {
  count: number
  pages: number
  titles: string[]
}

/** The container each decorated getter sees: `c.book` is its parameter, `c.result` what it computed. */
interface BookCall extends Container<BookSerializer> {
  book: Book
}

/** Keys computed (cache misses), in order, so the demo can show exactly what a change recomputed. */
export const recomputed: string[] = []
const miss = (key: string): void => void recomputed.push(key)

export class BookSerializer {
  // `Book:17>owner` is field `owner` of the Redis hash `Book:17`: one hash per book.
  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>owner`,
    // The owner's row, and the book's own row (its ownerId may change).
    invalidKeys: c => [`User:${(c.result as Person).id}`, `Book:${c.book.id}`],
    invalidModels: [User, Book],
    miss,
  })
  async owner(book: Book): Promise<Person> {
    const user = await User.findByPk(book.ownerId, { attributes: ['id', 'name'], rejectOnEmpty: true })
    return { id: user.id, name: user.name }
  }

  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>chapters`,
    // Every chapter's cacheKey includes Book:<bookId>:chapters, so adding one clears this too.
    invalidKeys: c => `Book:${c.book.id}:chapters`,
    invalidModels: [Chapter],
    miss,
  })
  async chapters(book: Book): Promise<ChapterSummary> {
    const chapters = await Chapter.findAll({ where: { bookId: book.id }, order: [['id', 'ASC']] })
    return {
      count: chapters.length,
      pages: chapters.reduce((sum, chapter) => sum + chapter.pages, 0),
      titles: chapters.map(chapter => chapter.title),
    }
  }

  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>readers`,
    // The links (a reader added or removed) and each listed reader's row (a renamed reader).
    invalidKeys: c => [`Book:${c.book.id}:readers`, (c.result as Person[]).map(reader => `User:${reader.id}`)],
    invalidModels: [User],
    invalidM2MModels: [BookReader],
    miss,
  })
  async readers(book: Book): Promise<Person[]> {
    const readers = await book.getReaders({ attributes: ['id', 'name'], joinTableAttributes: [], order: [['name', 'ASC']] })
    return readers.map(user => ({ id: user.id, name: user.name }))
  }

  /** A catalogue entry: the book's own columns (already loaded) plus the three cached parts. */
  async serialize(book: Book) {
    const [owner, chapters, readers] = await Promise.all([this.owner(book), this.chapters(book), this.readers(book)])
    return { id: book.id, title: book.title, owner, chapters, readers }
  }
}

export type CatalogueEntry = Awaited<ReturnType<BookSerializer['serialize']>>
