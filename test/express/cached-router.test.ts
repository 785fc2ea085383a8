import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import express from 'express'
import { DataTypes, Model } from 'sequelize'
import { CachemeError, PkOnlyList, PkOnlyModel } from '../../src'
import { cachedRouter, toResponse } from '../../src/express'
import { openPoll, PollCache, seedPoll, type Poll } from '../instance-cache/poll'
import { configureBackend, deleteEntries } from '../support/backends'
import { testDatabases } from '../support/fixtures'

interface Answer {
  status: number
  headers: Headers
  body: any
  /** The SQL statements the request ran. */
  queries: string[]
}

const QUESTION_1 = { id: 1, text: 'Tea or coffee?', publishedAt: '2026-01-02T03:04:05.678Z', author: 1, choices: [1, 2] }

class Tag extends Model {
  declare name: string
  declare label: string
}

/** The SQL of a statement on a table, quoted the way either dialect quotes it. */
const statement = (verb: string, table: string) => new RegExp(`${verb} [\`"]${table}[\`"]`)

async function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server)).once('error', reject)
  })
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server) return
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
}

describe('toResponse', () => {
  it('sends a PK as its pk, a PKList as its pks, a Date as its ISO string, through arrays and objects', () => {
    const data = {
      id: 3,
      author: new PkOnlyModel('default', 'user', 7),
      voters: new PkOnlyList('default', 'user', [1, 'b']),
      at: new Date('2026-03-04T05:06:07.089Z'),
      never: new Date(NaN),
      nested: [{ owner: new PkOnlyModel('default', 'user', 'x') }],
      plain: { a: null, b: 'text' },
    }
    expect(toResponse(data)).to.deep.equal({
      id: 3,
      author: 7,
      voters: [1, 'b'],
      at: '2026-03-04T05:06:07.089Z',
      never: null,
      nested: [{ owner: 'x' }],
      plain: { a: null, b: 'text' },
    })
  })
})

for (const db of testDatabases()) {
  describe(`cachedRouter (${db.dialect}, Redis)`, () => {
    let poll: Poll
    let cache: PollCache
    let server: Server | undefined
    let base: string
    let prefix: string
    let Tags: typeof Tag

    /** A request to the app, with the SQL statements it ran: the write hooks have run when the response is sent. */
    async function request(method: string, path: string, body?: unknown): Promise<Answer> {
      poll.queries.length = 0
      // A string body is sent as it is: malformed JSON.
      const init: RequestInit =
        body === undefined ? { method } : { method, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      const response = await fetch(base + path, init)
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text), queries: [...poll.queries] }
    }

    /** Empties the cache: the next reads are cold. */
    async function coldCache(): Promise<void> {
      await deleteEntries(prefix)
    }

    beforeEach(async () => {
      prefix = configureBackend('redis')
      poll = openPoll(db)
      await seedPoll(poll)
      // A class per test: init() again would drop the hooks registerModels() installed.
      Tags = class extends Tag {}
      Tags.init(
        { name: { type: DataTypes.STRING, primaryKey: true }, label: { type: DataTypes.STRING, allowNull: false } },
        { sequelize: poll.sequelize, modelName: 'Tag', timestamps: false },
      )
      await Tags.sync({ force: true })
      await Tags.create({ name: 'drinks', label: 'Drinks' })
      // The seed gives explicit ids: PostgreSQL's sequence has not moved past them.
      if (db.dialect === 'postgres') await poll.sequelize.query(`SELECT setval(pg_get_serial_sequence('"Questions"', 'id'), (SELECT MAX(id) FROM "Questions"))`)
      // Missing rows are remembered for a minute: a second 404 costs no query either.
      cache = new PollCache(poll, { missingTtl: 60 })
      cache.register(Tags, { serializer: (tag: Tag) => ({ name: tag.name, label: tag.label }) })
      cache.registerModels([poll.User, poll.Question, poll.Choice, poll.Vote, Tags])
      const app = express()
      app.use('/questions', cachedRouter(cache, poll.Question, { writable: ['text', 'publishedAt', 'authorId'], pageSize: 2, maxPageSize: 3 }))
      app.use('/users', cachedRouter(cache, poll.User, { findOptions: { order: [['username', 'DESC']] } }))
      app.use('/tags', cachedRouter(cache, Tags, { writable: true }))
      server = await listen(app)
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      poll.queries.length = 0
    })

    afterEach(async () => {
      await stop(server)
      server = undefined
      await poll.sequelize.close()
    })

    describe('GET /', () => {
      it('reads a page with one SQL query when its rows are cached', async () => {
        const cold = await request('GET', '/questions')
        expect(cold.status).to.equal(200)
        // The page's pks, then the rows the cache lacks in one batch.
        expect(cold.queries).to.have.length(2)
        const warm = await request('GET', '/questions')
        expect(warm.queries).to.have.length(1)
        expect(warm.queries[0]).to.match(statement('FROM', 'Questions'))
        for (const answer of [cold, warm]) {
          expect(answer.body.items.map((item: { choices: number[] }) => ({ ...item, choices: [...item.choices].sort() }))).to.deep.equal([QUESTION_1])
          expect(answer.body).to.include({ offset: 0, limit: 2, next: null })
        }
      })

      it('pages by offset and limit in primary key order, with a link to the next page', async () => {
        await request('GET', '/questions/1')
        await poll.Question.bulkCreate([2, 3, 4, 5].map(id => ({ id, text: `Q${id}`, publishedAt: new Date(), authorId: 2 })))
        const pages: number[][] = []
        let next: string | null = '/questions'
        while (next) {
          const answer = await request('GET', next)
          expect(answer.status).to.equal(200)
          // bulkCreate's hooks cached the new rows: every page is warm.
          expect(answer.queries).to.have.length(1)
          pages.push(answer.body.items.map((item: { id: number }) => item.id))
          next = answer.body.next
        }
        expect(pages).to.deep.equal([[1, 2], [3, 4], [5]])
        expect((await request('GET', '/questions?offset=1&limit=2')).body).to.deep.include({ offset: 1, limit: 2, next: '/questions?offset=3&limit=2' })
        // Larger than maxPageSize: lowered to it.
        const capped = await request('GET', '/questions?limit=1000')
        expect(capped.body.items.map((item: { id: number }) => item.id)).to.deep.equal([1, 2, 3])
        expect(capped.body).to.include({ limit: 3, next: '/questions?offset=3&limit=3' })
        expect((await request('GET', '/questions?offset=5')).body).to.deep.equal({ items: [], offset: 5, limit: 2, next: null })
      })

      it('answers 400 for a malformed offset or limit, without a query', async () => {
        for (const query of ['limit=0', 'limit=-1', 'limit=2.5', 'offset=-1', 'offset=x', 'limit=1&limit=2']) {
          const answer = await request('GET', `/questions?${query}`)
          expect(answer.status, query).to.equal(400)
          expect(answer.body.error, query).to.match(/^(offset|limit) must be a whole number >= [01]$/)
          expect(answer.queries, query).to.deep.equal([])
        }
      })

      it('follows the order given, ending it with the primary key', async () => {
        await poll.User.create({ id: 3, username: 'bob' })
        const answer = await request('GET', '/users')
        expect(answer.body.items.map((user: { id: number }) => user.id)).to.deep.equal([2, 3, 1])
      })
    })

    describe('GET /:pk', () => {
      it('reads a row with one SQL query cold, none warm', async () => {
        const cold = await request('GET', '/users/2')
        expect(cold.status).to.equal(200)
        expect(cold.queries).to.have.length(1)
        const warm = await request('GET', '/users/2')
        expect(warm.queries).to.deep.equal([])
        // A PKList is sent as its pks.
        for (const answer of [cold, warm]) expect(answer.body).to.deep.equal({ id: 2, username: 'bob', votes: [1] })
      })

      it('answers 404 for a missing pk, again on a second request', async () => {
        const first = await request('GET', '/questions/999')
        expect(first.status).to.equal(404)
        expect(first.body).to.deep.equal({ error: 'not found' })
        expect(first.queries).to.have.length(1)
        const second = await request('GET', '/questions/999')
        expect(second.status).to.equal(404)
        expect(second.body).to.deep.equal({ error: 'not found' })
        // Remembered as missing (missingTtl).
        expect(second.queries).to.deep.equal([])
      })

      it('answers 400 for a malformed pk, without a query', async () => {
        for (const pk of ['abc', '1.5', '1e3', '%20', '99999999999999999999']) {
          const answer = await request('GET', `/questions/${pk}`)
          expect(answer.status, pk).to.equal(400)
          expect(answer.body, pk).to.deep.equal({ error: 'malformed pk' })
          expect(answer.queries, pk).to.deep.equal([])
        }
      })

      it('reads the key as the row holds it: /questions/01 is question 1, from the same entry', async () => {
        await request('GET', '/questions/1')
        const answer = await request('GET', '/questions/01')
        expect(answer.body.id).to.equal(1)
        expect(answer.queries).to.deep.equal([])
      })

      it('serves a string primary key with the default loaders of a registered model', async () => {
        const cold = await request('GET', '/tags/drinks')
        expect(cold).to.deep.include({ status: 200, body: { name: 'drinks', label: 'Drinks' } })
        expect(cold.queries).to.have.length(1)
        expect((await request('GET', '/tags/drinks')).queries).to.deep.equal([])
        expect((await request('GET', '/tags/food')).status).to.equal(404)
      })
    })

    describe('writes', () => {
      it('POST creates through Sequelize and answers 201 with the cached representation', async () => {
        await request('GET', '/questions/1')
        const created = await request('POST', '/questions', { text: 'Milk?', publishedAt: '2026-05-06T07:08:09.000Z', authorId: 2, id: 77 })
        expect(created.status).to.equal(201)
        expect(created.queries.some(sql => statement('INSERT INTO', 'Questions').test(sql))).to.equal(true)
        // id is not writable: the database chose it.
        const { id } = created.body
        expect(id).to.be.a('number').and.not.equal(77)
        expect(created.body).to.deep.equal({ id, text: 'Milk?', publishedAt: '2026-05-06T07:08:09.000Z', author: 2, choices: [] })
        expect(created.headers.get('location')).to.equal(`/questions/${id}`)
        // The hooks cached it after the commit.
        const read = await request('GET', `/questions/${id}`)
        expect(read).to.deep.include({ status: 200, body: created.body, queries: [] })
        const list = await request('GET', '/questions')
        expect(list.queries).to.have.length(1)
        expect(list.body.items.map((item: { id: number }) => item.id)).to.deep.equal([1, id])
      })

      it('POST makes a pk remembered as missing found', async () => {
        expect((await request('GET', '/tags/food')).status).to.equal(404)
        const created = await request('POST', '/tags', { name: 'food', label: 'Food' })
        expect(created).to.deep.include({ status: 201, body: { name: 'food', label: 'Food' } })
        expect(await request('GET', '/tags/food')).to.deep.include({ status: 200, body: { name: 'food', label: 'Food' }, queries: [] })
      })

      it('PATCH updates through Sequelize: the next GET shows the new value with no SQL query', async () => {
        await request('GET', '/questions/1')
        const patched = await request('PATCH', '/questions/1', { text: 'Tea?', choices: [9] })
        expect(patched.status).to.equal(200)
        expect(patched.queries.some(sql => statement('UPDATE', 'Questions').test(sql))).to.equal(true)
        // choices is not writable: left as it is.
        expect(patched.body).to.include({ id: 1, text: 'Tea?' })
        expect(patched.body.choices).to.have.members([1, 2])
        const read = await request('GET', '/questions/1')
        expect(read).to.deep.include({ status: 200, body: patched.body, queries: [] })
        expect((await poll.Question.findByPk(1))!.text).to.equal('Tea?')
      })

      it('PATCH answers 404 for a missing pk, 400 for a malformed one or body', async () => {
        expect(await request('PATCH', '/questions/999', { text: 'x' })).to.deep.include({ status: 404, body: { error: 'not found' } })
        expect(await request('PATCH', '/questions/x', { text: 'x' })).to.deep.include({ status: 400, body: { error: 'malformed pk' } })
        expect(await request('PATCH', '/questions/1', [1])).to.deep.include({ status: 400, body: { error: 'the body must be a JSON object' } })
        const malformed = await request('PATCH', '/questions/1', '{"text": ')
        expect(malformed.status).to.equal(400)
        expect(malformed.body.error).to.be.a('string')
      })

      it('answers 400 with the messages of a failed validation, and writes nothing', async () => {
        const wrongTypes = await request('PATCH', '/questions/1', { text: { a: 1 }, authorId: 'two', publishedAt: 'yesterday' })
        expect(wrongTypes.status).to.equal(400)
        expect(wrongTypes.body.error).to.equal('validation failed')
        expect(wrongTypes.body.messages).to.have.length(3)
        expect(wrongTypes.body.messages[0]).to.match(/^text: /)
        expect(wrongTypes.queries).to.deep.equal([])
        // Sequelize's own validation (allowNull: false) answers the same way.
        const missingLabel = await request('POST', '/tags', { name: 'nolabel' })
        expect(missingLabel.status).to.equal(400)
        expect(missingLabel.body).to.deep.equal({ error: 'validation failed', messages: ['Tag.label cannot be null'] })
        // A primary key the database does not make must be given.
        const missingName = await request('POST', '/tags', { label: 'No name' })
        expect(missingName).to.deep.include({ status: 400, body: { error: 'validation failed', messages: ['name is required'] }, queries: [] })
        expect((await request('GET', '/questions/1')).body.text).to.equal('Tea or coffee?')
      })

      it('answers 409 for a duplicate primary key', async () => {
        const duplicate = await request('POST', '/tags', { name: 'drinks', label: 'Again' })
        expect(duplicate.status).to.equal(409)
        expect(duplicate.body.error).to.equal('conflict')
      })

      it('DELETE destroys through Sequelize: 204, then 404 and out of the list', async () => {
        await request('GET', '/questions/1')
        const deleted = await request('DELETE', '/questions/1')
        expect(deleted.status).to.equal(204)
        expect(deleted.body).to.equal(undefined)
        expect((await request('GET', '/questions/1')).status).to.equal(404)
        expect((await request('GET', '/questions')).body.items).to.deep.equal([])
        expect((await request('DELETE', '/questions/1')).status).to.equal(404)
      })

      it('refuses writes on a read-only router with 405', async () => {
        const answer = await request('POST', '/users', { username: 'eve' })
        expect(answer).to.deep.include({ status: 405, body: { error: 'method not allowed' } })
        expect(answer.headers.get('allow')).to.equal('GET, HEAD')
        expect((await request('DELETE', '/users/1')).status).to.equal(405)
        expect(await poll.User.count()).to.equal(2)
      })
    })

    it('keeps serving from SQL when the cache store is unreachable', async () => {
      const broken = new PollCache(poll, { redis: 'redis://127.0.0.1:1', timeout: 0.2, onError: () => {} })
      const app = express()
      app.use('/questions', cachedRouter(broken, poll.Question))
      const other = await listen(app)
      try {
        for (let i = 0; i < 2; i++) {
          const answer = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/questions/1`)
          expect(answer.status).to.equal(200)
          expect(((await answer.json()) as { text: string }).text).to.equal('Tea or coffee?')
        }
      } finally {
        await stop(other)
        await broken.close()
      }
    })

    it('starts cold again when the cache is emptied', async () => {
      await request('GET', '/questions/1')
      await coldCache()
      expect((await request('GET', '/questions/1')).queries).to.have.length(1)
    })
  })
}

describe('cachedRouter options', () => {
  const poll = () => openPoll(testDatabases()[0])

  it('refuses unknown options, a composite key, bad page sizes and unknown writable attributes', async () => {
    const { sequelize, Question, Vote } = poll()
    const cache = new PollCache({ Question } as Poll)
    const refuses = (make: () => unknown, message: RegExp) => expect(make).to.throw(CachemeError, message)
    refuses(() => cachedRouter(cache, Question, { pagesize: 3 } as never), /unknown option 'pagesize'/)
    refuses(() => cachedRouter(cache, Question, { pageSize: 0 }), /pageSize must be a whole number >= 1/)
    refuses(() => cachedRouter(cache, Question, { pageSize: 200 }), /pageSize 200 is larger than maxPageSize 100/)
    refuses(() => cachedRouter(cache, Question, { writable: ['txt'] as never }), /Question has no attribute txt/)
    refuses(() => cachedRouter(cache, Question, { version: 'v2' }), /unknown version "v2"/)
    refuses(() => cachedRouter(cache, Vote), /exactly one primary key/)
    await sequelize.close()
  })
})
