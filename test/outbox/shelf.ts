import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataTypes, Model, Sequelize } from 'sequelize'
import { BaseCache, cacheme, type InvalidatorItem, type Pk } from '../../src'
import type { TestDatabase } from '../support/fixtures'

/** A book: its keys name its owner's list, so moving it makes both owners' lists stale. */
export class Book extends Model {
  declare id: number
  declare title: string
  declare ownerId: number
  get cacheKey(): string[] {
    return [`Book:${this.id}`, `Owner:${this.ownerId}:books`]
  }
}

export class Owner extends Model {
  declare id: number
  declare name: string
  declare books?: Book[]
  get cacheKey(): string {
    return `Owner:${this.id}`
  }
}

export interface Shelf {
  readonly sequelize: Sequelize
  readonly Book: typeof Book
  readonly Owner: typeof Owner
}

/** The database URL a writer process opens: a SQLite file (shared by both processes), or the test PostgreSQL. */
export function shelfUrl(db: TestDatabase): string {
  return db.dialect === 'sqlite' ? `sqlite:${join(mkdtempSync(join(tmpdir(), 'cacheme-shelf-')), 'shelf.sqlite')}` : db.url
}

export function openShelf(url: string): Shelf {
  const sequelize = url.startsWith('sqlite:') ? new Sequelize({ dialect: 'sqlite', storage: url.slice('sqlite:'.length), logging: false }) : new Sequelize(url, { logging: false })
  class ShelfBook extends Book {}
  class ShelfOwner extends Owner {}
  ShelfBook.init({ title: DataTypes.STRING, ownerId: DataTypes.INTEGER }, { sequelize, modelName: 'ShelfBook' })
  ShelfOwner.init({ name: DataTypes.STRING }, { sequelize, modelName: 'ShelfOwner' })
  ShelfOwner.hasMany(ShelfBook, { as: 'books', foreignKey: 'ownerId' })
  return { sequelize, Book: ShelfBook, Owner: ShelfOwner }
}

/** Owners 1 and 2; books 1..3 titled `old 1`.., all owned by 1. */
export async function seedShelf(shelf: Shelf): Promise<void> {
  await shelf.Book.destroy({ where: {}, hooks: false })
  await shelf.Owner.destroy({ where: {}, hooks: false })
  await shelf.Owner.bulkCreate(
    [1, 2].map(id => ({ id, name: `owner ${id}` })),
    { hooks: false },
  )
  await shelf.Book.bulkCreate(
    [1, 2, 3].map(id => ({ id, title: `old ${id}`, ownerId: 1 })),
    { hooks: false },
  )
}

/** The instance cache of the shelf: a book, and an owner with the ids of its books, which a book's change refreshes. */
export class ShelfCache extends BaseCache {
  constructor(private readonly shelf: Shelf) {
    super()
  }

  shelfbook_default_serializer(book: Book) {
    return { id: book.id, title: book.title, ownerId: book.ownerId }
  }

  shelfbook_default_invalidator(book: Book): InvalidatorItem[] {
    return [['ShelfOwner', book.ownerId]]
  }

  shelfowner_default_serializer(owner: Owner) {
    return { id: owner.id, name: owner.name, books: (owner.books ?? []).map(book => book.id).sort() }
  }

  shelfowner_default_loader(pk: Pk) {
    return this.shelf.Owner.findByPk(pk, { include: 'books' })
  }
}

/** A memoized book title: `Book:<id>>title`, invalidated by `Book:<id>`, no ttl. */
export function memoizedTitle(shelf: Shelf): (id: number) => Promise<string> {
  return cacheme({ key: c => `Book:${c.id}>title`, invalidKeys: c => `Book:${c.id}` })(async (id: number) => (await shelf.Book.findByPk(id))!.title)
}

/** How many cached values disagree with the database: memoized titles, book instances, owner instances (their book ids). */
export interface Staleness {
  readonly titles: number
  readonly books: number
  readonly owners: number
}

/** Reads every value through the cache, as an application would, and compares it with the rows. */
export async function staleness(shelf: Shelf, cache: ShelfCache, title: (id: number) => Promise<string>): Promise<Staleness> {
  const books = await shelf.Book.findAll({ order: [['id', 'ASC']] })
  const owners = await shelf.Owner.findAll({ include: 'books', order: [['id', 'ASC']] })
  const titles = await Promise.all(books.map(book => title(book.id)))
  const instances = await cache.getInstances([...books.map(book => ['ShelfBook', book.id] as const), ...owners.map(owner => ['ShelfOwner', owner.id] as const)])
  const data = (model: string, pk: number) => instances.get(`${model}:${pk}`)?.[0] as Record<string, unknown> | undefined
  return {
    titles: books.filter((book, i) => titles[i] !== book.title).length,
    books: books.filter(book => data('ShelfBook', book.id)?.title !== book.title || data('ShelfBook', book.id)?.ownerId !== book.ownerId).length,
    owners: owners.filter(owner => JSON.stringify(data('ShelfOwner', owner.id)?.books) !== JSON.stringify((owner.books ?? []).map(book => book.id).sort())).length,
  }
}
