import { Injectable } from '@nestjs/common'
import { InjectModel } from '@nestjs/sequelize'
// In an application: import { cacheme, type Container } from 'cacheme'
import { cacheme, type Container } from '../../src'
import { Book } from './models'

export interface BookData {
  id: number
  title: string
  authorId: number
}

/** Each call's container: `c.id`, `c.authorId` are the parameters by name, `c.self` the service. */
interface BooksCall extends Container<BooksService> {
  id: number
  authorId: number
}

/** Told of every cached call's hit or miss: a service would hand these to its logger. */
export const calls: { method: string; outcome: 'hit' | 'miss' }[] = []
const record = (method: string) => ({
  hit: () => void calls.push({ method, outcome: 'hit' }),
  miss: () => void calls.push({ method, outcome: 'miss' }),
})

const data = (book: Book): BookData => ({ id: book.id, title: book.title, authorId: book.authorId })

/**
 * A Nest provider: the model is injected by @nestjs/sequelize, the reads are cached with
 * `@cacheme`. A write goes through Sequelize; the hooks cacheme installed on Book (BooksModule
 * registers it) invalidate what read the row once it commits.
 */
@Injectable()
export class BooksService {
  constructor(@InjectModel(Book) private readonly books: typeof Book) {}

  @cacheme<BooksCall>({ key: c => `Book:${c.id}>detail`, invalidKeys: c => `Book:${c.id}`, ...record('findOne') })
  async findOne(id: number): Promise<BookData | null> {
    const book = await this.books.findByPk(id)
    return book && data(book)
  }

  @cacheme<BooksCall>({
    key: c => `Author:${c.authorId}>books`,
    // The list changes when a book joins or leaves it (Author:n:books), or when one of its books does.
    invalidKeys: c => [`Author:${c.authorId}:books`, (c.result as BookData[]).map(book => `Book:${book.id}`)],
    ...record('findByAuthor'),
  })
  async findByAuthor(authorId: number): Promise<BookData[]> {
    return (await this.books.findAll({ where: { authorId }, order: [['id', 'ASC']] })).map(data)
  }

  async rename(id: number, title: string): Promise<BookData | null> {
    const book = await this.books.findByPk(id)
    return book && data(await book.update({ title }))
  }
}
