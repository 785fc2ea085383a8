import type { Model, ModelStatic, QueryOptions, Sequelize } from 'sequelize'
import { recordTransaction } from '../recorded-dependencies'
import { libraryOf } from './sequelize-internals'

/** The parts of a Sequelize transaction read here and by the after-commit hooks (the typings declare neither `parent` nor `finished`). */
export interface TransactionInternals {
  /** Set on a savepoint: only the outermost transaction's commit makes a change visible. */
  readonly parent?: TransactionInternals
  /** Set when Sequelize issues its COMMIT or its ROLLBACK (TO SAVEPOINT). */
  readonly finished?: 'commit' | 'rollback'
  readonly options: { readonly isolationLevel?: string | null }
  readonly sequelize: { getDialect(): string }
  afterCommit(fn: () => unknown): void
}

/** What the query hooks have seen of one outermost transaction. */
interface TransactionState {
  /** A data statement ran in it: the first one took its snapshot. */
  read: boolean
  /** A statement in it, or in one of its savepoints, may have changed rows. */
  wrote: boolean
  /** Raw statements under way: whether they write is known once their SQL is. */
  readonly rawUnderWay: Set<object>
}

type HookedQueryOptions = QueryOptions & { readonly transaction?: TransactionInternals | null; readonly completesTransaction?: boolean }

const HOOK_NAME = 'cacheme'
const READ_ONLY_TYPES = new Set(['SELECT', 'SHOWTABLES', 'SHOWINDEXES', 'DESCRIBE', 'FOREIGNKEYS', 'SHOWCONSTRAINTS', 'VERSION'])
/** Sequelize gives BEGIN, SAVEPOINT and SET TRANSACTION the transaction's type as their query type. */
const TRANSACTION_TYPES = new Set(['DEFERRED', 'IMMEDIATE', 'EXCLUSIVE'])
/** Raw SQL that changes no rows; anything else (WITH, EXPLAIN ANALYZE, a DML statement) counts as a write. */
const READ_ONLY_SQL = /^\s*(?:--|(?:select|show|values|begin|start|set|savepoint|release|rollback|commit|pragma)\b)/i
/** Dialects whose transactions default to READ COMMITTED: every statement reads what was committed when it began. */
const READ_COMMITTED_BY_DEFAULT = new Set(['postgres', 'mssql', 'oracle'])

const states = new WeakMap<TransactionInternals, TransactionState>()
/** Transactions that have written and are not finished; while there is none, a call looks up no CLS transaction. */
const openWritten = new Set<TransactionInternals>()
/** The Sequelize classes of the watched instances: `Sequelize.useCLS` sets its namespace on the class. */
const libraries: NonNullable<ReturnType<typeof libraryOf>>[] = []
const watched = new WeakSet<Sequelize>()

/**
 * Installs, once per Sequelize instance, the query hooks that tell which transaction a computation
 * read in and whether it has written. Models are registered before the application opens
 * transactions: one already open then is judged by the statements seen after.
 */
export function watchTransactions(model: ModelStatic<Model>): void {
  const { sequelize } = model
  const library = libraryOf(model)
  if (!sequelize || !library || watched.has(sequelize)) return
  watched.add(sequelize)
  if (!libraries.includes(library)) libraries.push(library)
  sequelize.addHook('beforeQuery', HOOK_NAME, (options: HookedQueryOptions) => beforeQuery(options))
  // The query's SQL is known once it has run.
  sequelize.addHook('afterQuery', HOOK_NAME, (options: HookedQueryOptions, query: object) => afterQuery(options, (query as { sql?: unknown }).sql))
}

export function outermost(transaction: TransactionInternals): TransactionInternals {
  let root = transaction
  while (root.parent) root = root.parent
  return root
}

/** Sequelize has put the CLS transaction into `options` by now, so queries that were not given one are seen too. */
function beforeQuery(options: HookedQueryOptions): void {
  if (!options.transaction || isTransactionControl(options)) return
  const root = outermost(options.transaction)
  let state = states.get(root)
  if (!state) states.set(root, (state = { read: false, wrote: false, rawUnderWay: new Set() }))
  recordTransaction(root, !state.read)
  state.read = true
  if (options.type === 'RAW') state.rawUnderWay.add(options)
  else if (!READ_ONLY_TYPES.has(options.type ?? '')) wrote(root, state)
}

function afterQuery(options: HookedQueryOptions, sql: unknown): void {
  if (!options.transaction) return
  const root = outermost(options.transaction)
  if (root.finished) openWritten.delete(root)
  const state = states.get(root)
  if (state?.rawUnderWay.delete(options) && !READ_ONLY_SQL.test(String(sql))) wrote(root, state)
}

function isTransactionControl(options: HookedQueryOptions): boolean {
  return options.completesTransaction === true || TRANSACTION_TYPES.has(options.type ?? '')
}

function wrote(root: TransactionInternals, state: TransactionState): void {
  state.wrote = true
  if (!root.finished) openWritten.add(root)
}

/**
 * Whether this call runs inside a transaction that has written, as far as Sequelize's CLS namespace
 * tells the current transaction: its reads must see its own writes, so it bypasses the cache.
 */
export function insideWrittenTransaction(): boolean {
  if (openWritten.size === 0) return false
  for (const library of libraries) {
    const transaction = library._cls?.get('transaction') as TransactionInternals | null | undefined
    if (transaction && openWritten.has(outermost(transaction))) return true
  }
  return false
}

/**
 * Whether a value computed from reads in these transactions (with, for each, whether the
 * computation made its first statement) may be stored for other readers. Not when one has written:
 * its reads may see its uncommitted rows. Nor when one reads a single snapshot (REPEATABLE READ,
 * SERIALIZABLE, SQLite) taken before the computation began: a change may have committed and been
 * invalidated between the snapshot and the sequence the call read, which then guards nothing. A
 * snapshot taken by the computation is newer than that sequence, and READ COMMITTED reads committed
 * rows per statement: those are stored under the usual guard.
 */
export function readsMayBeCached(transactions: ReadonlyMap<object, boolean>): boolean {
  for (const [transaction, snapshotTakenByComputation] of transactions) {
    const root = transaction as TransactionInternals
    const state = states.get(root)
    if (!state || state.wrote || state.rawUnderWay.size > 0) return false
    if (!snapshotTakenByComputation && !readsCommittedPerStatement(root)) return false
  }
  return true
}

/** The transaction's isolation level, else the dialect's default; SQLite transactions are serializable whatever the level. */
function readsCommittedPerStatement(root: TransactionInternals): boolean {
  const dialect = root.sequelize.getDialect()
  const level = root.options.isolationLevel
  if (dialect === 'sqlite') return false
  if (!level) return READ_COMMITTED_BY_DEFAULT.has(dialect)
  // PostgreSQL runs READ UNCOMMITTED as READ COMMITTED; other databases let it read uncommitted rows.
  return level === 'READ COMMITTED' || (level === 'READ UNCOMMITTED' && dialect === 'postgres')
}
