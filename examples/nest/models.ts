import { BelongsTo, Column, DataType, ForeignKey, HasMany, Model, Table } from 'sequelize-typescript'

// sequelize-typescript models, as @nestjs/sequelize uses them. `cacheKey` names the dependency sets
// a change of the row empties; cached entries that read the row list the same keys in `invalidKeys`.

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

  /** A change of a book makes it stale, and its author's list of books. */
  get cacheKey(): string[] {
    return [`Book:${this.id}`, `Author:${this.authorId}:books`]
  }
}

/** SQL statements run, counted through Sequelize's logging, so that the example can show what the cache saves. */
export const sql = { queries: 0 }

export async function seed(): Promise<void> {
  await Author.bulkCreate([
    { id: 1, name: 'Ursula K. Le Guin' },
    { id: 2, name: 'Octavia E. Butler' },
  ])
  await Book.bulkCreate([
    { id: 1, title: 'The Left Hand of Darkness', authorId: 1 },
    { id: 2, title: 'The Lathe of Heaven', authorId: 1 },
    { id: 3, title: 'Dawn', authorId: 2 },
  ])
}
