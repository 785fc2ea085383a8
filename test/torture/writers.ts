import { Op, type Transaction } from 'sequelize'
import type { Book } from '../sequelize/models'
import type { TortureIds } from './dataset'
import { DirtyReads } from './dirty-reads'
import { ManyRowWrites, TITLES } from './many-rows'
import type { TortureSchema } from './models'
import type { Random } from './random'
import type { ReaderSet } from './readers'
import { sleep } from './sleep'
import { within, type TransactionWatch } from './within'

export const WRITE_KINDS = [
  'save',
  'bulkUpdate',
  'destroy',
  'restore',
  'create',
  'link',
  'partial',
  'counter',
  'manyRows',
  'computed',
  'upsert',
  'bulkCreate',
  'commit',
  'rollback',
  'dirtyRead',
  'ownWrites',
] as const
export type WriteKind = (typeof WRITE_KINDS)[number]

/** What a single change did, so the figures can say which write paths ran. */
type Change = Exclude<WriteKind, 'commit' | 'rollback' | 'dirtyRead' | 'ownWrites'>

/** The share of changes that write a range of books. */
const RANGE_SHARE = 0.1
const NAMES = ['ann', 'bob', 'cyd', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon']

export interface WritersOptions {
  /** The readers a transaction may call after it has written; without them no transaction reads. */
  readonly readers?: ReaderSet
  /** Told of every transaction a writer begins (a writer process dies at some commits). */
  readonly watch?: TransactionWatch
  /**
   * Every change in a transaction. A writer process that is killed at random needs it: a change
   * outside a transaction records its invalidation durably only on some paths (see the README).
   */
  readonly transactional?: boolean
}

/**
 * The writers of the workload: every write path the hooks cover (instance saves, bulk updates
 * with a where, soft and hard destroys, restores and re-creates, belongsToMany add/remove/set,
 * partially loaded instances, counters, writes over hundreds of rows, computed values, upserts
 * and bulk creates that move rows), alone or several inside a transaction that is held open for a
 * while, then committed or rolled back; and transactions that read through the decorated
 * methods after writing (see DirtyReads).
 */
export class Writers {
  readonly #manyRows: ManyRowWrites
  readonly #dirtyReads: DirtyReads | undefined
  readonly #watch: TransactionWatch | undefined
  readonly #transactional: boolean

  constructor(
    private readonly schema: TortureSchema,
    private readonly ids: TortureIds,
    options: WritersOptions = {},
  ) {
    this.#watch = options.watch
    this.#transactional = options.transactional ?? false
    this.#manyRows = new ManyRowWrites(schema, ids, options.watch)
    this.#dirtyReads = options.readers && new DirtyReads(schema, ids, options.readers)
  }

  /** Calls inside a transaction that has written that did not see its writes. */
  get staleReads(): readonly string[] {
    return this.#dirtyReads?.staleReads ?? []
  }

  /** Performs one random operation and says what it was. */
  async one(random: Random): Promise<WriteKind> {
    const draw = random.next()
    if (this.#dirtyReads && draw < 0.1) return this.#dirtyReads.dirtyRead(random)
    if (this.#dirtyReads && draw < 0.2) return this.#dirtyReads.ownWrites(random)
    if (draw < 0.35) return this.#transaction(random)
    return this.#transactional ? within(this.schema.sequelize, undefined, own => this.#change(random, own), this.#watch) : this.#change(random)
  }

  /** Holds the transaction open across a pause so that readers run while its changes are invisible. */
  async #transaction(random: Random): Promise<WriteKind> {
    const transaction = await this.schema.sequelize.transaction()
    this.#watch?.(transaction)
    try {
      for (let count = random.int(1, 3); count > 0; count--) await this.#change(random, transaction)
      await sleep(random.int(2, 15))
      if (random.chance(0.5)) {
        await transaction.commit()
        return 'commit'
      }
      await transaction.rollback()
      return 'rollback'
    } catch (error) {
      await transaction.rollback().catch(() => {})
      throw error
    }
  }

  /**
   * One change; now and then one over a range of books. Those invalidate most users' book lists
   * at once, so more of them would erase a stale list before the comparison could see it.
   */
  #change(random: Random, transaction?: Transaction): Promise<Change> {
    const manyRows = this.#manyRows
    type ChangeOf = (random: Random, transaction?: Transaction) => Promise<Change>
    const ranges: ChangeOf[] = [manyRows.manyRows, manyRows.computed, manyRows.bulkCreate].map(change => change.bind(manyRows))
    const rows: ChangeOf[] = [
      this.#save,
      this.#save,
      this.#bulkUpdate,
      this.#bulkUpdate,
      this.#destroyOrBringBack,
      this.#link,
      this.#link,
      this.#partial,
      this.#partial,
      this.#counter,
      this.#counter,
    ].map(change => change.bind(this))
    rows.push(manyRows.upsert.bind(manyRows))
    return (random.chance(RANGE_SHARE) ? random.pick(ranges) : random.pick(rows))(random, transaction)
  }

  /** A user's keys depend on its id only, so an instance read without a lock is good enough. */
  async #save(random: Random, transaction?: Transaction): Promise<Change> {
    const { User, Book } = this.schema
    if (random.chance(0.5)) {
      const user = await User.findByPk(random.pickSkewed(this.ids.users), { transaction })
      user!.name = `${random.pick(NAMES)}${random.int(0, 99)}`
      await user!.save({ transaction })
    } else {
      await this.#withLockedRow(transaction, async locked => {
        const book = await Book.findByPk(random.pickSkewed(this.ids.readBooks), { transaction: locked, lock: true })
        if (book) await book.update({ title: random.pick(TITLES), ...(random.chance(0.3) ? { ownerId: random.pickSkewed(this.ids.users) } : {}) }, { transaction: locked })
      })
    }
    return 'save'
  }

  /**
   * A book's keys depend on its owner, and hooks compute them from the instance: an instance that
   * another writer changed since it was read would invalidate the keys of its old owner. So book
   * instances are read with a row lock inside a transaction (the given one, or one of their own),
   * as an application must do for this.
   */
  #withLockedRow<T>(transaction: Transaction | undefined, work: (locked: Transaction) => Promise<T>): Promise<T> {
    return within(this.schema.sequelize, transaction, work, this.#watch)
  }

  /**
   * A book loaded with some columns only (not its owner, which its cache key needs), then renamed,
   * given to another owner, or destroyed.
   */
  async #partial(random: Random, transaction?: Transaction): Promise<Change> {
    const { Book } = this.schema
    await this.#withLockedRow(transaction, async locked => {
      const book = await Book.findByPk(random.pickSkewed(this.ids.readBooks), { attributes: ['id', 'title'], transaction: locked, lock: true })
      if (!book) return
      switch (random.int(0, 2)) {
        case 0:
          await book.update({ title: random.pick(TITLES) }, { transaction: locked })
          break
        case 1:
          await book.update({ ownerId: random.pickSkewed(this.ids.users) }, { transaction: locked })
          break
        default:
          await book.destroy({ transaction: locked })
      }
    })
    return 'partial'
  }

  /**
   * A listing's stock up or down, through the instance or `Model.increment` / `decrement` with a
   * where; its cache key names whether it is in stock, so the key as it was and as it is both count.
   */
  async #counter(random: Random, transaction?: Transaction): Promise<Change> {
    const { Listing } = this.schema
    const by = random.int(1, 2)
    await this.#withLockedRow(transaction, async locked => {
      if (random.chance(0.5)) {
        const listing = await Listing.findByPk(random.pick(this.ids.listings), { transaction: locked })
        if (!listing) return
        if (listing.stock > 0) await listing.decrement('stock', { by, transaction: locked })
        else await listing.increment('stock', { by, transaction: locked })
        return
      }
      const where = { id: { [Op.in]: random.subset(this.ids.listings, 0.3) } }
      if (random.chance(0.5)) await Listing.increment({ stock: by }, { where, transaction: locked })
      else await Listing.decrement({ stock: by }, { where, transaction: locked })
    })
    return 'counter'
  }

  /**
   * Bulk updates of books lock their rows first, in a transaction: the hooks read a bulk write's
   * rows before it runs, and a row another writer changes in between would be invalidated as it
   * was read. Users' keys depend on the id only, so their bulk update needs no lock.
   */
  async #bulkUpdate(random: Random, transaction?: Transaction): Promise<Change> {
    const { User, Book } = this.schema
    switch (random.int(0, 2)) {
      case 0: {
        const where = { id: { [Op.in]: random.subset(this.ids.readBooks, 0.15) } }
        await this.#withLockedRow(transaction, async locked => {
          await Book.findAll({ where, transaction: locked, lock: true })
          await Book.update({ ownerId: random.pickSkewed(this.ids.users) }, { where, transaction: locked })
        })
        break
      }
      case 1: {
        // Rows that start to match after the lock are not locked: the update keeps to the locked ones.
        const ownerId = random.pickSkewed(this.ids.users)
        await this.#withLockedRow(transaction, async locked => {
          const rows = await Book.findAll({ where: { ownerId }, transaction: locked, lock: true })
          await Book.update({ title: random.pick(TITLES) }, { where: { ownerId, id: { [Op.in]: rows.map(row => row.id) } }, transaction: locked })
        })
        break
      }
      default:
        await User.update({ name: random.pick(NAMES) }, { where: { id: { [Op.in]: random.subset(this.ids.users, 0.2) } }, transaction })
    }
    return 'bulkUpdate'
  }

  /** A live book is destroyed (softly or for good, as an instance or by a where); a gone one comes back. */
  async #destroyOrBringBack(random: Random, transaction?: Transaction): Promise<Change> {
    const { Book } = this.schema
    const id = random.pickSkewed(this.ids.readBooks)
    return this.#withLockedRow(transaction, async locked => {
      const book = await Book.findByPk(id, { paranoid: false, transaction: locked, lock: true })
      if (!book) {
        await Book.create({ id, title: random.pick(TITLES), ownerId: random.pickSkewed(this.ids.users) }, { transaction: locked })
        return 'create'
      }
      const asInstance = random.chance(0.5)
      if (book.isSoftDeleted()) {
        if (asInstance) await book.restore({ transaction: locked })
        else await Book.restore({ where: { id }, transaction: locked })
        return 'restore'
      }
      const force = random.chance(0.3)
      if (asInstance) await book.destroy({ force, transaction: locked })
      else await Book.destroy({ where: { id }, force, transaction: locked })
      return 'destroy'
    })
  }

  /** Link changes from either side; a force-deleted book still has its links (no constraints). */
  async #link(random: Random, transaction?: Transaction): Promise<Change> {
    const { User, Book } = this.schema
    const bookId = random.pickSkewed(this.ids.readBooks)
    const userId = random.pickSkewed(this.ids.users)
    const book = Book.build({ id: bookId }, { isNewRecord: false }) as Book & LinkMethods
    const user = User.build({ id: userId }, { isNewRecord: false }) as InstanceType<typeof User> & LinkMethods
    const options = { transaction }
    switch (random.int(0, 5)) {
      case 0:
        await book.addReader(userId, options)
        break
      case 1:
        await book.removeReader(userId, options)
        break
      case 2:
        await book.setReaders(random.subset(this.ids.users, 0.25), options)
        break
      case 3:
        await user.addBook(bookId, options)
        break
      case 4:
        await user.removeBook(bookId, options)
        break
      default:
        await user.setBooks(random.subset(this.ids.readBooks, 0.15), options)
    }
    return 'link'
  }
}

/** The belongsToMany accessors Sequelize adds at run time. */
interface LinkMethods {
  addReader(id: number, options: object): Promise<unknown>
  removeReader(id: number, options: object): Promise<unknown>
  setReaders(ids: number[], options: object): Promise<unknown>
  addBook(id: number, options: object): Promise<unknown>
  removeBook(id: number, options: object): Promise<unknown>
  setBooks(ids: number[], options: object): Promise<unknown>
}
