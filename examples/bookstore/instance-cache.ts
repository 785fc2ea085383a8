// In an application: import { BaseCache, type BaseCacheOptions } from 'cacheme'
import { BaseCache, type BaseCacheOptions } from '../../src'
import { Book, Chapter, User } from './models'

// A book's chapters by id, so that its cached list of chapter ids comes out in one order.
const WITH_CHAPTERS = {
  include: [{ model: Chapter, as: 'chapters', attributes: ['id'] }],
  order: [[{ model: Chapter, as: 'chapters' }, 'id', 'ASC']] as [{ model: typeof Chapter; as: string }, string, string][],
}

/**
 * The bookstore's rows as JSON in Redis: reading a book needs no SQL query once it is cached, and
 * a list of books one (their ids). Related rows are stored by primary key (PK, PKList fields).
 * User and Chapter use the default loaders of a registered Sequelize model (findByPk, findAll).
 */
export class BookstoreCache extends BaseCache {
  constructor(options?: BaseCacheOptions) {
    super(options)
    this.register<User>(User, {
      serializer: user => ({ id: user.id, name: user.name }),
    })
    this.register<Book>(Book, {
      serializer: book =>
        Object.fromEntries([
          ['id', book.id],
          ['title', book.title],
          this.fieldToJson('PK', 'owner', 'User', book.ownerId),
          this.fieldToJson(
            'PKList',
            'chapters',
            'Chapter',
            (book.chapters ?? []).map(chapter => chapter.id),
          ),
        ]),
      loader: pk => Book.findByPk(pk, WITH_CHAPTERS),
      // A page of misses in one query.
      batchLoader: pks => Book.findAll({ where: { id: pks }, ...WITH_CHAPTERS }),
    })
    this.register<Chapter>(Chapter, {
      serializer: chapter => Object.fromEntries([['id', chapter.id], ['title', chapter.title], ['pages', chapter.pages], this.fieldToJson('PK', 'book', 'Book', chapter.bookId)]),
      // A chapter added, moved or removed changes its book's list of chapters.
      invalidator: chapter => [['Book', chapter.bookId]],
    })
  }
}
