import { DataTypes, Sequelize } from 'sequelize'
import { Book, BookReader, Listing, User } from '../sequelize/models'

/** The bookstore rows the torture workload reads and writes; cache keys as in the hooks suite. */
export interface TortureSchema {
  sequelize: Sequelize
  User: typeof User
  Book: typeof Book
  BookReader: typeof BookReader
  /** Counters: its cache key depends on its stock (in stock or sold out), which increment changes. */
  Listing: typeof Listing
}

/**
 * The schema on PostgreSQL, in tables of its own so that it never clobbers the hooks suite's.
 * The pool is large enough for every worker to hold a connection (transactions hold theirs while
 * they sleep). Links carry no foreign-key constraints: a database cascade would delete link rows
 * without Sequelize hooks, which no cache can see.
 */
export function openTortureSchema(databaseUrl: string, connections: number): TortureSchema {
  const sequelize = new Sequelize(databaseUrl, { logging: false, pool: { max: connections, min: 0, acquire: 30_000 } })
  class TUser extends User {}
  class TBook extends Book {}
  class TBookReader extends BookReader {}
  class TListing extends Listing {}
  // The model names must stay User and Book: m2mCacheKeys is keyed by them.
  TUser.init({ name: DataTypes.STRING }, { sequelize, modelName: 'User', tableName: 'torture_users' })
  TBook.init({ title: DataTypes.STRING, ownerId: DataTypes.INTEGER }, { sequelize, modelName: 'Book', tableName: 'torture_books', paranoid: true })
  TBookReader.init({}, { sequelize, modelName: 'BookReader', tableName: 'torture_book_readers' })
  TListing.init(
    { sku: { type: DataTypes.STRING, unique: true }, stock: { type: DataTypes.INTEGER, defaultValue: 0 } },
    { sequelize, modelName: 'Listing', tableName: 'torture_listings' },
  )
  TBook.belongsToMany(TUser, { through: TBookReader, as: 'readers', foreignKey: 'bookId', otherKey: 'userId', constraints: false })
  TUser.belongsToMany(TBook, { through: TBookReader, as: 'books', foreignKey: 'userId', otherKey: 'bookId', constraints: false })
  return { sequelize, User: TUser, Book: TBook, BookReader: TBookReader, Listing: TListing }
}
