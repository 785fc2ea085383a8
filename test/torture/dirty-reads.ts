import { Transaction } from 'sequelize'
import type { TortureIds } from './dataset'
import { TITLES } from './many-rows'
import type { TortureSchema } from './models'
import type { Random } from './random'
import type { ReaderName, ReaderSet } from './readers'
import { sleep } from './sleep'

export type DirtyReadKind = 'dirtyRead' | 'ownWrites'

/** A row a transaction changes, by table. */
interface Target {
  readonly table: 'books' | 'users' | 'listings'
  readonly id: number
}

/** Thrown to roll a managed transaction back. */
class RollBack extends Error {}

/**
 * Transactions that change rows and then call the decorated readers inside them, as a request
 * handler does that updates rows and serializes its response before it commits or fails:
 * - `dirtyRead` passes its transaction to the readers' queries, then commits or (mostly) rolls back.
 *   Nothing it computed may be served to others: before the commit it is uncommitted, after a
 *   rollback it never was. The final comparison finds what was kept.
 * - `ownWrites` runs under Sequelize's CLS (no transaction passed) at REPEATABLE READ, so that its
 *   reads see one snapshot plus its own writes: each decorated call must answer what the same
 *   computation run uncached answers in the transaction. A call that does not is a stale read.
 */
export class DirtyReads {
  /** Calls inside a transaction that has written that did not see its writes. */
  readonly staleReads: string[] = []

  constructor(
    private readonly schema: TortureSchema,
    private readonly ids: TortureIds,
    private readonly readers: ReaderSet,
  ) {}

  /**
   * A row changed and committed, then changed again in a second transaction that reads it through
   * the readers and mostly rolls back, as a second request that fails does: the first commit has
   * just invalidated the row's values, so the second one's reads compute them.
   */
  async dirtyRead(random: Random): Promise<DirtyReadKind> {
    const target = this.#target(random)
    await this.schema.sequelize.transaction(transaction => this.#change(target, random, transaction))
    const transaction = await this.schema.sequelize.transaction()
    try {
      for (const read of await this.#change(target, random, transaction)) await this.readers.named(read.reader).cached(read.id, transaction)
      await sleep(random.int(2, 10))
      if (random.chance(0.25)) await transaction.commit()
      else await transaction.rollback()
    } catch (error) {
      await transaction.rollback().catch(() => {})
      throw error
    }
    return 'dirtyRead'
  }

  async ownWrites(random: Random): Promise<DirtyReadKind> {
    await this.schema.sequelize
      .transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.REPEATABLE_READ }, async () => {
        for (const { reader, id } of await this.#change(this.#target(random), random)) {
          const { cached, fresh } = this.readers.named(reader)
          const seen = JSON.stringify(await cached(id))
          const own = JSON.stringify(await fresh(id))
          if (seen !== own) this.staleReads.push(`${reader}(${id}) inside a transaction that wrote: cached ${seen}, its own ${own}`)
        }
        if (random.chance(0.5)) throw new RollBack()
      })
      .catch(error => {
        if (!(error instanceof RollBack)) throw error
      })
    return 'ownWrites'
  }

  #target(random: Random): Target {
    switch (random.int(0, 2)) {
      case 0:
        return { table: 'books', id: random.pickSkewed(this.ids.readBooks) }
      case 1:
        return { table: 'users', id: random.pickSkewed(this.ids.users) }
      default:
        return { table: 'listings', id: random.pick(this.ids.listings) }
    }
  }

  /** A change of the target row, and the values of the readers that then see it uncommitted (in `transaction`, else in the CLS one). */
  async #change({ table, id }: Target, random: Random, transaction?: Transaction): Promise<{ reader: ReaderName; id: number }[]> {
    const { Book, User, Listing } = this.schema
    switch (table) {
      case 'books': {
        const book = await Book.findByPk(id, { transaction, lock: true })
        if (!book) return []
        const ownerBefore = book.ownerId
        await book.update({ title: `${random.pick(TITLES)} draft`, ...(random.chance(0.5) ? { ownerId: random.pickSkewed(this.ids.users) } : {}) }, { transaction })
        return [
          { reader: 'bookOwner', id },
          { reader: 'userBooks', id: ownerBefore },
          { reader: 'userBooks', id: book.ownerId },
        ]
      }
      case 'users': {
        await User.update({ name: `draft${random.int(0, 99)}` }, { where: { id }, transaction })
        return [{ reader: 'userList', id: 0 }]
      }
      case 'listings': {
        const listing = await Listing.findByPk(id, { transaction, lock: true })
        if (!listing) return []
        await listing.update({ stock: listing.stock > 0 ? 0 : random.int(1, 3) }, { transaction })
        return [
          { reader: 'listing', id },
          { reader: 'listingsInStock', id: 0 },
        ]
      }
    }
  }
}
