import { expect } from 'chai'
import sinon from 'sinon'
import { createNamespace } from 'cls-hooked'
import { DataTypes, Model, Sequelize } from 'sequelize'
import { cacheme, registerInvalidModels } from '../../src'
import { configureBackend, deferred } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { openBookstore, seedBookstore, type Bookstore } from './models'
import { probes } from './probes'

for (const db of testDatabases()) {
  describe(`Sequelize hooks on ${db.dialect}`, function () {
    let store: Bookstore
    let watch: ReturnType<typeof probes>

    before(async () => {
      store = openBookstore(db)
      registerInvalidModels([store.User, store.Book, store.BookReader, store.Friendship])
    })
    after(() => store.sequelize.close())

    beforeEach(async () => {
      configureBackend('redis')
      watch = probes()
      await seedBookstore(store)
    })

    const expectInvalidated = (change: () => Promise<unknown>, expected: string[], watched: string[]) => watch.expectInvalidated(change, expected, watched)

    it('installs its hooks once per model, however often it is registered', () => {
      registerInvalidModels([store.User, store.User])
      cacheme({ key: () => 'k', invalidModels: [store.User] })(async () => 1)
      const hooks = (store.User as unknown as { options: { hooks: Record<string, { name?: string }[]> } }).options.hooks
      expect(hooks.afterUpdate.filter(hook => hook.name === 'cacheme')).to.have.length(1)
    })

    it('save / instance update invalidates the row and nothing else', async () => {
      const ann = await store.User.findByPk(1)
      await expectInvalidated(() => ann!.update({ name: 'ann2' }), ['User:1', 'User:list'], ['User:1', 'User:2', 'User:list'])
    })

    it('a save that changes a column the cache key depends on invalidates the keys as they were and as they are', async () => {
      const book = await store.Book.findByPk(1)
      await expectInvalidated(() => book!.update({ ownerId: 2 }), ['Book:1', 'User:1:books', 'User:2:books'], ['Book:1', 'User:1:books', 'User:2:books', 'User:3:books'])
    })

    it('takes the keys of a change inside a transaction when it is made, not when it commits', async () => {
      await watch.prime('User:1:books', 'User:2:books', 'User:3:books')
      const transaction = await store.sequelize.transaction()
      const book = await store.Book.findByPk(1, { transaction })
      await book!.update({ ownerId: 2 }, { transaction })
      book!.set('ownerId', 3) // changed again in memory, never saved
      await transaction.commit()
      expect(await watch.invalidated('User:1:books', 'User:2:books', 'User:3:books')).to.have.members(['User:1:books', 'User:2:books'])
    })

    it("create invalidates the new row's keys", async () => {
      await expectInvalidated(() => store.User.create({ id: 4, name: 'dee' }), ['User:list'], ['User:list', 'User:1'])
    })

    it('destroy and restore of an instance invalidate', async () => {
      const book = await store.Book.findByPk(1)
      await expectInvalidated(() => book!.destroy(), ['Book:1', 'User:1:books'], ['Book:1', 'Book:2', 'User:1:books'])
      await expectInvalidated(() => book!.restore(), ['Book:1', 'User:1:books'], ['Book:1', 'Book:2', 'User:1:books'])
    })

    it('upsert invalidates the row it wrote', async () => {
      await expectInvalidated(() => store.User.upsert({ id: 2, name: 'bob2' }), ['User:2', 'User:list'], ['User:1', 'User:2', 'User:list'])
    })

    it('bulkCreate invalidates the rows it created', async () => {
      await expectInvalidated(() => store.Book.bulkCreate([{ id: 10, title: 'x', ownerId: 3 }]), ['Book:10', 'User:3:books'], ['Book:10', 'User:3:books', 'User:1:books'])
    })

    it('Model.update with where invalidates exactly the matching rows, as they were and as they become', async () => {
      await expectInvalidated(
        () => store.Book.update({ ownerId: 3 }, { where: { ownerId: 2 } }),
        ['Book:2', 'Book:3', 'User:2:books', 'User:3:books'],
        ['Book:1', 'Book:2', 'Book:3', 'User:1:books', 'User:2:books', 'User:3:books'],
      )
    })

    it('Model.update with individualHooks invalidates through the per-row hooks', async () => {
      await expectInvalidated(() => store.User.update({ name: 'z' }, { where: { id: 3 }, individualHooks: true }), ['User:3', 'User:list'], ['User:1', 'User:3', 'User:list'])
    })

    it('looks no rows up for a bulk write while the cache is disabled', async () => {
      configureBackend('redis', { enabled: false })
      const lookups = sinon.spy(store.Book, 'unscoped')
      try {
        await store.Book.update({ title: 'x' }, { where: { id: 1 } })
        await store.Book.destroy({ where: { id: 2 } })
      } finally {
        lookups.restore()
      }
      expect(lookups.callCount).to.equal(0)
    })

    it('Model.destroy with where invalidates exactly the matching rows', async () => {
      await expectInvalidated(
        () => store.Book.destroy({ where: { id: [1, 3] } }),
        ['Book:1', 'Book:3', 'User:1:books', 'User:2:books'],
        ['Book:1', 'Book:2', 'Book:3', 'User:1:books', 'User:2:books'],
      )
    })

    it('Model.destroy with force invalidates rows that were already soft-deleted', async () => {
      await store.Book.destroy({ where: { id: 2 } })
      await expectInvalidated(() => store.Book.destroy({ where: { id: 2 }, force: true }), ['Book:2', 'User:2:books'], ['Book:1', 'Book:2', 'User:2:books'])
    })

    it('Model.restore with where invalidates the restored rows', async () => {
      await store.Book.destroy({ where: { id: 2 } })
      await expectInvalidated(() => store.Book.restore({ where: { id: 2 } }), ['Book:2', 'User:2:books'], ['Book:1', 'Book:2', 'User:2:books'])
    })

    it('belongsToMany add from either side invalidates the keys of both ends', async () => {
      const [book, ann] = [await store.Book.findByPk(1), await store.User.findByPk(1)]
      const watched = ['Book:1:readers', 'User:1:reading', 'Book:2:readers', 'User:2:reading']
      await expectInvalidated(() => (book as any).addReader(ann), ['Book:1:readers', 'User:1:reading'], watched)
      const bob = await store.User.findByPk(2)
      await expectInvalidated(() => (bob as any).addBook(2), ['Book:2:readers', 'User:2:reading'], watched)
    })

    it('belongsToMany remove and set invalidate the links they drop and add', async () => {
      const book = await store.Book.findByPk(1)
      await (book as any).setReaders([1, 2])
      const watched = ['Book:1:readers', 'User:1:reading', 'User:2:reading', 'User:3:reading']
      await expectInvalidated(() => (book as any).removeReader(2), ['Book:1:readers', 'User:2:reading'], watched)
      await expectInvalidated(() => (book as any).setReaders([3]), ['Book:1:readers', 'User:1:reading', 'User:3:reading'], watched)
    })

    it('a self-referential link invalidates both users', async () => {
      const ann = await store.User.findByPk(1)
      const watched = ['User:1:friends', 'User:2:friends', 'User:3:friends']
      await expectInvalidated(() => (ann as any).addFriend(2), ['User:1:friends', 'User:2:friends'], watched)
      await expectInvalidated(() => (ann as any).removeFriend(2), ['User:1:friends', 'User:2:friends'], watched)
    })

    it('lets dependents of a change be served stale for their grace, unless the model forbids it', async () => {
      const userName = cacheme({ key: c => `User:${c.id}>graced`, invalidKeys: c => `User:${c.id}`, grace: 60 })(async (id: number) => (await store.User.findByPk(id))!.name)
      await userName(1)
      await (await store.User.findByPk(1))!.update({ name: 'ann2' })
      expect(await userName(1)).to.equal('ann') // stale, recomputing in the background
      const model = store.User as unknown as { cachemeGrace?: boolean }
      model.cachemeGrace = false
      try {
        await userName(2)
        await (await store.User.findByPk(2))!.update({ name: 'bob2' })
        expect(await userName(2)).to.equal('bob2')
      } finally {
        delete model.cachemeGrace
      }
    })

    describe('inside a transaction', () => {
      it('invalidates when the transaction commits, not before', async () => {
        await watch.prime('User:1')
        const transaction = await store.sequelize.transaction()
        await store.User.update({ name: 'in-tx' }, { where: { id: 1 }, transaction })
        expect(await watch.invalidated('User:1')).to.deep.equal([])
        await transaction.commit()
        expect(await watch.invalidated('User:1')).to.deep.equal(['User:1'])
      })

      it('leaves the cache as it was on rollback', async () => {
        await watch.prime('User:1')
        const transaction = await store.sequelize.transaction()
        const ann = await store.User.findByPk(1, { transaction })
        await ann!.update({ name: 'rolled-back' }, { transaction })
        await transaction.rollback()
        expect(await watch.invalidated('User:1')).to.deep.equal([])
      })

      it('invalidates after the outermost commit when the change was in a savepoint', async () => {
        await watch.prime('User:1')
        await store.sequelize.transaction(async outer => {
          await store.sequelize.transaction({ transaction: outer }, async inner => {
            await store.User.update({ name: 'nested' }, { where: { id: 1 }, transaction: inner })
          })
          expect(await watch.invalidated('User:1')).to.deep.equal([])
        })
        expect(await watch.invalidated('User:1')).to.deep.equal(['User:1'])
      })

      it('does not leave behind the old row a reader cached while the transaction was open', async () => {
        const userName = cacheme({ key: c => `User:${c.id}>name`, invalidKeys: c => `User:${c.id}` })(async (id: number) => (await store.User.findByPk(id))!.name)
        const transaction = await store.sequelize.transaction()
        await store.User.update({ name: 'committed' }, { where: { id: 1 }, transaction })
        expect(await userName(1)).to.equal('ann') // cached while the change is invisible
        await transaction.commit()
        expect(await userName(1)).to.equal('committed')
      })

      it('invalidates after commit in a CLS-managed transaction', async () => {
        const namespace = createNamespace(`cacheme-test-${db.dialect}`)
        Sequelize.useCLS(namespace)
        try {
          await watch.prime('User:2')
          await store.sequelize.transaction(async () => {
            const bob = await store.User.findByPk(2)
            await bob!.update({ name: 'cls' })
            expect(await watch.invalidated('User:2')).to.deep.equal([])
          })
          expect(await watch.invalidated('User:2')).to.deep.equal(['User:2'])
        } finally {
          ;(Sequelize as unknown as { _cls?: unknown })._cls = undefined
        }
      })
    })

    it('does not cache a row that changed while it was being read', async () => {
      const readStarted = deferred()
      const gate = deferred()
      const userName = cacheme({ key: c => `User:${c.id}>held`, invalidKeys: c => `User:${c.id}` })(async (id: number) => {
        const row = await store.User.findByPk(id)
        readStarted.resolve()
        await gate.promise
        return row!.name
      })
      const reading = userName(1)
      await readStarted.promise
      await (await store.User.findByPk(1))!.update({ name: 'changed' })
      gate.resolve()
      expect(await reading).to.equal('ann')
      expect(await userName(1)).to.equal('changed')
    })
  })
}

describe('registerInvalidModels', () => {
  it('installs the hooks again on a model whose Model.init() ran again and dropped them', async () => {
    configureBackend('memory')
    const sequelize = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false })
    class Row extends Model {
      declare id: number
      get cacheKey() {
        return `Row:${this.id}`
      }
    }
    Row.init({ name: DataTypes.STRING }, { sequelize })
    registerInvalidModels([Row])
    Row.init({ name: DataTypes.STRING }, { sequelize })
    registerInvalidModels([Row])
    await sequelize.sync()
    const watch = probes()
    await watch.prime('Row:1')
    await Row.create({ id: 1, name: 'a' })
    expect(await watch.invalidated('Row:1')).to.deep.equal(['Row:1'])
    await sequelize.close()
  })
})
