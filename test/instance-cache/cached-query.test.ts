import { expect } from 'chai'
import sinon from 'sinon'
import { DataTypes, Model, Op } from 'sequelize'
import { CachemeError, PkOnlyList, PkOnlyModel, type Pk } from '../../src'
import { CachedModel, type CachedRow } from '../../src/instance-cache/cached-model'
import { CachedQuery } from '../../src/instance-cache/cached-query'
import { BACKENDS, configureBackend, countsCommands, redisClient } from '../support/backends'
import { createSequelize, testDatabases } from '../support/fixtures'
import { openPoll, PollCache, seedPoll, type Poll, type Question } from './poll'

interface QuestionData {
  id: number
  text: string
  publishedAt: Date | null
  author: PkOnlyModel | null
  choices: PkOnlyList | null
}

async function rejection(promise: Promise<unknown>): Promise<CachemeError> {
  try {
    await promise
  } catch (error) {
    expect(error).to.be.instanceOf(CachemeError)
    return error as CachemeError
  }
  throw new Error('expected a CachemeError')
}

const texts = (rows: readonly CachedRow<QuestionData>[]) => rows.map(row => row.text)
const pksOf = (rows: readonly CachedModel[]) => rows.map(row => row.pk)

describe('CachedModel', () => {
  const data = { id: 7, username: 'frank', joined: new Date('2026-01-02T03:04:05.678Z') }

  it('reads data fields as properties', () => {
    const row = new CachedModel('User', data) as CachedRow<typeof data>
    expect(row.username).to.equal('frank')
    expect(row.joined).to.be.instanceOf(Date)
    expect(row.joined.toISOString()).to.equal('2026-01-02T03:04:05.678Z')
  })

  it('reads an unknown field as undefined, not as a field', () => {
    const row = new CachedModel<Record<string, unknown>>('User', data) as CachedRow
    expect(row.email).to.equal(undefined)
    expect('email' in row).to.equal(false)
  })

  it("aliases pk to 'id' by default, to the given attribute, or to the Sequelize model's primary key", () => {
    const sequelize = createSequelize(testDatabases()[0])
    class Tag extends Model {}
    Tag.init({ code: { type: DataTypes.STRING, primaryKey: true }, label: DataTypes.STRING }, { sequelize, modelName: 'Tag' })
    expect(new CachedModel('User', data).pk).to.equal(7)
    expect(new CachedModel('Tag', { code: 'ts', label: 'TypeScript' }, 'code').pk).to.equal('ts')
    expect(new CachedModel(Tag, { code: 'ts', label: 'TypeScript' }).pk).to.equal('ts')
    expect(new CachedModel(Tag, { code: 'ts' }).model).to.equal(Tag)
    expect(new CachedModel('User', data).model).to.equal('User')
  })

  it('gives its data to JSON.stringify', () => {
    const row = new CachedModel('User', data)
    expect(row.toJSON()).to.deep.equal(data)
    expect(JSON.parse(JSON.stringify(row))).to.deep.equal({ id: 7, username: 'frank', joined: '2026-01-02T03:04:05.678Z' })
  })

  it('spreads into its data fields only', () => {
    const row = new CachedModel('User', data)
    expect(Object.keys(row)).to.deep.equal(['id', 'username', 'joined'])
    expect({ ...row }).to.deep.equal(data)
  })

  it('keeps pk, model and toJSON when the data has fields of those names, which toJSON() still gives', () => {
    const row = new CachedModel('Car', { id: 3, pk: 'other', model: 'T', toJSON: 'x', make: 'Ford' })
    expect(row.pk).to.equal(3)
    expect(row.model).to.equal('Car')
    expect(JSON.parse(JSON.stringify(row))).to.deep.equal({ id: 3, pk: 'other', model: 'T', toJSON: 'x', make: 'Ford' })
    expect(Object.keys(row)).to.deep.equal(['id', 'make'])
  })

  it('keeps a "__proto__" field a field', () => {
    const row = new CachedModel('User', JSON.parse('{"id": 1, "__proto__": {"polluted": true}}') as Record<string, unknown>) as CachedRow
    expect(Object.getPrototypeOf(row)).to.equal(CachedModel.prototype)
    expect(row.polluted).to.equal(undefined)
    expect(Object.keys(row)).to.deep.equal(['id', '__proto__'])
  })

  it('is a read-only snapshot of its data', () => {
    const given = { ...data }
    const row = new CachedModel('User', given) as CachedRow<typeof data>
    expect(() => ((row as any).username = 'bob')).to.throw(TypeError)
    row.toJSON().username = 'bob'
    given.id = 8
    expect(row.username).to.equal('frank')
    expect(row.pk).to.equal(7)
    expect(row.toJSON()).to.deep.equal(data)
  })

  it('refuses data that is not an object', () => {
    for (const bad of [null, 'x', 3, [1]]) expect(() => new CachedModel('User', bad as any)).to.throw(CachemeError, 'CachedModel takes the data of a row as an object')
  })
})

for (const db of testDatabases()) {
  for (const backend of BACKENDS) {
    describe(`CachedQuery on ${db.dialect} with the ${backend} store`, () => {
      let poll: Poll
      let cache: PollCache

      // A poll per test: the hooks registerModels() installs stay on its models.
      beforeEach(async () => {
        configureBackend(backend)
        poll = openPoll(db)
        poll.Question.addScope('byAnn', { where: { authorId: 1 } })
        await seedPoll(poll)
        // Published in an order that is not the pk order: newest first gives 2, 4, 5, 1, 3.
        await poll.Question.bulkCreate([
          { id: 2, text: 'Cats or dogs?', publishedAt: new Date('2026-01-05T00:00:00Z'), authorId: 2 },
          { id: 3, text: 'Sea or mountains?', publishedAt: new Date('2026-01-01T00:00:00Z'), authorId: 1 },
          { id: 4, text: 'Early or late?', publishedAt: new Date('2026-01-04T00:00:00Z'), authorId: 2 },
          { id: 5, text: 'Sweet or salty?', publishedAt: new Date('2026-01-03T00:00:00Z'), authorId: 1 },
        ])
        cache = new PollCache(poll)
        cache.registerModels([poll.User, poll.Question, poll.Choice, poll.Vote])
        poll.queries.length = 0
      })
      afterEach(async () => {
        sinon.restore()
        await poll.sequelize.close()
      })

      const newest = () => new CachedQuery<QuestionData>(cache, poll.Question, { order: [['publishedAt', 'DESC']] })

      /** The names of the Redis commands sent from now on (none on the memory store). */
      function redisCommands(): () => string[] {
        const spy = sinon.spy(redisClient(), 'sendCommand')
        return () => spy.getCalls().map(call => (call.args[0] as unknown as { name: string }).name)
      }

      /** Reads every question into the cache, then forgets the SQL run. */
      async function warm(): Promise<void> {
        await cache.getInstances([1, 2, 3, 4, 5].map(pk => ['Question', pk] as const))
        poll.queries.length = 0
      }

      describe('iteration', () => {
        it('gives the rows in query order, typed fields decoded', async () => {
          const rows = await newest().toArray()
          expect(pksOf(rows)).to.deep.equal([2, 4, 5, 1, 3])
          expect(rows[0]).to.be.instanceOf(CachedModel)
          expect(texts(rows)).to.deep.equal(['Cats or dogs?', 'Early or late?', 'Sweet or salty?', 'Tea or coffee?', 'Sea or mountains?'])
          const tea = rows[3]
          expect(tea.publishedAt).to.be.instanceOf(Date)
          expect(tea.publishedAt!.toISOString()).to.equal('2026-01-02T03:04:05.678Z')
          expect(tea.author).to.deep.equal(new PkOnlyModel('default', 'user', 1))
          expect(tea.choices!.pks).to.have.members([1, 2])
          expect(tea.model).to.equal(poll.Question)
        })

        it('iterates with for await in the same order', async () => {
          const seen: Pk[] = []
          for await (const row of newest()) seen.push(row.pk)
          expect(seen).to.deep.equal([2, 4, 5, 1, 3])
        })

        it('reads a warm list with one SQL query (the pks) and one Redis MGET', async () => {
          await warm()
          const commands = redisCommands()
          const rows = await newest().toArray()
          expect(pksOf(rows)).to.deep.equal([2, 4, 5, 1, 3])
          expect(poll.queries).to.have.length(1)
          expect(poll.queries[0]).to.match(/SELECT .*id.* FROM .*Questions.* ORDER BY/)
          if (countsCommands(backend)) expect(commands()).to.deep.equal(['mget'])
        })

        it('reads a cold list with the pk query and one batch query for the misses', async () => {
          const commands = redisCommands()
          const rows = await newest().toArray()
          expect(pksOf(rows)).to.deep.equal([2, 4, 5, 1, 3])
          expect(poll.queries).to.have.length(2)
          expect(poll.queries[1]).to.match(/ IN \(/)
          // One MGET, then one script call writing the five rows.
          if (countsCommands(backend)) expect(commands().map(name => name.replace(/^evalsha$/, 'eval'))).to.deep.equal(['mget', 'eval'])
          poll.queries.length = 0
          await newest().toArray()
          expect(poll.queries).to.have.length(1)
        })

        it('iterates a query twice with one pk query', async () => {
          const query = newest()
          await query.toArray()
          poll.queries.length = 0
          const seen: Pk[] = []
          for await (const row of query) seen.push(row.pk)
          expect(seen).to.deep.equal([2, 4, 5, 1, 3])
          expect(poll.queries).to.deep.equal([])
        })

        it('gives nothing for a query that selects nothing, without reading the cache', async () => {
          const commands = redisCommands()
          const query = new CachedQuery(cache, poll.Question, { where: { authorId: 99 } })
          expect(await query.toArray()).to.deep.equal([])
          if (backend === 'redis') expect(commands()).to.deep.equal([])
        })

        it('skips a row deleted after its pk was read', async () => {
          await warm()
          const query = new CachedQuery(cache, poll.Choice, { order: [['id', 'ASC']] })
          expect(await query.pks()).to.deep.equal([1, 2])
          await cache.getInstances([
            ['Choice', 1],
            ['Choice', 2],
          ])
          await (await poll.Choice.findByPk(1))!.destroy()
          expect(await poll.Choice.findByPk(1)).to.equal(null)
          expect([...(await cache.getInstances([['Choice', 1]])).keys()]).to.deep.equal([])

          expect(pksOf(await query.toArray())).to.deep.equal([2])
          const seen: Pk[] = []
          for await (const row of query) seen.push(row.pk)
          expect(seen).to.deep.equal([2])
        })

        it('skips a soft-deleted row of a paranoid model', async () => {
          const query = newest()
          await query.pks()
          await (await poll.Question.findByPk(4))!.destroy()
          expect(pksOf(await query.toArray())).to.deep.equal([2, 5, 1, 3])
        })

        it('reads the version it was given', async () => {
          class ShortCache extends PollCache {
            override versions = ['default', 'short']
            question_short_serializer(question: Question) {
              return { id: question.id, text: question.text.toUpperCase() }
            }
            question_short_loader(pk: number) {
              return this.poll.Question.findByPk(pk)
            }
          }
          const short = new ShortCache(poll)
          const rows = await new CachedQuery<QuestionData>(short, poll.Question, { where: { id: 1 } }, 'short').toArray()
          expect(rows.map(row => row.toJSON())).to.deep.equal([{ id: 1, text: 'TEA OR COFFEE?' }])
          expect(texts(await new CachedQuery<QuestionData>(short, poll.Question, { where: { id: 1 } }).toArray())).to.deep.equal(['Tea or coffee?'])
        })
      })

      describe('pks()', () => {
        it('runs one SQL query and remembers it, also for calls made at once', async () => {
          const query = newest()
          const [first, second] = await Promise.all([query.pks(), query.pks()])
          expect(first).to.deep.equal([2, 4, 5, 1, 3])
          expect(second).to.deep.equal(first)
          expect(await query.pks()).to.deep.equal(first)
          expect(poll.queries).to.have.length(1)
        })

        it('lists a row once when an include joins it several times', async () => {
          const query = new CachedQuery(cache, poll.Question, { include: [{ association: 'choices', required: true }], order: [['id', 'ASC']] })
          expect(await query.pks()).to.deep.equal([1])
        })

        it('gives a copy of the pks, which the query does not share', async () => {
          const query = newest()
          ;(await query.pks()).reverse()
          expect(await query.pks()).to.deep.equal([2, 4, 5, 1, 3])
          expect(pksOf(await query.toArray())).to.deep.equal([2, 4, 5, 1, 3])
        })

        it('tries again after a failed query', async () => {
          const query = newest()
          const findAll = sinon.stub(poll.Question, 'findAll').rejects(new Error('connection lost'))
          try {
            await query.pks()
            expect.fail('pks() should have failed')
          } catch (error) {
            expect((error as Error).message).to.equal('connection lost')
          }
          findAll.restore()
          expect(await query.pks()).to.deep.equal([2, 4, 5, 1, 3])
        })
      })

      describe('count()', () => {
        it('runs one COUNT query with the where, and does not remember pks', async () => {
          const query = new CachedQuery(cache, poll.Question, { where: { authorId: 1 }, order: [['publishedAt', 'DESC']] })
          expect(await query.count()).to.equal(3)
          expect(poll.queries).to.have.length(1)
          expect(poll.queries[0]).to.match(/count\(/i)
          expect(await query.pks()).to.deep.equal([5, 1, 3])
          expect(poll.queries).to.have.length(2)
        })

        it('counts the remembered pks without SQL', async () => {
          const query = newest()
          await query.pks()
          poll.queries.length = 0
          expect(await query.count()).to.equal(5)
          expect(poll.queries).to.deep.equal([])
        })

        it('counts a row joined several times by an include once', async () => {
          const query = new CachedQuery(cache, poll.Question, { include: [{ association: 'choices', required: true }] })
          expect(await query.count()).to.equal(1)
        })

        it('counts the rows of a scope', async () => {
          expect(await new CachedQuery(cache, poll.Question.scope('byAnn')).count()).to.equal(3)
        })
      })

      describe('slice()', () => {
        it('slices remembered pks without SQL', async () => {
          await warm()
          const query = newest()
          await query.pks()
          poll.queries.length = 0
          const page = query.slice(1, 3)
          expect(await page.pks()).to.deep.equal([4, 5])
          expect(await page.count()).to.equal(2)
          expect(pksOf(await page.toArray())).to.deep.equal([4, 5])
          expect(poll.queries).to.deep.equal([])
        })

        it('runs nothing until used, then one pk query with LIMIT and OFFSET', async () => {
          const page = newest().slice(1, 3)
          expect(poll.queries).to.deep.equal([])
          expect(await page.count()).to.equal(2)
          expect(poll.queries).to.have.length(1)
          expect(poll.queries[0]).to.match(/LIMIT/)
          expect(poll.queries[0]).to.match(/OFFSET|LIMIT 1, 2/)
          expect(await page.pks()).to.deep.equal([4, 5])
          expect(texts(await page.toArray())).to.deep.equal(['Early or late?', 'Sweet or salty?'])
          expect(poll.queries.filter(sql => /FROM .Questions. AS .Question. .*ORDER BY/.test(sql))).to.have.length(1)
        })

        it('slices a slice within its window', async () => {
          expect(await newest().slice(1, 4).slice(1, 10).pks()).to.deep.equal([5, 1])
          expect(await newest().slice(1).slice(2).pks()).to.deep.equal([1, 3])
          const query = newest()
          await query.pks()
          expect(await query.slice(1, 4).slice(1, 10).pks()).to.deep.equal([5, 1])
        })

        it('gives an empty window without SQL', async () => {
          expect(await newest().slice(3, 3).toArray()).to.deep.equal([])
          expect(await newest().slice(4, 2).count()).to.equal(0)
          expect(poll.queries).to.deep.equal([])
        })

        it('refuses negative and fractional bounds', () => {
          expect(() => newest().slice(-1)).to.throw(CachemeError, 'CachedQuery.slice(): start must be an integer >= 0, got -1')
          expect(() => newest().slice(0, 1.5)).to.throw(CachemeError, 'CachedQuery.slice(): end must be an integer >= 0, got 1.5')
        })
      })

      describe('get()', () => {
        it('reads a row of the query', async () => {
          const row = await newest().get(4)
          expect(row.text).to.equal('Early or late?')
          expect(row.pk).to.equal(4)
        })

        it('needs no SQL when the pks are remembered and the row is cached', async () => {
          await warm()
          const query = newest()
          await query.pks()
          poll.queries.length = 0
          expect((await query.get(4)).text).to.equal('Early or late?')
          expect(poll.queries).to.deep.equal([])
        })

        it('checks the pk with one query, then reads the cache', async () => {
          await warm()
          const commands = redisCommands()
          expect((await newest().get(4)).text).to.equal('Early or late?')
          expect(poll.queries).to.have.length(1)
          expect(poll.queries[0]).to.match(/WHERE .*id.* = '?4'?/)
          if (countsCommands(backend)) expect(commands()).to.deep.equal(['mget'])
        })

        it('accepts the pk as a string, as it comes in a URL', async () => {
          expect((await newest().get('4')).pk).to.equal(4)
          const query = newest()
          await query.pks()
          expect((await query.get('4')).pk).to.equal(4)
        })

        it("refuses a row outside the query's where, although the row exists and is cached", async () => {
          await warm()
          const query = new CachedQuery(cache, poll.Question, { where: { authorId: 1 } })
          const error = await rejection(query.get(2))
          expect(error.code).to.equal('NOT_FOUND')
          expect(error.message).to.equal('CachedQuery.get(): no Question with pk 2 in this query')
          await query.pks()
          expect((await rejection(query.get(2))).code).to.equal('NOT_FOUND')
          expect((await query.get(1)).text).to.equal('Tea or coffee?')
        })

        it('honours the where combined with an operator where', async () => {
          const query = new CachedQuery(cache, poll.Question, { where: { [Op.or]: [{ authorId: 2 }, { id: 1 }] } })
          expect((await query.get(1)).pk).to.equal(1)
          expect((await rejection(query.get(3))).code).to.equal('NOT_FOUND')
        })

        it("honours the model's scope", async () => {
          await warm()
          const query = new CachedQuery(cache, poll.Question.scope('byAnn'))
          expect(await query.pks()).to.have.members([1, 3, 5])
          expect((await query.get(5)).text).to.equal('Sweet or salty?')
          expect((await rejection(new CachedQuery(cache, poll.Question.scope('byAnn')).get(2))).code).to.equal('NOT_FOUND')
          expect((await rejection(query.get(2))).code).to.equal('NOT_FOUND')
        })

        it('honours an include that filters', async () => {
          const withChoices = () => new CachedQuery(cache, poll.Question, { include: [{ association: 'choices', required: true }] })
          expect((await withChoices().get(1)).pk).to.equal(1)
          expect((await rejection(withChoices().get(2))).code).to.equal('NOT_FOUND')
        })

        it('honours a window', async () => {
          const page = newest().slice(0, 2)
          expect((await page.get(4)).pk).to.equal(4)
          expect((await rejection(newest().slice(0, 2).get(5))).code).to.equal('NOT_FOUND')
        })

        it('refuses a row that does not exist', async () => {
          const error = await rejection(newest().get(999))
          expect(error.code).to.equal('NOT_FOUND')
          expect(error.message).to.equal('CachedQuery.get(): no Question with pk 999 in this query')
          const query = newest()
          await query.pks()
          expect((await rejection(query.get(999))).code).to.equal('NOT_FOUND')
        })

        it('refuses a row deleted after the pks were read', async () => {
          const query = new CachedQuery(cache, poll.Choice)
          await query.pks()
          await (await poll.Choice.findByPk(2))!.destroy()
          const error = await rejection(query.get(2))
          expect(error.code).to.equal('NOT_FOUND')
          expect(error.message).to.equal('CachedQuery.get(): no Choice with pk 2 in this query')
        })

        it('refuses a pk that is not one', async () => {
          for (const bad of ['', NaN, null, undefined, {}]) expect((await rejection(newest().get(bad as any))).code).to.equal('INVALID_KEY')
          expect(poll.queries).to.deep.equal([])
        })
      })

      it('refuses a model without a single-column primary key', () => {
        expect(() => new CachedQuery(cache, poll.Vote)).to.throw(CachemeError, 'CachedQuery: Vote has a composite primary key')
      })
    })
  }
}
