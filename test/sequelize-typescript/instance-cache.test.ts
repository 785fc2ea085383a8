import { expect } from 'chai'
import { PkOnlyList, PkOnlyModel, cacheme, invalidate } from '../../src'
import { configureBackend } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { LibraryCache } from './library-cache'
import { Author, Book, openLibrary, type Library } from './models'

const [sqlite] = testDatabases()

describe('the instance cache over sequelize-typescript models (sqlite, Redis)', () => {
  let library: Library
  // One cache for the suite: its registration outlives each test, as an application's does.
  const cache = new LibraryCache()

  // Registered before the Sequelize instances of the tests add (and so initialize again) the classes.
  before(() => cache.registerModels([Author, Book]))

  beforeEach(async () => {
    configureBackend('redis')
    library = await openLibrary(sqlite)
    // The seed's writes went through the hooks, which cached their rows: start cold.
    await invalidate({ pattern: '*' })
  })
  afterEach(() => library.sequelize.close())

  /** The data of cached instances, and the SQL queries reading them took. */
  async function read(...specs: [string, number][]): Promise<{ data: Record<string, unknown>[]; queries: number }> {
    library.queries.length = 0
    const found = await cache.getInstances(specs)
    return { data: specs.map(([model, pk]) => found.get(`${model}:${pk}`)?.[0] ?? {}), queries: library.queries.length }
  }

  it('serves @Table rows from Redis with no SQL query once cached, related rows as their pks', async () => {
    const cold = await read(['Author', 1], ['Book', 3])
    expect(cold.queries).to.equal(2)
    expect(cold.data[0]).to.deep.equal({ id: 1, name: 'Ursula Le Guin', books: new PkOnlyList('default', 'book', [1, 2]) })
    expect(cold.data[1]).to.deep.equal({ id: 3, title: 'Kindred', author: new PkOnlyModel('default', 'author', 2) })
    const warm = await read(['Author', 1], ['Book', 3])
    expect(warm.queries).to.equal(0)
    expect(warm.data).to.deep.equal(cold.data)
  })

  it('refreshes a saved row after the commit, and cascades to the instances its invalidator names, as it was and as it is', async () => {
    await read(['Author', 1], ['Author', 2], ['Book', 2])
    const book = await Book.findByPk(2, { rejectOnEmpty: true })
    await book.update({ title: 'The Lathe of Heaven (1971)', authorId: 2 })
    const after = await read(['Author', 1], ['Author', 2], ['Book', 2])
    expect(after.queries).to.equal(0)
    expect(after.data.map(data => data.books)).to.deep.equal([new PkOnlyList('default', 'book', [1]), new PkOnlyList('default', 'book', [2, 3]), undefined])
    expect(after.data[2]).to.deep.include({ title: 'The Lathe of Heaven (1971)', author: new PkOnlyModel('default', 'author', 2) })
  })

  it("a book created through its author (@HasMany) appears in the author's cached instance; a destroyed one leaves it", async () => {
    await read(['Author', 2])
    const butler = await Author.findByPk(2, { rejectOnEmpty: true })
    await butler.$create('book', { id: 4, title: 'Dawn' })
    expect((await read(['Author', 2])).data[0].books).to.deep.equal(new PkOnlyList('default', 'book', [3, 4]))
    await Book.destroy({ where: { id: 3 } })
    const after = await read(['Author', 2], ['Book', 3])
    expect(after.data[0].books).to.deep.equal(new PkOnlyList('default', 'book', [4]))
    expect(after.data[1]).to.deep.equal({})
  })

  it('a memoized method that read instances is invalidated when one of them changes', async () => {
    let computed = 0
    const shelf = cacheme({ key: c => `Author:${c.pk}>shelf` })(async (pk: number) => {
      computed++
      const [author] = (await cache.getInstances([['Author', pk]])).values()
      const titles = await cache.getInstances((author[0].books as PkOnlyList).pks.map(id => ['Book', id] as const))
      return [...titles.values()].map(([data]) => data.title)
    })
    expect(await shelf(1)).to.deep.equal(['The Dispossessed', 'The Lathe of Heaven'])
    expect(await shelf(1)).to.deep.equal(['The Dispossessed', 'The Lathe of Heaven'])
    await (await Book.findByPk(1, { rejectOnEmpty: true })).update({ title: 'The Dispossessed: An Ambiguous Utopia' })
    expect(await shelf(1)).to.deep.equal(['The Dispossessed: An Ambiguous Utopia', 'The Lathe of Heaven'])
    expect(computed).to.equal(2)
  })

  it('queries a model with one SQL query for the pks and the rows from the cache', async () => {
    await read(['Book', 1], ['Book', 2])
    library.queries.length = 0
    const rows = await cache.query<{ title: string }>(Book, { where: { authorId: 1 }, order: [['title', 'DESC']] }).toArray()
    expect(rows.map(row => [row.pk, row.title])).to.deep.equal([
      [2, 'The Lathe of Heaven'],
      [1, 'The Dispossessed'],
    ])
    expect(library.queries).to.have.length(1)
  })
})
