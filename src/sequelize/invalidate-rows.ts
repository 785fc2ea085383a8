import type { Transaction, WhereOptions } from 'sequelize'
import { runtime } from '../config'
import { OptionChecks } from '../option-checks'
import type { ModelClass } from '../options'
import { findRows } from './affected-rows'
import { announceChange, registeredModel } from './model-change'

/**
 * Invalidates, after a write the hooks do not see (a raw query, `hooks: false`), the rows of a
 * registered model that `where` matches, soft-deleted ones included and scopes left out: their
 * `cacheKey` dependency sets are emptied and the instance cache refreshes them, through the same
 * listeners as a hooked write. The keys are those of the rows when it is called: around a write
 * that moves rows (a new owner), call it before and after. With a `transaction`, the rows are read
 * in it and invalidated when it commits.
 */
export async function invalidateRows(model: ModelClass, where: object, options: { readonly transaction?: object | null } = {}): Promise<void> {
  const checks: OptionChecks = new OptionChecks('invalidateRows()')
  const { transaction } = checks.object(options, ['transaction'])
  if (typeof (model as unknown) !== 'function') checks.fail(`${String(model)} is not a Sequelize model class`)
  const registered = registeredModel(model)
  if (!registered) checks.fail(`${model.name} is not a registered model: pass it to registerInvalidModels() or registerModels() first`)
  if (where === null || typeof where !== 'object') checks.fail(`where must be an object (a Sequelize where clause), got ${where === null ? 'null' : typeof where}`)
  if (!runtime().enabled) return
  const lookup = { transaction: transaction as Transaction | null | undefined }
  await announceChange(registered, await findRows(registered, where as WhereOptions, lookup), lookup)
}
