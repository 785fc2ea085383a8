import { Op, type Transaction } from 'sequelize'
import type { TortureIds } from './dataset'
import type { TortureSchema } from './models'
import type { Random } from './random'
import { within, type TransactionWatch } from './within'

export type ManyRowsKind = 'manyRows' | 'computed' | 'upsert' | 'bulkCreate'

export const TITLES = ['Dune', 'Emma', 'Ulysses', 'Beloved', 'Hamlet', 'Walden', 'Ubik', 'Solaris']

/**
 * Writes that touch many rows at once or move rows between owners without an instance in hand:
 * `Model.update` / `destroy` / `restore` over a range of hundreds of books, `Model.update` with a
 * value the database computes (`sequelize.literal`), `upsert` and `bulkCreate({ updateOnDuplicate })`
 * of existing books with a new owner. Each runs in a transaction, where the hooks lock the rows they
 * read; the where clauses name rows by id, so no row starts to match while the write runs.
 */
export class ManyRowWrites {
  constructor(
    private readonly schema: TortureSchema,
    private readonly ids: TortureIds,
    private readonly watch?: TransactionWatch,
  ) {}

  /** An update (new owner or title), a soft destroy or a restore of a range of books. */
  async manyRows(random: Random, transaction?: Transaction): Promise<ManyRowsKind> {
    const { Book } = this.schema
    const where = { id: { [Op.between]: this.#range(random, 10, 2) } }
    await within(
      this.schema.sequelize,
      transaction,
      async locked => {
        switch (random.int(0, 3)) {
          case 0:
            await Book.update({ ownerId: random.pickSkewed(this.ids.users) }, { where, transaction: locked })
            break
          case 1:
            await Book.update({ title: random.pick(TITLES) }, { where, transaction: locked })
            break
          case 2:
            await Book.destroy({ where, transaction: locked })
            break
          default:
            await Book.restore({ where, transaction: locked })
        }
      },
      this.watch,
    )
    return 'manyRows'
  }

  /** Every book of a range passes to the next owner, computed by the database. */
  async computed(random: Random, transaction?: Transaction): Promise<ManyRowsKind> {
    const { Book, sequelize } = this.schema
    const where = { id: { [Op.between]: this.#range(random, 20, 4) } }
    const nextOwner = sequelize.literal(`"ownerId" % ${this.ids.users.length} + 1`)
    await within(sequelize, transaction, locked => Book.update({ ownerId: nextOwner }, { where, transaction: locked }), this.watch)
    return 'computed'
  }

  /** A read book, written again whole with a new owner (inserted if it was destroyed for good). */
  async upsert(random: Random, transaction?: Transaction): Promise<ManyRowsKind> {
    const { Book, sequelize } = this.schema
    const values = { id: random.pickSkewed(this.ids.readBooks), title: random.pick(TITLES), ownerId: random.pickSkewed(this.ids.users) }
    await within(sequelize, transaction, locked => Book.upsert(values, { transaction: locked }), this.watch)
    return 'upsert'
  }

  /** A few dozen consecutive books inserted over themselves: each existing one takes the new title and owner. */
  async bulkCreate(random: Random, transaction?: Transaction): Promise<ManyRowsKind> {
    const { Book, sequelize } = this.schema
    const [from, to] = this.#range(random, 40, 10)
    const ownerId = random.pickSkewed(this.ids.users)
    const rows = this.ids.books.filter(id => id >= from && id <= to).map(id => ({ id, title: random.pick(TITLES), ownerId }))
    await within(sequelize, transaction, locked => Book.bulkCreate(rows, { updateOnDuplicate: ['title', 'ownerId'], transaction: locked }), this.watch)
    return 'bulkCreate'
  }

  /** Consecutive book ids, between 1/`widest` and 1/`narrowest` of all of them. */
  #range(random: Random, widest: number, narrowest: number): [number, number] {
    const count = this.ids.books.length
    const size = random.int(Math.max(1, Math.floor(count / widest)), Math.max(1, Math.floor(count / narrowest)))
    const from = random.int(1, Math.max(1, count - size + 1))
    return [from, from + size - 1]
  }
}
