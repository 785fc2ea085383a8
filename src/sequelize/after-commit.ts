import type { Model, ModelStatic, Transaction } from 'sequelize'
import { libraryOf } from './sequelize-internals'

interface TransactionLike {
  afterCommit(fn: () => unknown): void
  /** Set on a savepoint: only the outermost transaction's commit makes a change visible. */
  parent?: TransactionLike
}

/** The transaction a write runs in: the one it was given, else the CLS namespace's (`Sequelize.useCLS`), which some write paths do not copy into options. */
export function currentTransaction(model: ModelStatic<Model>, options: { transaction?: Transaction | null } | undefined): Transaction | null | undefined {
  return options?.transaction ?? (libraryOf(model)?._cls?.get('transaction') as Transaction | undefined)
}

/**
 * Runs `invalidation` once the change is visible to other readers: at once outside a transaction,
 * after the outermost commit inside one (explicit, or the CLS namespace's), never on rollback.
 * Invalidating before the commit would let a concurrent reader cache the old row again.
 */
export async function whenCommitted(model: ModelStatic<Model>, options: { transaction?: Transaction | null } | undefined, invalidation: () => Promise<void>): Promise<void> {
  let transaction = currentTransaction(model, options) as TransactionLike | undefined | null
  if (!transaction) return invalidation()
  while (transaction.parent) transaction = transaction.parent
  transaction.afterCommit(invalidation)
}
