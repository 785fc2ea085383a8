import type { Sequelize, Transaction } from 'sequelize'

/** Called with every transaction a writer begins, before its first change. */
export type TransactionWatch = (transaction: Transaction) => void

/**
 * Runs `work` in the given transaction, or in one of its own. A change that reads a row to write it
 * (an owner, a stock) needs one: its hooks lock the rows it touches there, so no concurrent writer
 * changes them between the read and the write, as a careful application does.
 */
export function within<T>(sequelize: Sequelize, transaction: Transaction | undefined, work: (transaction: Transaction) => Promise<T>, watch?: TransactionWatch): Promise<T> {
  if (transaction) return work(transaction)
  return sequelize.transaction(async own => {
    watch?.(own)
    return work(own)
  })
}
