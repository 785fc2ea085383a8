// In an application: import { cacheme, invalidate, type Container } from 'cacheme'
import { cacheme, invalidate, type Container } from '../../src'
import { BooksRepository, type BookRow } from './books.repository'
import { Injectable } from './injector'

/** Each call's container: `c.id`, `c.authorId` are the parameters by name, `c.self` the service. */
interface BooksCall extends Container<BooksService> {
  id: number
  authorId: number
}

/** Called by every cached method on a hit or a miss: a service would hand these to its logger. */
export const calls: { method: string; key: string; outcome: 'hit' | 'miss' }[] = []
const record = (method: string) => ({
  hit: (key: string) => void calls.push({ method, key, outcome: 'hit' }),
  miss: (key: string) => void calls.push({ method, key, outcome: 'miss' }),
})

/**
 * A NestJS-style provider: the repository is injected through the constructor, and the reads are
 * cached with `@cacheme` beside the other decorators. Rows are not Sequelize models here, so the
 * write says by hand which dependency keys it invalidated.
 */
@Injectable()
export class BooksService {
  constructor(private readonly books: BooksRepository) {}

  @cacheme<BooksCall>({
    key: c => `Book:${c.id}>detail`,
    invalidKeys: c => `Book:${c.id}`,
    tag: 'BooksService.findOne',
    ...record('findOne'),
  })
  async findOne(id: number): Promise<BookRow | null> {
    return (await this.books.findById(id)) ?? null
  }

  @cacheme<BooksCall>({
    key: c => `Author:${c.authorId}>books`,
    // The author's list changes when any of its books does.
    invalidKeys: c => [`Author:${c.authorId}:books`, (c.result as BookRow[]).map(book => `Book:${book.id}`)],
    tag: 'BooksService.findByAuthor',
    ...record('findByAuthor'),
  })
  async findByAuthor(authorId: number): Promise<BookRow[]> {
    return this.books.findByAuthor(authorId)
  }

  async rename(id: number, title: string): Promise<BookRow> {
    const row = await this.books.rename(id, title)
    await invalidate({ invalidKey: `Book:${id}` })
    return row
  }
}
