import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import express from 'express'
import { invalidate } from '../../src'
import { cachedRouter } from '../../src/express'
import { configureBackend } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { LibraryCache } from './library-cache'
import { Author, Book, openLibrary, seedLibrary, type Library } from './models'

const [sqlite] = testDatabases()

describe('cacheme/express over sequelize-typescript models (sqlite, Redis)', () => {
  let library: Library
  let server: Server
  let base: string
  const cache = new LibraryCache()

  /** A request, its answer, and the SQL statements it ran. */
  async function request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; queries: number }> {
    library.queries.length = 0
    const response = await fetch(base + path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    const text = await response.text()
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text), queries: library.queries.length }
  }

  // A router reads its model's primary key and attributes: it is made once a Sequelize has added the model.
  before(async () => {
    library = await openLibrary(sqlite)
    const app = express()
    app.use(express.json())
    app.use('/authors', cachedRouter(cache, Author))
    app.use('/books', cachedRouter(cache, Book, { writable: ['title', 'authorId'] }))
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening)).once('error', reject)
    })
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
    await library.sequelize.close()
  })

  beforeEach(async () => {
    configureBackend('redis')
    await seedLibrary(library)
    await invalidate({ pattern: '*' })
  })

  it('lists a page with one SQL query once its rows are cached, and a row with none', async () => {
    const cold = await request('GET', '/books?limit=2')
    expect(cold.body).to.deep.equal({
      items: [
        { id: 1, title: 'The Dispossessed', author: 1 },
        { id: 2, title: 'The Lathe of Heaven', author: 1 },
      ],
      offset: 0,
      limit: 2,
      next: '/books?offset=2&limit=2',
    })
    expect((await request('GET', '/books?limit=2')).queries).to.equal(1)
    const author = await request('GET', '/authors/1')
    expect(author.body).to.deep.equal({ id: 1, name: 'Ursula Le Guin', books: [1, 2] })
    expect((await request('GET', '/authors/1')).queries).to.equal(0)
  })

  it('a PATCH through the @Table model refreshes the row and the instances that embed it before the answer', async () => {
    await request('GET', '/authors/2')
    const patched = await request('PATCH', '/books/2', { authorId: 2 })
    expect(patched.status).to.equal(200)
    expect(patched.body).to.deep.equal({ id: 2, title: 'The Lathe of Heaven', author: 2 })
    const moved = await request('GET', '/authors/2')
    expect(moved).to.deep.equal({ status: 200, body: { id: 2, name: 'Octavia Butler', books: [2, 3] }, queries: 0 })
    expect((await request('GET', '/authors/1')).body.books).to.deep.equal([1])
  })

  it('creates and deletes through the model, answering 201 and 204, and 404 for the deleted row', async () => {
    const created = await request('POST', '/books', { title: 'Dawn', authorId: 2 })
    expect(created.status).to.equal(201)
    expect(created.body).to.deep.include({ title: 'Dawn', author: 2 })
    expect((await request('GET', '/authors/2')).body.books).to.deep.equal([3, created.body.id])
    expect((await request('DELETE', `/books/${created.body.id}`)).status).to.equal(204)
    expect((await request('GET', `/books/${created.body.id}`)).status).to.equal(404)
    expect((await request('GET', '/authors/2')).body.books).to.deep.equal([3])
  })
})
