import { Op, type Transaction } from 'sequelize'
import type { Book } from '../sequelize/models'
import type { TortureSchema } from './models'
import type { Random } from './random'
import { sleep } from './sleep'

export const WRITE_KINDS = ['save', 'bulkUpdate', 'destroy', 'restore', 'create', 'link', 'commit', 'rollback'] as const
export type WriteKind = (typeof WRITE_KINDS)[number]

/** What a single change did, so the figures can say which write paths ran. */
type Change = Exclude<WriteKind, 'commit' | 'rollback'>

const NAMES = ['ann', 'bob', 'cyd', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon']
const TITLES = ['Dune', 'Emma', 'Ulysses', 'Beloved', 'Hamlet', 'Walden', 'Ubik', 'Solaris']

/**
 * The writers of the workload: every write path the hooks cover (instance saves, bulk updates
 * with a where, soft and hard destroys, restores and re-creates, belongsToMany add/remove/set),
 * alone or several inside a transaction that is held open for a while, then committed or rolled back.
 */
export class Writers {
  constructor(
    private readonly schema: TortureSchema,
    private readonly ids: { users: number[]; books: number[] },
  ) {}

  /** Performs one random operation and says what it was. */
  async one(random: Random): Promise<WriteKind> {
    return random.chance(0.25) ? this.#transaction(random) : this.#change(random)
  }

  /** Holds the transaction open across a pause so that readers run while its changes are invisible. */
  async #transaction(random: Random): Promise<WriteKind> {
    const transaction = await this.schema.sequelize.transaction()
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

  #change(random: Random, transaction?: Transaction): Promise<Change> {
    const change = random.pick([this.#save, this.#save, this.#bulkUpdate, this.#bulkUpdate, this.#destroyOrBringBack, this.#link, this.#link])
    return change.call(this, random, transaction)
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
        const book = await Book.findByPk(random.pickSkewed(this.ids.books), { transaction: locked, lock: true })
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
    return transaction ? work(transaction) : this.schema.sequelize.transaction(work)
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
        const where = { id: { [Op.in]: random.subset(this.ids.books, 0.15) } }
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
    const id = random.pickSkewed(this.ids.books)
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
    const bookId = random.pickSkewed(this.ids.books)
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
        await user.setBooks(random.subset(this.ids.books, 0.15), options)
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
