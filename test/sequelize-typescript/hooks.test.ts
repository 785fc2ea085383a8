import { expect } from 'chai'
import { cacheme, registerInvalidModels, type Container } from '../../src'
import { configureBackend } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { Author, Book, BookReader, Reader, openLibrary, type Library } from './models'

interface BookCall extends Container<LibrarySerializer> {
  book: Book
}
interface AuthorCall extends Container<LibrarySerializer> {
  author: Author
}
interface ReaderCall extends Container<LibrarySerializer> {
  reader: Reader
}

/**
 * Decorated when this module loads, before any Sequelize instance has added the models it names:
 * the hooks are installed once one does.
 */
class LibrarySerializer {
  computed: string[] = []

  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>author`,
    invalidKeys: c => [`Book:${c.book.id}`, `Author:${c.book.authorId}`],
    invalidModels: [Author, Book],
  })
  async authorName(book: Book): Promise<string> {
    this.computed.push(`author of ${book.id}`)
    return (await Author.findByPk(book.authorId, { rejectOnEmpty: true })).name
  }

  @cacheme<AuthorCall>({
    key: c => `Author:${c.author.id}>titles`,
    invalidKeys: c => `Author:${c.author.id}:books`,
    invalidModels: [Book],
  })
  async titles(author: Author): Promise<string[]> {
    this.computed.push(`titles of ${author.id}`)
    return (await author.$get('books', { order: [['id', 'ASC']] })).map(book => book.title)
  }

  @cacheme<BookCall>({
    key: c => `Book:${c.book.id}>readers`,
    invalidKeys: c => [`Book:${c.book.id}:readers`, (c.result as string[]).map(name => `Reader:name:${name}`)],
    invalidM2MModels: [BookReader],
  })
  async readers(book: Book): Promise<string[]> {
    this.computed.push(`readers of ${book.id}`)
    return (await book.$get('readers', { order: [['id', 'ASC']] })).map(reader => reader.name)
  }

  @cacheme<ReaderCall>({
    key: c => `Reader:${c.reader.id}>books`,
    invalidKeys: c => `Reader:${c.reader.id}:books`,
    invalidM2MModels: [BookReader],
  })
  async readingList(reader: Reader): Promise<number[]> {
    this.computed.push(`books of reader ${reader.id}`)
    return (await reader.$get('books', { order: [['id', 'ASC']] })).map(book => book.id)
  }
}

/** How many of the model's hooks of this kind cacheme installed. */
function cachemeHooks(model: object, hook: string): number {
  const hooks = (model as { options?: { hooks?: Record<string, { name?: string }[] | undefined> } }).options?.hooks
  return (hooks?.[hook] ?? []).filter(each => each.name === 'cacheme').length
}

for (const db of testDatabases()) {
  describe(`sequelize-typescript models on ${db.dialect}`, () => {
    let library: Library
    let serializer: LibrarySerializer

    beforeEach(async () => {
      configureBackend('redis')
      // Each suite adds the classes to a Sequelize of its own, which initializes them again.
      library = await openLibrary(db)
      serializer = new LibrarySerializer()
    })
    afterEach(() => library.sequelize.close())

    /** Runs `read` twice around `change`: what the second run computed again. */
    async function recomputedBy(change: () => Promise<unknown>, ...reads: (() => Promise<unknown>)[]): Promise<string[]> {
      for (const read of reads) await read()
      serializer.computed = []
      await change()
      for (const read of reads) await read()
      return serializer.computed
    }

    const book = (id: number) => Book.findByPk(id, { rejectOnEmpty: true })
    const author = (id: number) => Author.findByPk(id, { rejectOnEmpty: true })
    const reader = (id: number) => Reader.findByPk(id, { rejectOnEmpty: true })

    it('installs the hooks of models named before a Sequelize added them, once, and again after each initialization', async () => {
      for (const model of [Author, Book, BookReader]) expect(cachemeHooks(model, 'afterUpdate'), model.name).to.equal(1)
      registerInvalidModels([Author, Book])
      expect(cachemeHooks(Book, 'afterBulkDestroy')).to.equal(1)
      expect(serializer.computed).to.deep.equal([])
    })

    it('serves a cached method from the cache until the row behind it is saved', async () => {
      const first = await book(1)
      expect(await serializer.authorName(first)).to.equal('Ursula Le Guin')
      expect(await serializer.authorName(await book(1))).to.equal('Ursula Le Guin')
      expect(serializer.computed).to.deep.equal(['author of 1'])
      const le = await author(1)
      le.name = 'Ursula K. Le Guin'
      await le.save()
      expect(await serializer.authorName(await book(1))).to.equal('Ursula K. Le Guin')
      expect(serializer.computed).to.deep.equal(['author of 1', 'author of 1'])
    })

    it('@BelongsTo: moving a book invalidates the lists of books of its author as it was and as it is', async () => {
      const titlesOf = (id: number) => async () => serializer.titles(await author(id))
      const moved = await recomputedBy(async () => (await book(2)).update({ authorId: 2 }), titlesOf(1), titlesOf(2))
      expect(moved).to.deep.equal(['titles of 1', 'titles of 2'])
      expect(await serializer.titles(await author(2))).to.deep.equal(['The Lathe of Heaven', 'Kindred'])
    })

    it("@HasMany: creating a book through its author invalidates the author's list and no other", async () => {
      const titlesOf = (id: number) => async () => serializer.titles(await author(id))
      const added = await recomputedBy(async () => (await author(2)).$create('book', { id: 4, title: 'Dawn' }), titlesOf(1), titlesOf(2))
      expect(added).to.deep.equal(['titles of 2'])
      expect(await serializer.titles(await author(2))).to.deep.equal(['Kindred', 'Dawn'])
    })

    it('Model.update and Model.destroy with a where invalidate the rows they touch', async () => {
      const titlesOf = (id: number) => async () => serializer.titles(await author(id))
      expect(await recomputedBy(() => Book.update({ title: 'renamed' }, { where: { authorId: 1 } }), titlesOf(1), titlesOf(2))).to.deep.equal(['titles of 1'])
      expect(await recomputedBy(() => Book.destroy({ where: { id: 3 } }), titlesOf(1), titlesOf(2))).to.deep.equal(['titles of 2'])
      expect(await serializer.titles(await author(2))).to.deep.equal([])
    })

    it('@BelongsToMany: $add, $remove and $set through the link model clear the keys its m2mCacheKeys names on both sides', async () => {
      const readersOf = (id: number) => async () => serializer.readers(await book(id))
      const listOf = (id: number) => async () => serializer.readingList(await reader(id))
      expect(await recomputedBy(async () => (await book(2)).$add('readers', await reader(2)), readersOf(1), readersOf(2), listOf(1), listOf(2))).to.deep.equal([
        'readers of 2',
        'books of reader 2',
      ])
      expect(await serializer.readers(await book(2))).to.deep.equal(['bob'])
      expect(await recomputedBy(async () => (await reader(1)).$remove('books', await book(3)), readersOf(3), listOf(1), listOf(2))).to.deep.equal([
        'readers of 3',
        'books of reader 1',
      ])
      expect(await serializer.readingList(await reader(1))).to.deep.equal([1])
      const set = await recomputedBy(async () => (await book(1)).$set('readers', [await reader(2)]), readersOf(1), listOf(1), listOf(2))
      expect(set).to.have.members(['readers of 1', 'books of reader 1', 'books of reader 2'])
      expect(await serializer.readers(await book(1))).to.deep.equal(['bob'])
    })

    it('invalidates when a transaction commits, and not at all when it rolls back', async () => {
      const first = await book(1)
      await serializer.authorName(first)
      await library.sequelize
        .transaction(async transaction => {
          await (await author(1)).update({ name: 'nobody' }, { transaction })
          throw new Error('rolled back')
        })
        .catch(() => undefined)
      await library.sequelize.transaction(async transaction => {
        await (await author(1)).update({ name: 'U. K. Le Guin' }, { transaction })
        expect(await serializer.authorName(first), 'before the commit').to.equal('Ursula Le Guin')
      })
      expect(await serializer.authorName(first)).to.equal('U. K. Le Guin')
    })
  })
}
