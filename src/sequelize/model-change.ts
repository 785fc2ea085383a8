import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { report, runtime } from '../config'
import { CachemeError } from '../errors'
import type { ModelClass } from '../options'
import { failOpen } from './affected-rows'
import { whenCommitted } from './after-commit'
import { announceAffected, readAffected, type AffectedRows, type BulkOperation } from './bulk-writes'
import { asWritten, findConflicting, type ConflictOptions } from './conflicting-rows'
import { watchCounters } from './counters'
import { asRemovedOrRestored, asSaved, readUnloadedColumns } from './instance-rows'
import { watchTransactions } from './transaction-reads'

const HOOK_NAME = 'cacheme'
/** Rows a write is about to touch, found by its before-hook for its after-hook. */
const FOUND = Symbol('cacheme.foundRows')
/** The same for a bulk write (Model.update / destroy / restore with a where). */
const AFFECTED = Symbol('cacheme.affectedRows')

interface WriteOptions extends ConflictOptions {
  where?: WhereOptions
  transaction?: Transaction | null
  individualHooks?: boolean
  force?: boolean
  /** The values of a bulk update. */
  attributes?: Record<string, unknown>
  /** bulkCreate: the columns it updates when a row exists. */
  updateOnDuplicate?: readonly string[]
  /** upsert: the record it writes, built from its values. */
  instance?: Model
  [FOUND]?: Model[]
  [AFFECTED]?: AffectedRows
}

/**
 * Told of every change to a model's rows, at hook time, with the rows as they are and, for an
 * update, as they were. It takes what it needs from them then (by the commit Sequelize has
 * forgotten the previous values, and the application may change the instances again) and returns
 * the work to run once the change is committed, if any.
 */
export type ChangeListener = (model: ModelStatic<Model>, rows: readonly Model[]) => (() => Promise<void>) | undefined

const listeners = new WeakMap<object, Set<ChangeListener>>()

/**
 * Installs, once per model, what sees every write path: hooks on save/create/update, destroy,
 * restore, upsert, bulkCreate, and Model.update / destroy / restore with a where clause (whose rows
 * are looked up before the write, since bulk hooks get no instances), and a wrapper of increment /
 * decrement, which run no hooks. belongsToMany add/remove/set write to the through model, so
 * registering it covers links from either side. `listener` is added once.
 */
export function onModelChange(model: ModelClass, listener: ChangeListener, caller: string): void {
  if (typeof model !== 'function' || typeof (model as { addHook?: unknown }).addHook !== 'function') {
    throw new CachemeError('INVALID_OPTIONS', `${caller}: ${String(model)} is not a Sequelize model class`)
  }
  watchTransactions(model as unknown as ModelStatic<Model>)
  let installed = listeners.get(model)
  if (!installed) {
    listeners.set(model, (installed = new Set()))
    reinstallAfterEachInitialize(model)
  }
  // Model.init() again drops a model's hooks: install them anew, keeping the listeners.
  if (isInitialized(model) && !hasOurHooks(model)) install(model as unknown as ModelStatic<Model>)
  installed.add(listener)
}

/** The registered model that `model` is, or is a scope or subclass of. */
export function registeredModel(model: object): ModelStatic<Model> | undefined {
  for (let candidate: object | null = model; candidate !== null && candidate !== Function.prototype; candidate = Object.getPrototypeOf(candidate)) {
    if (listeners.has(candidate)) return candidate as ModelStatic<Model>
  }
  return undefined
}

/**
 * Tells a registered model's listeners of changed rows, and runs the work they return once the
 * change is committed (at once outside a transaction).
 */
export function announceChange(model: ModelStatic<Model>, rows: readonly Model[], options: { transaction?: Transaction | null } | undefined): Promise<void> | undefined {
  const installed = listeners.get(model)
  if (!installed || rows.length === 0 || !runtime().enabled) return
  const work: (() => Promise<void>)[] = []
  for (const listener of installed) {
    try {
      const next = listener(model, rows)
      if (next) work.push(next)
    } catch (error) {
      report(error, { operation: 'invalidate', key: model.name })
    }
  }
  if (work.length === 0) return
  return whenCommitted(model, options, async () => {
    for (const next of work) await next()
  })
}

/** sequelize-typescript's flag; a plain Sequelize model has none, and is initialized by Model.init() before use. */
function isInitialized(model: object): boolean {
  return (model as { isInitialized?: unknown }).isInitialized !== false
}

/**
 * sequelize-typescript initializes a model when a Sequelize instance adds it, often after the
 * decorators that name it have run, and initializing it again (another instance) drops its hooks:
 * they are installed after each initialization.
 */
function reinstallAfterEachInitialize(model: ModelClass): void {
  const initialize = (model as { initialize?: unknown }).initialize
  if (typeof initialize !== 'function') return
  Object.defineProperty(model, 'initialize', {
    configurable: true,
    writable: true,
    value: function (this: unknown, ...args: unknown[]) {
      const initialized = initialize.apply(this, args)
      if (this === model && !hasOurHooks(model)) install(model as unknown as ModelStatic<Model>)
      return initialized
    },
  })
}

function hasOurHooks(model: object): boolean {
  const hooks = (model as { options?: { hooks?: Record<string, { name?: string }[] | undefined> } }).options?.hooks
  return hooks?.afterCreate?.some(hook => hook.name === HOOK_NAME) ?? false
}

function install(model: ModelStatic<Model>): void {
  const changed = (rows: readonly Model[], options: WriteOptions) => announceChange(model, rows, options)
  const hook = (name: string, fn: (...args: never[]) => unknown) => (model.addHook as Function).call(model, name, HOOK_NAME, fn)
  const enabled = () => runtime().enabled
  /** A before-hook's lookup, for the after-hook of the same write (a disabled cache needs none). */
  const find = async (options: WriteOptions, lookUp: () => Promise<Model[]>) => {
    if (enabled()) options[FOUND] = await failOpen(model, lookUp)
  }
  const found = (options: WriteOptions): Model[] | undefined => {
    const rows = options[FOUND]
    delete options[FOUND]
    return rows
  }

  for (const name of ['beforeUpdate', 'beforeDestroy', 'beforeRestore']) {
    hook(name, (row: Model, options: WriteOptions) => (enabled() ? readUnloadedColumns(model, row, options) : undefined))
  }
  hook('afterCreate', (row: Model, options: WriteOptions) => changed([row], options))
  hook('afterUpdate', async (row: Model, options: WriteOptions) => (enabled() ? changed(await asSaved(model, row, options), options) : undefined))
  hook('afterDestroy', (row: Model, options: WriteOptions) => changed([asRemovedOrRestored(model, row)], options))
  hook('afterRestore', (row: Model, options: WriteOptions) => changed([asRemovedOrRestored(model, row)], options))

  // An insert that updates on conflict may move an existing row: its keys as it was and as it is.
  hook('beforeUpsert', (_values: unknown, options: WriteOptions) => find(options, () => findConflicting(model, options.instance ? [options.instance] : [], options)))
  hook('afterUpsert', async ([row]: [Model, boolean | null], options: WriteOptions) => {
    const before = found(options) ?? []
    return changed([...before, ...(await asWritten(model, before, [row], options))], options)
  })
  hook('beforeBulkCreate', (rows: Model[], options: WriteOptions) => {
    // With individualHooks, Sequelize inserts row by row through the create hooks.
    if (options.updateOnDuplicate && !options.individualHooks) return find(options, () => findConflicting(model, rows, options))
  })
  hook('afterBulkCreate', async (rows: Model[], options: WriteOptions) => {
    const before = found(options)
    return changed(before ? [...before, ...(await asWritten(model, before, rows, options))] : rows, options)
  })

  for (const operation of ['Update', 'Destroy', 'Restore'] as const) {
    hook(`beforeBulk${operation}`, async (options: WriteOptions) => {
      // Sequelize runs the per-row hooks itself.
      if (!options.individualHooks && enabled()) options[AFFECTED] = await findAffected(model, operation, options)
    })
    hook(`afterBulk${operation}`, (options: WriteOptions) => {
      const affected = options[AFFECTED]
      delete options[AFFECTED]
      if (affected) return announceAffected(model, affected, operation, options, rows => changed(rows, options))
    })
  }
  watchCounters(model, changed)
}

/**
 * A bulk write's hooks get only its options: look its rows up before they change (or vanish).
 * Sequelize has already put the scope and, for an update, the paranoid clause into `where`;
 * a destroy touches only live rows unless forced.
 */
function findAffected(model: ModelStatic<Model>, operation: BulkOperation, options: WriteOptions): Promise<AffectedRows> {
  return readAffected(model, options.where ?? {}, { transaction: options.transaction, paranoid: operation === 'Destroy' && !options.force })
}
