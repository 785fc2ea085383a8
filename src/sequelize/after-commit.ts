import type { Model, ModelStatic, Transaction } from 'sequelize'
import { libraryOf } from './sequelize-internals'
import { outermost, type TransactionInternals } from './transaction-reads'

/** The transaction a write runs in: the one it was given, else the CLS namespace's (`Sequelize.useCLS`), which some write paths do not copy into options. */
export function currentTransaction(model: ModelStatic<Model>, options: { transaction?: Transaction | null } | undefined): Transaction | null | undefined {
  return options?.transaction ?? (libraryOf(model)?._cls?.get('transaction') as Transaction | undefined)
}

/**
 * Runs `invalidation` once the change is visible to other readers: at once outside a transaction,
 * after the outermost commit inside one (explicit, or the CLS namespace's), never on rollback.
 * Invalidating before the commit would let a concurrent reader cache the old row again. A
 * savepoint rolled back after the change undid it, though the transaction commits: nothing to do.
 */
export async function whenCommitted(model: ModelStatic<Model>, options: { transaction?: Transaction | null } | undefined, invalidation: () => Promise<void>): Promise<void> {
  const transaction = currentTransaction(model, options) as TransactionInternals | undefined | null
  if (!transaction) return invalidation()
  const savepoints = openSavepoints(transaction)
  outermost(transaction).afterCommit(() => (savepoints.some(savepoint => savepoint.finished === 'rollback') ? undefined : invalidation()))
}

/** The savepoints a change is made in that are still open: rolling one of them back undoes it (one rolled back before, does not). */
function openSavepoints(transaction: TransactionInternals): TransactionInternals[] {
  const open: TransactionInternals[] = []
  for (let savepoint = transaction; savepoint.parent; savepoint = savepoint.parent) if (!savepoint.finished) open.push(savepoint)
  return open
}
