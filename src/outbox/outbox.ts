import type { DataTypes, Model, ModelStatic, Op, Sequelize, Transaction } from 'sequelize'
import { OptionChecks } from '../option-checks'

/**
 * A Sequelize instance, as far as the published declarations need to say: `sequelize` is an
 * optional peer dependency, so they do not import its types.
 */
export interface SequelizeInstance {
  readonly models: Readonly<Record<string, unknown>>
  // Method syntax keeps the parameters bivariant, so Sequelize's overloads fit.
  define(...args: never[]): unknown
  transaction(...args: never[]): Promise<unknown>
}

export interface OutboxOptions {
  /**
   * The Sequelize instance of the models whose changes are recorded. The outbox table is defined
   * on it as a model, so `sequelize.sync()` creates it; a migration can too (see the README).
   */
  readonly sequelize: SequelizeInstance
  /**
   * The table's name.
   * @default 'cacheme_outbox'
   */
  readonly tableName?: string
  /**
   * Seconds after which any process's relay delivers a recorded change that its committing
   * process has not settled (it died, or could not reach Redis).
   * @default 2
   */
  readonly relayAfter?: number
}

/** A recorded change: per listener name, its job as JSON gave it back. */
export interface OutboxRow {
  readonly id: number | string
  /** The name of the model whose rows changed. */
  readonly model: string
  /** Undefined when the stored text is not a JSON object (written by hand, or cut short). */
  readonly jobs: Readonly<Record<string, unknown>> | undefined
}

/** The columns of the table; the README's migration creates the same. */
interface StoredRow {
  id: number | string
  model: string
  jobs: string
  recordedAt: number | string
}

const OPTION_NAMES = ['sequelize', 'tableName', 'relayAfter'] as const
const DEFAULT_TABLE = 'cacheme_outbox'
const DEFAULT_RELAY_AFTER_MS = 2_000

/** The parts of the Sequelize library the table needs, reached through the instance (`sequelize` is an optional peer). */
interface SequelizeLibrary {
  readonly DataTypes: typeof DataTypes
  readonly Op: typeof Op
  readonly Transaction: typeof Transaction
}

/**
 * The transactional outbox: a table of the application's database that holds each change's
 * invalidation from the change's own transaction until it is delivered to the cache. The
 * committing process deletes its row once Redis took the invalidation; any process's relay
 * delivers the rows left older than `relayAfter`.
 */
export class Outbox {
  readonly sequelize: SequelizeInstance
  readonly tableName: string
  readonly relayAfterMs: number
  readonly #database: Sequelize
  readonly #table: ModelStatic<Model<StoredRow>>
  readonly #library: SequelizeLibrary
  readonly #onClose = new Set<() => Promise<void>>()

  constructor(options: OutboxOptions, checks: OptionChecks = new OptionChecks('configure()', 'INVALID_CONFIG')) {
    checks.object(options, OPTION_NAMES, 'outbox must be an object')
    const { sequelize } = options
    if (sequelize === null || typeof sequelize !== 'object' || typeof sequelize.define !== 'function' || typeof sequelize.transaction !== 'function') {
      checks.fail('outbox.sequelize must be a Sequelize instance')
    }
    this.sequelize = sequelize
    this.#database = sequelize as unknown as Sequelize
    this.tableName = checks.optionalString('outbox.tableName', options.tableName) ?? DEFAULT_TABLE
    this.relayAfterMs = checks.milliseconds('outbox.relayAfter', options.relayAfter, { positive: true }) ?? DEFAULT_RELAY_AFTER_MS
    this.#library = this.#database.constructor as unknown as SequelizeLibrary
    this.#table = this.#define()
  }

  /** Row locks let relays in several processes share the rows (PostgreSQL's FOR UPDATE SKIP LOCKED); SQLite has none. */
  get locksRows(): boolean {
    return (this.#database as unknown as { dialect: { supports: { skipLocked?: boolean } } }).dialect.supports.skipLocked === true
  }

  /** Writes a change's jobs in `transaction` (a Sequelize transaction; null: in a statement of its own) and returns the row's id. */
  async record(model: string, jobs: Readonly<Record<string, unknown>>, transaction: object | null): Promise<number | string> {
    const row = await this.#table.create({ model, jobs: JSON.stringify(jobs), recordedAt: Date.now() } as StoredRow, {
      transaction: transaction as Transaction | null,
      hooks: false,
      logging: false,
    })
    return row.get('id') as number | string
  }

  /** Replaces a row's jobs: the change turned out to need more than was recorded before it. */
  async rewrite(id: number | string, jobs: Readonly<Record<string, unknown>>): Promise<void> {
    await this.#table.update({ jobs: JSON.stringify(jobs) }, { where: { id }, transaction: null, hooks: false, logging: false })
  }

  async remove(ids: readonly (number | string)[], transaction: object | null = null): Promise<void> {
    if (ids.length === 0) return
    await this.#table.destroy({ where: { id: [...ids] }, transaction: transaction as Transaction | null, hooks: false, logging: false })
  }

  /**
   * Hands at most `limit` rows recorded more than `relayAfter` ago, oldest first, to `deliver`,
   * then deletes those it returns; the others are due again later. Two relays never hold one row
   * at once: where the dialect has row locks, the rows stay locked until then and rows another
   * relay holds are skipped; elsewhere the rows are claimed first. Resolves to how many rows were
   * handed over.
   */
  relay(limit: number, deliver: (rows: readonly OutboxRow[]) => Promise<readonly (number | string)[]>): Promise<number> {
    return this.locksRows ? this.#relayLocked(limit, deliver) : this.#relayClaimed(limit, deliver)
  }

  /** PostgreSQL: the rows stay locked (`FOR UPDATE SKIP LOCKED`) in a transaction until delivered and deleted. */
  async #relayLocked(limit: number, deliver: (rows: readonly OutboxRow[]) => Promise<readonly (number | string)[]>): Promise<number> {
    const transaction = await this.#database.transaction()
    try {
      const rows = await this.#due(limit, transaction)
      await this.remove(await deliver(rows), transaction)
      await transaction.commit()
      return rows.length
    } catch (error) {
      await transaction.rollback()
      throw error
    }
  }

  /**
   * Without row locks (SQLite): a short transaction that takes the database's write lock as it
   * begins (`BEGIN IMMEDIATE`, so two relays cannot both read a row before either claims it)
   * claims the due rows by stamping them as recorded now: no other relay finds them due for
   * another `relayAfter`. They are delivered after that transaction, holding no lock; the rows of
   * a relay that dies meanwhile are due again `relayAfter` later.
   */
  async #relayClaimed(limit: number, deliver: (rows: readonly OutboxRow[]) => Promise<readonly (number | string)[]>): Promise<number> {
    // Most passes find nothing due: they read without taking the write lock from the application.
    if ((await this.#due(1, null)).length === 0) return 0
    const claimed = await this.#database.transaction({ type: this.#library.Transaction.TYPES.IMMEDIATE }, async transaction => {
      const rows = await this.#due(limit, transaction)
      const where = { id: rows.map(row => row.id) }
      if (rows.length > 0) await this.#table.update({ recordedAt: Date.now() }, { where, transaction, hooks: false, logging: false })
      return rows
    })
    await this.remove(await deliver(claimed))
    return claimed.length
  }

  /** The rows due for a relay, oldest first; locked in `transaction` where the dialect can skip locked rows. */
  async #due(limit: number, transaction: Transaction | null): Promise<OutboxRow[]> {
    const stored = await this.#table.findAll({
      where: { recordedAt: { [this.#library.Op.lte]: Date.now() - this.relayAfterMs } },
      order: [['id', 'ASC']],
      limit,
      transaction,
      lock: transaction && this.locksRows ? true : undefined,
      skipLocked: transaction && this.locksRows ? true : undefined,
      raw: true,
      logging: false,
    })
    return (stored as unknown as StoredRow[]).map(row => ({ id: row.id, model: row.model, jobs: parsedJobs(row.jobs) }))
  }

  /** How many rows wait for delivery, due or not. */
  pending(): Promise<number> {
    return this.#table.count({ transaction: null, logging: false })
  }

  /** Runs `stop` when the outbox is closed (a relay stops with it); returns a function that forgets it. */
  onClose(stop: () => Promise<void>): () => void {
    this.#onClose.add(stop)
    return () => this.#onClose.delete(stop)
  }

  /** Stops what runs on this outbox; the table and its rows stay. */
  async close(): Promise<void> {
    const stops = [...this.#onClose]
    this.#onClose.clear()
    await Promise.all(stops.map(stop => stop()))
  }

  /** The table as a model of the Sequelize instance; configuring the same table again reuses it. */
  #define(): ModelStatic<Model<StoredRow>> {
    const existing = this.#database.models[this.tableName] as ModelStatic<Model<StoredRow>> | undefined
    if (existing?.getTableName() === this.tableName) return existing
    const { DataTypes: types } = this.#library
    return this.#database.define<Model<StoredRow>>(
      this.tableName,
      {
        id: { type: types.BIGINT, autoIncrement: true, primaryKey: true },
        model: { type: types.STRING, allowNull: false },
        jobs: { type: types.TEXT, allowNull: false },
        recordedAt: { type: types.BIGINT, allowNull: false, field: 'recorded_at' },
      },
      { tableName: this.tableName, timestamps: false, indexes: [{ fields: ['recorded_at'] }] },
    )
  }
}

function parsedJobs(text: string): Record<string, unknown> | undefined {
  try {
    const jobs = JSON.parse(text) as unknown
    return jobs !== null && typeof jobs === 'object' && !Array.isArray(jobs) ? (jobs as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
