// In an application: import { cacheme, type Container } from 'cacheme'
import { cacheme, type Container } from '../../src'
import { Author, Book, Review } from './models'

interface BookCall extends Container<BookSerializer> {
  book: Book
}

export interface ReviewSummary {
  count: number
  average: number | null
}

/** What the API returns for a book; the parts read from other tables are cached. */
export class BookSerializer {
  // Tag `BookSerializer.author` (the default): the admin page lists it with its keys and hit rate.
  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>author`,
    // The author's row, and the book's own (its authorId may change).
    invalidKeys: c => [`Author:${c.book.authorId}`, `Book:${c.book.id}`],
    invalidModels: [Author, Book],
  })
  async author(book: Book): Promise<{ id: number; name: string }> {
    const author = await Author.findByPk(book.authorId, { rejectOnEmpty: true })
    return { id: author.id, name: author.name }
  }

  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>reviews`,
    invalidKeys: c => `Book:${c.book.id}:reviews`,
    invalidModels: [Review],
  })
  async reviews(book: Book): Promise<ReviewSummary> {
    const reviews = await Review.findAll({ where: { bookId: book.id }, attributes: ['stars'] })
    const total = reviews.reduce((sum, review) => sum + review.stars, 0)
    return { count: reviews.length, average: reviews.length ? Math.round((total / reviews.length) * 10) / 10 : null }
  }

  async serialize(book: Book) {
    const [author, reviews] = await Promise.all([this.author(book), this.reviews(book)])
    return { id: book.id, title: book.title, author, reviews }
  }
}
