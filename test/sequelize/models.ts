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
  class SBookReader extends BookReader {}
  class SFriendship extends Friendship {}
  SUser.init({ name: DataTypes.STRING }, { sequelize, modelName: 'User' })
  SBook.init({ title: DataTypes.STRING, ownerId: DataTypes.INTEGER }, { sequelize, modelName: 'Book', paranoid: true })
  SBookReader.init({}, { sequelize, modelName: 'BookReader' })
  SFriendship.init({}, { sequelize, modelName: 'Friendship' })
  SBook.belongsToMany(SUser, { through: SBookReader, as: 'readers', foreignKey: 'bookId', otherKey: 'userId' })
  SUser.belongsToMany(SBook, { through: SBookReader, as: 'books', foreignKey: 'userId', otherKey: 'bookId' })
  SUser.belongsToMany(SUser, { through: SFriendship, as: 'friends', foreignKey: 'userId', otherKey: 'friendId' })
  return { sequelize, User: SUser, Book: SBook, BookReader: SBookReader, Friendship: SFriendship }
}
