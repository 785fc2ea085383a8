import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BelongsTo, BelongsToMany, Column, DataType, ForeignKey, HasMany, Model, Sequelize, Table } from 'sequelize-typescript'
import type { TestDatabase } from '../support/fixtures'

// A library as sequelize-typescript declares it: the classes are initialized only when a Sequelize
// instance adds them, after the decorators of the serializers that name them have run.

@Table({ tableName: 'authors', timestamps: false })
export class Author extends Model {
  @Column(DataType.STRING)
  declare name: string

  @HasMany(() => Book)
  declare books: Book[]

  get cacheKey(): string {
    return `Author:${this.id}`
  }
}

@Table({ tableName: 'books', timestamps: false })
export class Book extends Model {
  @Column(DataType.STRING)
  declare title: string

  @ForeignKey(() => Author)
  @Column(DataType.INTEGER)
  declare authorId: number

  @BelongsTo(() => Author)
  declare author: Author

  @BelongsToMany(() => Reader, () => BookReader)
  declare readers: Reader[]

  /** A change of a book makes its author's list of books stale, before and after a move. */
  get cacheKey(): string[] {
    return [`Book:${this.id}`, `Author:${this.authorId}:books`]
  }
}

@Table({ tableName: 'readers', timestamps: false })
export class Reader extends Model {
  @Column(DataType.STRING)
  declare name: string

  @BelongsToMany(() => Book, () => BookReader)
  declare books: Book[]

  get cacheKey(): string {
    return `Reader:${this.id}`
  }
}

@Table({ tableName: 'book_readers', timestamps: false })
export class BookReader extends Model {
  @ForeignKey(() => Book)
  @Column(DataType.INTEGER)
  declare bookId: number

  @ForeignKey(() => Reader)
  @Column(DataType.INTEGER)
  declare readerId: number

  static m2mCacheKeys = {
    Book: (ids: unknown[]) => ids.map(id => `Book:${id}:readers`),
    Reader: (ids: unknown[]) => ids.map(id => `Reader:${id}:books`),
  }
}

export const LIBRARY_MODELS = [Author, Book, Reader, BookReader]

export interface Library {
  readonly sequelize: Sequelize
  /** The SQL statements run since the last reset. */
  readonly queries: string[]
}

/**
 * A Sequelize instance that adds the library's classes (and so initializes them again), seeded.
 * SQLite uses a file, so that a transaction has a connection of its own.
 */
export async function openLibrary(db: TestDatabase): Promise<Library> {
  const queries: string[] = []
  const logging = (sql: string) => void queries.push(sql)
  const options = { models: LIBRARY_MODELS, logging }
  const sequelize =
    db.dialect === 'sqlite'
      ? new Sequelize({ dialect: 'sqlite', storage: join(mkdtempSync(join(tmpdir(), 'cacheme-st-')), 'library.sqlite'), ...options })
      : new Sequelize(db.url, options)
  const library = { sequelize, queries }
  await seedLibrary(library)
  return library
}

/** Creates the tables anew with two authors, three books, two readers and two links. */
export async function seedLibrary({ sequelize, queries }: Library): Promise<void> {
  await sequelize.sync({ force: true })
  await Author.bulkCreate([
    { id: 1, name: 'Ursula Le Guin' },
    { id: 2, name: 'Octavia Butler' },
  ])
  await Book.bulkCreate([
    { id: 1, title: 'The Dispossessed', authorId: 1 },
    { id: 2, title: 'The Lathe of Heaven', authorId: 1 },
    { id: 3, title: 'Kindred', authorId: 2 },
  ])
  await Reader.bulkCreate([
    { id: 1, name: 'ann' },
    { id: 2, name: 'bob' },
  ])
  await BookReader.bulkCreate([
    { bookId: 1, readerId: 1 },
    { bookId: 3, readerId: 1 },
  ])
  queries.length = 0
}
