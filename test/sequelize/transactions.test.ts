import { expect } from 'chai'
import { Transaction } from 'sequelize'
import { BaseCache, cacheme, cachemeEvents, registerInvalidModels } from '../../src'
import { BACKENDS, configureBackend, deferred } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { withCls } from './cls'
import { openBookstore, seedBookstore, type Bookstore } from './models'
import { probes } from './probes'

const { READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE } = Transaction.ISOLATION_LEVELS

/** A CLS namespace of this suite's own, set for the length of `body`. */
const withSuiteCls = (body: () => Promise<void>) => withCls('cacheme-transactions-test', body)

for (const db of testDatabases()) {
  for (const backend of BACKENDS) {
    describe(`Values computed in transactions, on ${db.dialect} with the ${backend} store`, function () {
      let store: Bookstore
      /** Names computed by `userName`, in order: a call that adds none was served from the cache. */
      let computed: string[]
      let userName: (id: number, transaction?: Transaction) => Promise<string>

      before(async () => {
        store = openBookstore(db)
        registerInvalidModels([store.User, store.Book])
        // WAL lets a writer commit while a transaction holds its snapshot, as PostgreSQL does.
        if (db.dialect === 'sqlite') await store.sequelize.query('PRAGMA journal_mode = WAL')
      })
      after(() => store.sequelize.close())

      beforeEach(async () => {
        configureBackend(backend)
        await seedBookstore(store)
        computed = []
        userName = cacheme({ key: c => `User:${c.id}>name`, invalidKeys: c => `User:${c.id}` })(async (id: number, transaction?: Transaction) => {
          const { name } = (await store.User.findByPk(id, { transaction }))!
          computed.push(name)
          return name
        })
      })

      /** A memoized name whose computation, given a transaction, holds after its read until `gate` opens. */
      const heldInTransaction = () => {
        const read = deferred()
        const gate = deferred()
        const heldName = cacheme({ key: c => `User:${c.id}>held`, invalidKeys: c => `User:${c.id}` })(async (id: number, transaction?: Transaction) => {
          const { name } = (await store.User.findByPk(id, { transaction }))!
          if (transaction) {
            read.resolve()
            await gate.promise
          }
          return name
        })
        return { heldName, read, gate }
      }

      /** What the database holds for user 1, read outside any transaction. */
      const committedName = async () => (await store.User.findByPk(1))!.name

      describe('a transaction that has written', () => {
        it('keeps nothing computed from its reads after it rolls back', async () => {
          const transaction = await store.sequelize.transaction()
          await store.User.update({ name: 'DIRTY' }, { where: { id: 1 }, transaction })
          expect(await userName(1, transaction)).to.equal('DIRTY') // its own write, for its own caller
          await transaction.rollback()
          expect(await committedName()).to.equal('ann')
          expect(await userName(1)).to.equal('ann')
        })

        it('shows nothing computed from its reads to a reader outside it before it commits', async () => {
          const transaction = await store.sequelize.transaction()
          try {
            await store.User.update({ name: 'UNCOMMITTED' }, { where: { id: 1 }, transaction })
            expect(await userName(1, transaction)).to.equal('UNCOMMITTED')
            expect(await userName(1)).to.equal('ann')
          } finally {
            await transaction.commit()
          }
          expect(await userName(1)).to.equal('UNCOMMITTED')
        })

        it('does not hand its value to a caller outside it that joined the computation', async () => {
          const { heldName, read, gate } = heldInTransaction()
          const transaction = await store.sequelize.transaction()
          try {
            await store.User.update({ name: 'UNCOMMITTED' }, { where: { id: 1 }, transaction })
            const inside = heldName(1, transaction)
            await read.promise
            const joined = new Promise(resolve => cachemeEvents.once('miss', resolve)) // emitted as the call joins the flight
            const outside = heldName(1)
            await joined
            gate.resolve()
            expect(await inside).to.equal('UNCOMMITTED')
            expect(await outside).to.equal('ann')
          } finally {
            await transaction.rollback()
          }
        })

        it('keeps nothing a memoized caller built from a nested call that read in it', async () => {
          const greeting = cacheme({ key: c => `User:${c.id}>greeting` })(async (id: number, transaction?: Transaction) => `hi ${await userName(id, transaction)}`)
          const transaction = await store.sequelize.transaction()
          await store.User.update({ name: 'DIRTY' }, { where: { id: 1 }, transaction })
          expect(await greeting(1, transaction)).to.equal('hi DIRTY')
          await transaction.rollback()
          expect(await greeting(1)).to.equal('hi ann')
        })

        it('has written once a raw statement changed a row in it', async () => {
          const transaction = await store.sequelize.transaction()
          const users = store.sequelize.getQueryInterface().quoteIdentifier(String(store.User.getTableName()))
          await store.sequelize.query(`UPDATE ${users} SET name = 'RAW' WHERE id = 1`, { transaction })
          expect(await userName(1, transaction)).to.equal('RAW')
          await transaction.rollback()
          expect(await userName(1)).to.equal('ann')
        })
      })

      describe('the instance cache', () => {
        /** User 1's name as a BaseCache of its own serves it (loaded with findByPk on a miss). */
        const cachedName = async (cache: BaseCache) => ((await cache.getInstances([['User', 1]])).get('User:1')![0] as { name: string }).name

        it('stores no row read inside a CLS transaction that has written, and serves the transaction its own writes', async () => {
          const cache = new BaseCache().register(store.User, { serializer: (user: { id: number; name: string }) => ({ id: user.id, name: user.name }) })
          await withSuiteCls(async () => {
            expect(await cachedName(cache)).to.equal('ann')
            await store.sequelize
              .transaction(async () => {
                await store.User.update({ name: 'CLSDIRTY' }, { where: { id: 1 } })
                expect(await cachedName(cache)).to.equal('CLSDIRTY')
                throw new Error('rolled back')
              })
              .catch(error => expect((error as Error).message).to.equal('rolled back'))
            expect(await cachedName(cache)).to.equal('ann')
          })
        })
      })

      describe('with Sequelize.useCLS', () => {
        it('keeps nothing computed inside a transaction that has written, without passing the transaction', async () => {
          await withSuiteCls(async () => {
            await store.sequelize
              .transaction(async () => {
                await store.User.update({ name: 'CLSDIRTY' }, { where: { id: 1 } })
                expect(await userName(1)).to.equal('CLSDIRTY')
                throw new Error('rolled back')
              })
              .catch(error => expect((error as Error).message).to.equal('rolled back'))
            expect(await userName(1)).to.equal('ann')
          })
        })

        it('reads its own writes inside a transaction that has written: the cache is neither read nor written', async () => {
          await withSuiteCls(async () => {
            expect(await userName(1)).to.equal('ann')
            await store.sequelize
              .transaction(async () => {
                await store.User.update({ name: 'mine' }, { where: { id: 1 } })
                expect(await userName(1)).to.equal('mine')
                expect(await userName(1)).to.equal('mine')
                throw new Error('rolled back')
              })
              .catch(() => {})
            expect(computed).to.deep.equal(['ann', 'mine', 'mine'])
            expect(await userName(1)).to.equal('ann')
            expect(computed).to.have.length(3) // the entry from before the transaction is still there
          })
        })

        it('reads its own writes from a savepoint that has written', async () => {
          await withSuiteCls(async () => {
            expect(await userName(1)).to.equal('ann')
            await store.sequelize.transaction(async outer => {
              await store.sequelize.transaction({ transaction: outer }, async () => {
                await store.User.update({ name: 'nested' }, { where: { id: 1 } })
              })
              expect(await userName(1)).to.equal('nested')
            })
            expect(await userName(1)).to.equal('nested')
          })
        })

        it('uses the cache inside a transaction that has not written', async () => {
          await withSuiteCls(async () => {
            expect(await userName(1)).to.equal('ann')
            await store.sequelize.transaction(async () => {
              expect(await userName(1)).to.equal('ann')
              expect(await userName(2)).to.equal('bob')
            })
            expect(await userName(2)).to.equal('bob')
            expect(computed).to.deep.equal(['ann', 'bob'])
          })
        })
      })

      describe('savepoints', () => {
        let watch: ReturnType<typeof probes>
        beforeEach(() => (watch = probes()))

        it('a savepoint rolled back inside a committed transaction invalidates nothing of its own', async () => {
          await watch.prime('User:1', 'User:2')
          await store.sequelize.transaction(async outer => {
            await store.User.update({ name: 'kept' }, { where: { id: 2 }, transaction: outer })
            const savepoint = await store.sequelize.transaction({ transaction: outer })
            await store.User.update({ name: 'undone' }, { where: { id: 1 }, transaction: savepoint })
            await savepoint.rollback()
          })
          expect(await committedName()).to.equal('ann')
          expect(await watch.invalidated('User:1', 'User:2')).to.deep.equal(['User:2'])
        })

        it('a committed savepoint invalidates its rows when the outer transaction commits', async () => {
          await watch.prime('User:1')
          await store.sequelize.transaction(async outer => {
            await store.sequelize.transaction({ transaction: outer }, savepoint => store.User.update({ name: 'saved' }, { where: { id: 1 }, transaction: savepoint }))
            expect(await watch.invalidated('User:1')).to.deep.equal([])
          })
          expect(await watch.invalidated('User:1')).to.deep.equal(['User:1'])
        })

        it('a change made after an enclosing savepoint rolled back is invalidated', async () => {
          await watch.prime('User:1')
          await store.sequelize.transaction(async outer => {
            const enclosing = await store.sequelize.transaction({ transaction: outer })
            const inner = await store.sequelize.transaction({ transaction: enclosing })
            await enclosing.rollback()
            await store.User.update({ name: 'after' }, { where: { id: 1 }, transaction: inner })
          })
          expect(await committedName()).to.equal('after')
          expect(await watch.invalidated('User:1')).to.deep.equal(['User:1'])
        })

        it('with CLS, a savepoint rolled back inside a committed transaction invalidates nothing of its own', async () => {
          await withSuiteCls(async () => {
            await watch.prime('User:1')
            await store.sequelize.transaction(async outer => {
              await store.sequelize
                .transaction({ transaction: outer }, async () => {
                  await store.User.update({ name: 'undone' }, { where: { id: 1 } })
                  throw new Error('rolled back')
                })
                .catch(() => {})
            })
            expect(await watch.invalidated('User:1')).to.deep.equal([])
          })
        })
      })

      describe('isolation levels', () => {
        /** The levels whose transactions read one snapshot, taken by their first statement. */
        const snapshotLevels = db.dialect === 'postgres' ? [REPEATABLE_READ, SERIALIZABLE] : [undefined]

        for (const isolationLevel of snapshotLevels) {
          const level = isolationLevel ?? 'the default (SERIALIZABLE)'

          it(`${level}: does not cache a value read from a snapshot older than a change committed since`, async () => {
            const transaction = await store.sequelize.transaction({ isolationLevel })
            try {
              expect((await store.User.findByPk(1, { transaction }))!.name).to.equal('ann') // the snapshot
              await store.User.update({ name: 'fresh' }, { where: { id: 1 } }) // commits and invalidates
              expect(await userName(1, transaction)).to.equal('ann') // the snapshot's row, read after the invalidation
            } finally {
              await transaction.commit()
            }
            expect(await userName(1)).to.equal('fresh')
          })

          it(`${level}: caches a value whose computation took the snapshot`, async () => {
            const transaction = await store.sequelize.transaction({ isolationLevel })
            try {
              expect(await userName(1, transaction)).to.equal('ann')
            } finally {
              await transaction.commit()
            }
            expect(await userName(1)).to.equal('ann')
            expect(computed).to.deep.equal(['ann'])
          })

          it(`${level}: refuses a value whose computation took the snapshot when a change commits while it runs`, async () => {
            const { heldName, read, gate } = heldInTransaction()
            const transaction = await store.sequelize.transaction({ isolationLevel })
            try {
              const reading = heldName(1, transaction)
              await read.promise
              await store.User.update({ name: 'fresh' }, { where: { id: 1 } })
              gate.resolve()
              expect(await reading).to.equal('ann')
            } finally {
              await transaction.commit()
            }
            expect(await heldName(1)).to.equal('fresh')
          })
        }

        if (db.dialect === 'postgres') {
          for (const isolationLevel of [undefined, READ_COMMITTED]) {
            it(`${isolationLevel ?? 'the default (READ COMMITTED)'}: caches what a transaction that has not written reads, after its first statement`, async () => {
              const transaction = await store.sequelize.transaction({ isolationLevel })
              try {
                await store.User.findByPk(2, { transaction })
                expect(await userName(1, transaction)).to.equal('ann')
              } finally {
                await transaction.commit()
              }
              expect(await userName(1)).to.equal('ann')
              expect(computed).to.deep.equal(['ann'])
            })
          }
        }
      })
    })
  }
}
