import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataTypes, Model, Sequelize, type BelongsToManyGetAssociationsMixin } from 'sequelize'

// A throwaway SQLite file: a real database with real queries, gone when the demo ends.
const directory = mkdtempSync(join(tmpdir(), 'cacheme-bookstore-'))

/** Every SQL statement Sequelize runs passes through `logging`: counting them shows what the cache saves. */
export const sql = { queries: 0 }

export const sequelize = new Sequelize({
  dialect: 'sqlite',
  storage: join(directory, 'bookstore.sqlite'),
  logging: () => void sql.queries++,
})

export async function closeDatabase(): Promise<void> {
  await sequelize.close()
  rmSync(directory, { recursive: true, force: true })
}

// `cacheKey` names the dependency sets a change of the row empties: cached entries that read the
// row list one of these keys in their `invalidKeys`.

export class User extends Model {
  declare id: number
  declare name: string
  declare email: string
  get cacheKey(): string {
    return `User:${this.id}`
  }
}

export class Book extends Model {
  declare id: number
  declare title: string
  declare ownerId: number
  /** Loaded by the instance cache (their ids only). */
  declare chapters?: Chapter[]
  declare getReaders: BelongsToManyGetAssociationsMixin<User>
  get cacheKey(): string {
    return `Book:${this.id}`
  }
}

export class Chapter extends Model {
  declare id: number
  declare bookId: number
  declare title: string
  declare pages: number
  /** A chapter's change also makes its book's chapter summary stale. */
  get cacheKey(): string[] {
    return [`Chapter:${this.id}`, `Book:${this.bookId}:chapters`]
  }
}

/** The through model of "user reads book": a link added or removed clears both sides' lists. */
export class BookReader extends Model {
  declare bookId: number
  declare userId: number
  static m2mCacheKeys = {
    Book: (ids: unknown[]) => ids.map(id => `Book:${id}:readers`),
    User: (ids: unknown[]) => ids.map(id => `User:${id}:reading`),
  }
}

/** Binds the models to a database: the demo's SQLite file, or another one (the benchmark's PostgreSQL). */
export function bindModels(database: Sequelize): void {
  const options = { sequelize: database, timestamps: false }
  User.init({ name: DataTypes.STRING, email: DataTypes.STRING }, { ...options, modelName: 'User' })
  Book.init({ title: DataTypes.STRING, ownerId: DataTypes.INTEGER }, { ...options, modelName: 'Book', indexes: [{ fields: ['ownerId'] }] })
  Chapter.init({ bookId: DataTypes.INTEGER, title: DataTypes.STRING, pages: DataTypes.INTEGER }, { ...options, modelName: 'Chapter', indexes: [{ fields: ['bookId'] }] })
  BookReader.init({}, { ...options, modelName: 'BookReader' })

  Book.belongsTo(User, { as: 'owner', foreignKey: 'ownerId' })
  Book.hasMany(Chapter, { as: 'chapters', foreignKey: 'bookId' })
  Book.belongsToMany(User, { through: BookReader, as: 'readers', foreignKey: 'bookId', otherKey: 'userId' })
  User.belongsToMany(Book, { through: BookReader, as: 'reading', foreignKey: 'userId', otherKey: 'bookId' })
}

bindModels(sequelize)
