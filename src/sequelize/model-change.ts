import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { delivering, nothingWaiting, report, runtime } from '../config'
import { CachemeError } from '../errors'
import { invalidateEverything } from '../invalidation'
import type { ModelClass } from '../options'
import { keepIntent, outboxOf, recordChange, takeIntent, type ChangeJobs } from '../outbox/durable-change'
import { failOpen } from './affected-rows'
import { currentTransaction, whenCommitted } from './after-commit'
import { announceAffected, isPastLimit, pagesOf, readAffected, type AffectedRows, type BulkOperation } from './bulk-writes'
import type { ChangeJob, ChangeListener, ChangeWork } from './change-listener'
import { asWritten, findConflicting, type ConflictOptions } from './conflicting-rows'
import { watchCounters } from './counters'
import { asRemovedOrRestored, asSaved, asSaving, readUnloadedColumns } from './instance-rows'
import { watchTransactions } from './transaction-reads'

const HOOK_NAME = 'cacheme'
/** Rows a write is about to touch, found by its before-hook for its after-hook. */
const FOUND = Symbol('cacheme.foundRows')
/** The same for a bulk write (Model.update / destroy / restore with a where). */
const AFFECTED = Symbol('cacheme.affectedRows')

/** The options of a write that listeners are told of. */
interface ChangeOptions {
  transaction?: Transaction | null
}

interface WriteOptions extends ConflictOptions, ChangeOptions {
  where?: WhereOptions
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

const listeners = new WeakMap<object, Set<ChangeListener>>()

/**
 * The work of a bulk write past its model's `cachemeBulkLimit`: every entry under the prefix,
 * recorded in the outbox like any change (a relay delivers it as `everything`).
 */
const EVERYTHING: readonly [string, ChangeWork][] = [
  [
    'cacheme.everything',
    {
      job: () => ({ everything: true }),
      run: async () => {
        await invalidateEverything()
        return nothingWaiting()
      },
    },
  ],
]

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

/** A registered model's listeners. */
export function changeListeners(model: ModelStatic<Model>): ReadonlySet<ChangeListener> {
  return listeners.get(model) ?? new Set()
}

/**
 * Tells a registered model's listeners of changed rows, and runs the work they return once the
 * change is committed (at once outside a transaction). With an outbox, the work is first
 * recorded in the change's transaction, one row per call (a write announced in parts records one
 * row per part), and the row deleted once the store took it all. `intent` names the intent the
 * write's before-hook recorded outside a transaction (`announceIntent`), which this completes.
 */
export function announceChange(model: ModelStatic<Model>, rows: readonly Model[], options: ChangeOptions | undefined, intent: object | undefined = options): Promise<void> {
  return announceWork(model, workOf(model, rows), options, intent)
}

async function announceWork(model: ModelStatic<Model>, work: readonly [string, ChangeWork][], options: ChangeOptions | undefined, intent: object | undefined): Promise<void> {
  const intended = takeIntent(options, intent)
  // Nothing to do now (a lookup failed): an intent stays for a relay to deliver.
  if (work.length === 0) return
  const outbox = outboxOf(model)
  const jobs = outbox ? jobsOf(work) : {}
  const transaction = currentTransaction(model, options) ?? null
  await intended?.complete(jobs)
  const recorded = intended ?? (outbox ? await recordChange(outbox, model, jobs, transaction, true) : undefined)
  return whenCommitted(model, options, () =>
    delivering(async () => {
      let delivered = true
      for (const [, next] of work) delivered = (await next.run()) && delivered
      await recorded?.settle(delivered)
    }),
  )
}

/**
 * Before a write outside a transaction, with an outbox: records what the rows as they are (and,
 * for a save, as they will be) need, so that a crash between the write and its delivery loses
 * nothing; a write that then fails leaves an extra invalidation, which is harmless. `intent`
 * names it for the write's after-hook, as `announceChange` takes it.
 */
function announceIntent(model: ModelStatic<Model>, rows: readonly Model[], options: ChangeOptions, intent: object): Promise<void> {
  return intendWork(model, () => workOf(model, rows), options, intent)
}

async function intendWork(model: ModelStatic<Model>, workNow: () => readonly [string, ChangeWork][], options: ChangeOptions, intent: object): Promise<void> {
  if (!runtime().enabled || currentTransaction(model, options)) return
  const outbox = outboxOf(model)
  const work = outbox ? workNow() : []
  const recorded = outbox && work.length > 0 ? await recordChange(outbox, model, jobsOf(work), null) : undefined
  if (recorded) keepIntent(options, intent, recorded)
}

function workOf(model: ModelStatic<Model>, rows: readonly Model[]): [name: string, work: ChangeWork][] {
  const installed = listeners.get(model)
  if (!installed || rows.length === 0 || !runtime().enabled) return []
  const work: [string, ChangeWork][] = []
  for (const listener of installed) {
    try {
      const next = listener.changed(model, rows)
      if (next) work.push([listener.name, next])
    } catch (error) {
      report(error, { operation: 'invalidate', key: model.name })
    }
  }
  return work
}

/** The jobs to record; one that cannot be described is reported and left out, and runs all the same. */
function jobsOf(work: readonly [string, ChangeWork][]): ChangeJobs {
  const jobs: Record<string, ChangeJob> = {}
  for (const [name, next] of work) {
    try {
      jobs[name] = next.job()
    } catch (error) {
      report(error, { operation: 'invalidate' })
    }
  }
  return jobs
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
  const changed = (rows: readonly Model[], options: WriteOptions, intent?: object) => announceChange(model, rows, options, intent)
  const hook = (name: string, fn: (...args: never[]) => unknown) => (model.addHook as Function).call(model, name, HOOK_NAME, fn)
  const enabled = () => runtime().enabled
  const intend = (rows: readonly Model[], options: WriteOptions, intent: object) => announceIntent(model, rows, options, intent)
  /** A before-hook's lookup, for the after-hook of the same write (a disabled cache needs none); outside a transaction, the intent of the rows as they are. */
  const find = async (options: WriteOptions, lookUp: () => Promise<Model[]>) => {
    if (!enabled()) return
    const rows = (options[FOUND] = await failOpen(model, lookUp))
    await intend(rows, options, options)
  }
  const found = (options: WriteOptions): Model[] | undefined => {
    const rows = options[FOUND]
    delete options[FOUND]
    return rows
  }

  hook('beforeCreate', (row: Model, options: WriteOptions) => intend([row], options, row))
  for (const name of ['beforeUpdate', 'beforeDestroy', 'beforeRestore']) {
    hook(name, async (row: Model, options: WriteOptions) => {
      if (!enabled()) return
      await readUnloadedColumns(model, row, options)
      await intend(name === 'beforeUpdate' ? asSaving(model, row) : [row], options, row)
    })
  }
  hook('afterCreate', (row: Model, options: WriteOptions) => changed([row], options, row))
  hook('afterUpdate', async (row: Model, options: WriteOptions) => (enabled() ? changed(await asSaved(model, row, options), options, row) : undefined))
  hook('afterDestroy', (row: Model, options: WriteOptions) => changed([asRemovedOrRestored(model, row)], options, row))
  hook('afterRestore', (row: Model, options: WriteOptions) => changed([asRemovedOrRestored(model, row)], options, row))

  // An insert that updates on conflict may move an existing row: its keys as it was and as it is.
  hook('beforeUpsert', (_values: unknown, options: WriteOptions) => find(options, () => findConflicting(model, options.instance ? [options.instance] : [], options)))
  hook('afterUpsert', async ([row]: [Model, boolean | null], options: WriteOptions) => {
    const before = found(options) ?? []
    return changed([...before, ...(await asWritten(model, before, [row], options))], options)
  })
  hook('beforeBulkCreate', (rows: Model[], options: WriteOptions) => {
    // With individualHooks, Sequelize inserts row by row through the create hooks.
    if (options.individualHooks) return
    if (options.updateOnDuplicate) return find(options, () => findConflicting(model, rows, options))
    return intend(rows, options, options)
  })
  hook('afterBulkCreate', async (rows: Model[], options: WriteOptions) => {
    const before = found(options)
    return changed(before ? [...before, ...(await asWritten(model, before, rows, options))] : rows, options)
  })

  for (const operation of ['Update', 'Destroy', 'Restore'] as const) {
    hook(`beforeBulk${operation}`, async (options: WriteOptions) => {
      // Sequelize runs the per-row hooks itself.
      if (options.individualHooks || !enabled()) return
      const affected = (options[AFFECTED] = await findAffected(model, operation, options))
      // Outside a transaction, an intent per page, which its announcement completes.
      if (isPastLimit(affected)) return intendWork(model, () => EVERYTHING, options, options)
      // Instances are built only when an intent is recorded: most bulk writes run in a transaction or without an outbox.
      const pageWork = (page: Record<string, unknown>[]) => () => workOf(model, model.bulkBuild(page, { raw: true, isNewRecord: false }))
      for (const page of pagesOf(affected)) await intendWork(model, pageWork(page), options, page)
    })
    hook(`afterBulk${operation}`, (options: WriteOptions) => {
      const affected = options[AFFECTED]
      delete options[AFFECTED]
      if (!affected) return
      if (isPastLimit(affected)) return announceWork(model, EVERYTHING, options, options)
      return announceAffected(model, affected, operation, options, (rows, page) => changed(rows, options, page))
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
