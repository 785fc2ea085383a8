import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { report, runtime } from '../config'
import { CachemeError } from '../errors'
import type { ModelClass } from '../options'
import { whenCommitted } from './after-commit'

const HOOK_NAME = 'cacheme'
/** Rows a bulk operation is about to touch, found by its before-hook for its after-hook. */
const AFFECTED = Symbol('cacheme.affectedRows')

interface BulkOptions {
  where?: WhereOptions
  transaction?: Transaction | null
  individualHooks?: boolean
  force?: boolean
  /** The values of a bulk update. */
  attributes?: Record<string, unknown>
  [AFFECTED]?: Model[]
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
 * Installs, once per model, the hooks that see every write path: save/create/update, destroy,
 * restore, upsert, bulkCreate, and Model.update / destroy / restore with a where clause (whose rows
 * are looked up before the write, since bulk hooks get no instances). belongsToMany add/remove/set
 * write to the through model, so registering it covers links from either side. `listener` is
 * added once.
 */
export function onModelChange(model: ModelClass, listener: ChangeListener, caller: string): void {
  if (typeof model !== 'function' || typeof (model as { addHook?: unknown }).addHook !== 'function') {
    throw new CachemeError('INVALID_OPTIONS', `${caller}: ${String(model)} is not a Sequelize model class`)
  }
  let installed = listeners.get(model)
  if (!installed) {
    listeners.set(model, (installed = new Set()))
    reinstallAfterEachInitialize(model, installed)
  }
  // Model.init() again drops a model's hooks: install them anew, keeping the listeners.
  if (isInitialized(model) && !hasOurHooks(model)) install(model as unknown as ModelStatic<Model>, installed)
  installed.add(listener)
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
function reinstallAfterEachInitialize(model: ModelClass, installed: ReadonlySet<ChangeListener>): void {
  const initialize = (model as { initialize?: unknown }).initialize
  if (typeof initialize !== 'function') return
  Object.defineProperty(model, 'initialize', {
    configurable: true,
    writable: true,
    value: function (this: unknown, ...args: unknown[]) {
      const initialized = initialize.apply(this, args)
      if (this === model && !hasOurHooks(model)) install(model as unknown as ModelStatic<Model>, installed)
      return initialized
    },
  })
}

function hasOurHooks(model: object): boolean {
  const hooks = (model as { options?: { hooks?: Record<string, { name?: string }[] | undefined> } }).options?.hooks
  return hooks?.afterCreate?.some(hook => hook.name === HOOK_NAME) ?? false
}

function install(model: ModelStatic<Model>, installed: ReadonlySet<ChangeListener>): void {
  const changed = (rows: readonly Model[], options: BulkOptions | undefined): Promise<void> | undefined => {
    if (!runtime().enabled) return
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
  const hook = (name: string, fn: (...args: never[]) => unknown) => (model.addHook as Function).call(model, name, HOOK_NAME, fn)

  hook('afterCreate', (row: Model, options: BulkOptions) => changed([row], options))
  hook('afterUpdate', (row: Model, options: BulkOptions) => changed(asItWasAndIs(row), options))
  hook('afterDestroy', (row: Model, options: BulkOptions) => changed([row], options))
  hook('afterRestore', (row: Model, options: BulkOptions) => changed([row], options))
  hook('afterUpsert', ([row]: [Model, boolean | null], options: BulkOptions) => changed([row], options))
  hook('afterBulkCreate', (rows: Model[], options: BulkOptions) => changed(rows, options))

  for (const operation of ['Update', 'Destroy', 'Restore'] as const) {
    hook(`beforeBulk${operation}`, (options: BulkOptions) => findAffected(model, operation, options))
    hook(`afterBulk${operation}`, (options: BulkOptions) => {
      const rows = options[AFFECTED]
      if (!rows) return
      delete options[AFFECTED]
      return changed(operation === 'Update' ? withUpdate(rows, options.attributes) : rows, options)
    })
  }
}

/**
 * A bulk write's hooks get only its options: look its rows up before they change (or vanish).
 * Sequelize has already put the scope and, for an update, the paranoid clause into `where`;
 * a destroy touches only live rows unless forced.
 */
async function findAffected(model: ModelStatic<Model>, operation: 'Update' | 'Destroy' | 'Restore', options: BulkOptions): Promise<void> {
  // Sequelize runs the per-row hooks itself; a disabled cache needs no lookup query.
  if (options.individualHooks || !runtime().enabled) return
  try {
    options[AFFECTED] = await model.unscoped().findAll({
      where: options.where,
      transaction: options.transaction,
      // Inside a transaction, lock them: a concurrent writer must not change them before this write.
      lock: options.transaction ? true : undefined,
      paranoid: operation === 'Destroy' && !options.force,
    })
  } catch (error) {
    report(error, { operation: 'invalidate', key: model.name })
  }
}

/** A bulk update's rows as they were and as they will be, in case `cacheKey` depends on a changed column. */
function withUpdate(rows: Model[], values: Record<string, unknown> | undefined): Model[] {
  return values ? [...rows, ...rows.map(row => copyWith(row, values))] : rows
}

/** A saved row as it is and, when columns changed, as it was: `cacheKey` may depend on them (an owner). */
function asItWasAndIs(row: Model): Model[] {
  const previous = row.previous()
  return Object.keys(previous).length === 0 ? [row] : [row, copyWith(row, previous)]
}

/** A copy of a row with some columns replaced, to read the `cacheKey` it has with them. */
function copyWith(row: Model, values: Record<string, unknown>): Model {
  return (row.constructor as ModelStatic<Model>).build({ ...row.get({ plain: true }), ...values }, { isNewRecord: false, raw: true })
}
