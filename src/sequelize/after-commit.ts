import type { Model, ModelStatic, Transaction } from 'sequelize'

interface TransactionLike {
  afterCommit(fn: () => unknown): void
  /** Set on a savepoint: only the outermost transaction's commit makes a change visible. */
  parent?: TransactionLike
}

/**
 * Runs `invalidation` once the change is visible to other readers: at once outside a transaction,
 * after the outermost commit inside one (explicit, or the CLS namespace's), never on rollback.
 * Invalidating before the commit would let a concurrent reader cache the old row again.
 */
export async function whenCommitted(model: ModelStatic<Model>, options: { transaction?: Transaction | null } | undefined, invalidation: () => Promise<void>): Promise<void> {
  let transaction = (options?.transaction ?? clsTransaction(model)) as TransactionLike | undefined | null
  if (!transaction) return invalidation()
  while (transaction.parent) transaction = transaction.parent
  transaction.afterCommit(invalidation)
}

/** Sequelize.useCLS(namespace) keeps the current transaction there; some write paths do not copy it into options. */
function clsTransaction(model: ModelStatic<Model>): Transaction | undefined {
  const cls = (model.sequelize?.constructor as { _cls?: { get(key: string): unknown } } | undefined)?._cls
  return cls?.get('transaction') as Transaction | undefined
}
