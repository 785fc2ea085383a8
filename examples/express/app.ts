import express from 'express'
// In an application: import { metricsHandler } from 'cacheme' and { cachemeAdmin } from 'cacheme/admin'
import { metricsHandler } from '../../src'
import { cachemeAdmin, type InvalidationModel } from '../../src/admin'
import { basicAuth } from './admin-auth'
import { Author, Book } from './models'
import { BookSerializer } from './serializer'

export interface AppOptions {
  readonly invalidations: InvalidationModel
  readonly adminUser: string
  readonly adminPassword: string
  /** Signs the admin's form tokens; the same in every process of the app. */
  readonly adminSecret?: string
}

export function createApp({ invalidations, adminUser, adminPassword, adminSecret }: AppOptions): express.Express {
  const app = express()
  const serializer = new BookSerializer()
  app.use(express.json())

  app.get('/books', async (_req, res) => {
    const books = await Book.findAll({ order: [['id', 'ASC']] })
    res.json(await Promise.all(books.map(book => serializer.serialize(book))))
  })

  app.get('/books/:id', async (req, res) => {
    const book = await Book.findByPk(Number(req.params.id))
    if (!book) return void res.status(404).json({ error: 'no such book' })
    res.json(await serializer.serialize(book))
  })

  // A plain update: cacheme's hooks on Author invalidate every cached entry that read this author.
  app.patch('/authors/:id', async (req, res) => {
    const author = await Author.findByPk(Number(req.params.id))
    if (!author) return void res.status(404).json({ error: 'no such author' })
    await author.update({ name: String(req.body?.name ?? author.name) })
    res.json({ id: author.id, name: author.name })
  })

  // Prometheus scrapes per-tag hits, misses, stores and compute time here.
  app.get('/metrics', metricsHandler())

  // The browser asks for the password (challenge); authorize checks it again on every request.
  const admin = basicAuth(adminUser, adminPassword)
  app.use(
    '/admin',
    admin.challenge,
    cachemeAdmin({
      authorize: admin.isAdmin,
      who: () => adminUser,
      model: invalidations,
      secret: adminSecret,
    }),
  )
  return app
}
