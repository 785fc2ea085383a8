import express from 'express'
// In an application: import { cachedRouter } from 'cacheme/express'
import { cachedRouter } from '../../src/express'
import type { BookstoreCache } from './instance-cache'
import { Book, Chapter, User } from './models'

/**
 * The bookstore's JSON API, served from the instance cache: `GET /books` (a page: one SQL query
 * for its ids), `GET /books/:id` (none when cached), and `PATCH /books/:id` for the title and the
 * owner, written through Sequelize so that the hooks refresh the book's entry.
 */
export function createApi(cache: BookstoreCache): express.Express {
  const app = express()
  app.use('/books', cachedRouter(cache, Book, { writable: ['title', 'ownerId'], pageSize: 20, maxPageSize: 100 }))
  app.use('/users', cachedRouter(cache, User, { findOptions: { order: [['name', 'ASC']] } }))
  app.use('/chapters', cachedRouter(cache, Chapter))
  return app
}
