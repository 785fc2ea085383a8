import { BaseCache, type InvalidatorItem } from '../../src'
import { Author, Book } from './models'

/** The instance cache of the library, by the naming convention, over the sequelize-typescript classes. */
export class LibraryCache extends BaseCache {
  author_default_serializer(author: Author) {
    const books = (author.books ?? []).map(book => book.id).sort((a, b) => a - b)
    return Object.fromEntries([['id', author.id], ['name', author.name], this.fieldToJson('PKList', 'books', 'Book', books)])
  }

  author_default_loader(pk: number) {
    return Author.findByPk(pk, { include: [{ model: Book, attributes: ['id'] }] })
  }

  book_default_serializer(book: Book) {
    return Object.fromEntries([['id', book.id], ['title', book.title], this.fieldToJson('PK', 'author', 'Author', book.authorId)])
  }

  book_default_loader(pk: number) {
    return Book.findByPk(pk)
  }

  /** An author's instance lists its books: a change of a book refreshes it (the author as it was, too). */
  book_default_invalidator(book: Book): InvalidatorItem[] {
    return [['Author', book.authorId, false]]
  }
}
