import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { runtime } from '../config'
import { failOpen, findRows, readBack } from './affected-rows'
import { internalsOf, libraryOf } from './sequelize-internals'

interface CounterOptions {
  where?: WhereOptions
  transaction?: Transaction | null
  hooks?: boolean
}

type Increment = (this: ModelStatic<Model>, fields: unknown, options?: CounterOptions) => Promise<unknown>

/** Told of the rows a counter changed, as they were and as they are; returns when they are invalidated (or, in a transaction, registered for its commit). */
export type CountedRows = (rows: readonly Model[], options: CounterOptions) => Promise<void> | undefined

const WATCHED = Symbol('cacheme.counters')

/**
 * Sequelize runs no hooks for `increment` and `decrement`, yet counters (likes, views, stock) are
 * what read-heavy APIs cache. The static `increment` is the one they all end in (the static
 * `decrement` and both instance methods call it), so it is wrapped, once per model: the rows its
 * `where` matches are read before (locked in a transaction) and after the write, and `counted`
 * is told of both. `hooks: false` skips it, as it skips the hooks of the other writes.
 */
export function watchCounters(model: ModelStatic<Model>, counted: CountedRows): void {
  if (Object.prototype.hasOwnProperty.call(model, WATCHED)) return
  const increment = model.increment as unknown as Increment
  const watched: Increment = async function (this: ModelStatic<Model>, fields, options) {
    if (!runtime().enabled || options?.hooks === false || !options?.where) return increment.call(this, fields, options)
    // `this` is the model or one of its scopes: the write applies the scope's where.
    const scope = internalsOf(this)._scope?.where
    const where = scope ? { [libraryOf(model)!.Op.and]: [scope, options.where] } : options.where
    const before = await failOpen(model, () => findRows(model, where, { transaction: options.transaction }))
    const result = await increment.call(this, fields, options)
    const after = await readBack(model, before, { transaction: options.transaction })
    await counted([...before, ...after], options)
    return result
  }
  Object.defineProperty(model, 'increment', { value: watched, writable: true, configurable: true })
  Object.defineProperty(model, WATCHED, { value: true })
}
