import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataTypes, Model, type Sequelize } from 'sequelize'
import { createSequelize, type TestDatabase } from '../support/fixtures'

export class User extends Model {
  declare id: number
  declare name: string
  get cacheKey(): string[] {
    return [`User:${this.id}`, 'User:list']
  }
}

/** Paranoid, so restore has something to undo; its cache key depends on a column (the owner). */
export class Book extends Model {
  declare id: number
  declare title: string
  declare ownerId: number
  get cacheKey(): string[] {
    return [`Book:${this.id}`, `User:${this.ownerId}:books`]
  }
}

/** A book on sale: its `sku` is unique, and its cache key depends on a counter (in stock or sold out). */
export class Listing extends Model {
  declare id: number
  declare sku: string
  declare stock: number
  get cacheKey(): string[] {
    return [`Listing:${this.id}`, this.stock > 0 ? 'Listings:in-stock' : 'Listings:sold-out']
  }
}

export class BookReader extends Model {
  static m2mCacheKeys = {
    Book: (ids: unknown[]) => ids.map(id => `Book:${id}:readers`),
    User: (ids: unknown[]) => ids.map(id => `User:${id}:reading`),
  }
}

/** A self-referential link: both columns point at User. */
export class Friendship extends Model {
  static m2mCacheKeys = {
    User: (ids: unknown[]) => ids.map(id => `User:${id}:friends`),
  }
}

export interface Bookstore {
  sequelize: Sequelize
  User: typeof User
  Book: typeof Book
  Listing: typeof Listing
  BookReader: typeof BookReader
  Friendship: typeof Friendship
}

/**
 * The bookstore schema on a database. SQLite uses a file, not `:memory:`, so that a transaction
 * has a connection of its own and other readers do not see its uncommitted rows.
 */
export function openBookstore(db: TestDatabase): Bookstore {
  const storage = join(mkdtempSync(join(tmpdir(), 'cacheme-')), 'test.sqlite')
  const sequelize = createSequelize(db, db.dialect === 'sqlite' ? { storage } : {})
  class SUser extends User {}
  class SBook extends Book {}
  class SListing extends Listing {}
  class SBookReader extends BookReader {}
  class SFriendship extends Friendship {}
  SUser.init({ name: DataTypes.STRING }, { sequelize, modelName: 'User' })
  SBook.init({ title: DataTypes.STRING, ownerId: DataTypes.INTEGER }, { sequelize, modelName: 'Book', paranoid: true })
  SListing.init({ sku: { type: DataTypes.STRING, unique: true }, stock: { type: DataTypes.INTEGER, defaultValue: 0 } }, { sequelize, modelName: 'Listing' })
  SBookReader.init({}, { sequelize, modelName: 'BookReader' })
  SFriendship.init({}, { sequelize, modelName: 'Friendship' })
  SBook.belongsToMany(SUser, { through: SBookReader, as: 'readers', foreignKey: 'bookId', otherKey: 'userId' })
  SUser.belongsToMany(SBook, { through: SBookReader, as: 'books', foreignKey: 'userId', otherKey: 'bookId' })
  SUser.belongsToMany(SUser, { through: SFriendship, as: 'friends', foreignKey: 'userId', otherKey: 'friendId' })
  return { sequelize, User: SUser, Book: SBook, Listing: SListing, BookReader: SBookReader, Friendship: SFriendship }
}

/** Three users, three books (owners 1, 2, 2) and two listings (in stock, sold out), on freshly synced tables. */
export async function seedBookstore(store: Bookstore): Promise<void> {
  await store.sequelize.sync({ force: true })
  await store.User.bulkCreate([
    { id: 1, name: 'ann' },
    { id: 2, name: 'bob' },
    { id: 3, name: 'cyd' },
  ])
  await store.Book.bulkCreate([
    { id: 1, title: 'a', ownerId: 1 },
    { id: 2, title: 'b', ownerId: 2 },
    { id: 3, title: 'c', ownerId: 2 },
  ])
  await store.Listing.bulkCreate([
    { id: 1, sku: 'L1', stock: 2 },
    { id: 2, sku: 'L2', stock: 0 },
  ])
}
