import { DataTypes, Model, Sequelize } from 'sequelize'
// In an application: import { defineInvalidationModel, type InvalidationModel } from 'cacheme/admin'
import { defineInvalidationModel, type InvalidationModel } from '../../src/admin'

// `cacheKey` names the dependency sets a change of the row empties; cached entries that read the
// row list the same keys in their `invalidKeys`.

export class Author extends Model {
  declare id: number
  declare name: string
  get cacheKey(): string {
    return `Author:${this.id}`
  }
}

export class Book extends Model {
  declare id: number
  declare title: string
  declare authorId: number
  get cacheKey(): string {
    return `Book:${this.id}`
  }
}

export class Review extends Model {
  declare id: number
  declare bookId: number
  declare stars: number
  /** A new or changed review makes its book's review summary stale. */
  get cacheKey(): string[] {
    return [`Review:${this.id}`, `Book:${this.bookId}:reviews`]
  }
}

// In-memory SQLite: a real database with real queries, gone when the process ends; DATABASE_URL's
// database when set. The models are set up when this module loads, before the serializer's
// decorators install hooks on them.
const databaseUrl = process.env.DATABASE_URL
export const sequelize = databaseUrl ? new Sequelize(databaseUrl, { logging: false }) : new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false })

const options = { sequelize, timestamps: false }
Author.init({ name: DataTypes.STRING }, { ...options, modelName: 'Author' })
Book.init({ title: DataTypes.STRING, authorId: DataTypes.INTEGER }, { ...options, modelName: 'Book' })
Review.init({ bookId: DataTypes.INTEGER, stars: DataTypes.INTEGER }, { ...options, modelName: 'Review' })

/** The admin's history of invalidations: a table like the others. */
export const Invalidation: InvalidationModel = defineInvalidationModel(sequelize)

/** Creates the tables and a few authors, books and reviews. */
export async function seed(): Promise<void> {
  await sequelize.sync()
  await Author.bulkCreate([
    { id: 1, name: 'Ursula Le Guin' },
    { id: 2, name: 'Octavia Butler' },
    { id: 3, name: 'Stanisław Lem' },
  ])
  await Book.bulkCreate([
    { id: 1, title: 'A Wizard of Earthsea', authorId: 1 },
    { id: 2, title: 'The Dispossessed', authorId: 1 },
    { id: 3, title: 'Kindred', authorId: 2 },
    { id: 4, title: 'Parable of the Sower', authorId: 2 },
    { id: 5, title: 'Solaris', authorId: 3 },
    { id: 6, title: 'The Cyberiad', authorId: 3 },
  ])
  await Review.bulkCreate([5, 4, 5, 3, 5, 4, 4, 5, 2, 5].map((stars, index) => ({ bookId: (index % 6) + 1, stars })))
}
