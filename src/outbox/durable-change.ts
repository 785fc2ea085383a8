import type { Model, ModelStatic, Transaction } from 'sequelize'
import { report, runtime } from '../config'
import { CachemeError } from '../errors'
import type { Outbox } from './outbox'

/** What a change's listeners will do, by listener name, as plain JSON. */
export type ChangeJobs = Readonly<Record<string, unknown>>

/** Models on another Sequelize instance than the outbox's, reported once each. */
const elsewhere = new WeakSet<object>()

/** The outbox that records this model's changes: the configured one, if the model is on its Sequelize instance. */
export function outboxOf(model: ModelStatic<Model>): Outbox | undefined {
  const { outbox } = runtime()
  if (!outbox || model.sequelize === outbox.sequelize) return outbox
  if (!elsewhere.has(model)) {
    elsewhere.add(model)
    const problem = `${model.name} is on another Sequelize instance than the outbox: its changes cannot be recorded in their transactions, and their invalidations are not durable`
    report(new CachemeError('INVALID_CONFIG', problem), { operation: 'invalidate', key: model.name })
  }
  return undefined
}

/**
 * A change's row in the outbox. The committing process settles it once it has delivered the
 * change: the row is deleted when the store took everything, and otherwise kept for a relay.
 */
export class RecordedChange {
  readonly #outbox: Outbox
  readonly #id: number | string
  #recorded: ChangeJobs

  constructor(outbox: Outbox, id: number | string, recorded: ChangeJobs) {
    this.#outbox = outbox
    this.#id = id
    this.#recorded = recorded
  }

  /**
   * Before the delivery of a change recorded as an intent: `jobs` is what the write turned out to
   * need (the rows as the write left them), which the intent may lack; the row is rewritten
   * first, so that a death during the delivery leaves all of it. A fault is reported: the intent
   * stays, and the delivery goes on.
   */
  async complete(jobs: ChangeJobs): Promise<void> {
    if (JSON.stringify(jobs) === JSON.stringify(this.#recorded)) return
    try {
      await this.#outbox.rewrite(this.#id, jobs)
      this.#recorded = jobs
    } catch (error) {
      this.#reportFault(error)
    }
  }

  /**
   * After the delivery. `delivered`: the stores took everything, and the row is deleted;
   * otherwise it stays for a relay. A fault is reported: the row then stays, and a relay delivers
   * it again, which is harmless.
   */
  async settle(delivered: boolean): Promise<void> {
    if (!delivered) return
    try {
      await this.#outbox.remove([this.#id])
    } catch (error) {
      this.#reportFault(error)
    }
  }

  #reportFault(error: unknown): void {
    report(error, { operation: 'invalidate', key: `${this.#outbox.tableName}:${this.#id}` })
  }
}

/** Intents recorded before writes outside a transaction, per write's options, by what its after-hook names them with. */
const intents = new WeakMap<object, Map<object, RecordedChange>>()

/**
 * Keeps an intent for the after-hook of the same write: `key` is the instance for an instance's
 * hooks (a bulk write with `individualHooks` runs them for every row with one options object),
 * the options themselves for a bulk write's hooks.
 */
export function keepIntent(options: object, key: object, intent: RecordedChange): void {
  let kept = intents.get(options)
  if (!kept) intents.set(options, (kept = new Map()))
  kept.set(key, intent)
}

/** The intent kept for `key`, handed over once. */
export function takeIntent(options: object | undefined, key: object | undefined): RecordedChange | undefined {
  const kept = options && key ? intents.get(options) : undefined
  const intent = kept?.get(key!)
  kept?.delete(key!)
  return intent
}

/**
 * Writes a change's jobs to the outbox in `transaction`, where the change is written, so that
 * both commit or neither does; a fault then fails the write, as any fault of its transaction does.
 * Outside a transaction, `afterWrite` says the write has happened already: a fault is reported
 * and the change is delivered all the same, just not durably.
 */
export async function recordChange(
  outbox: Outbox,
  model: ModelStatic<Model>,
  jobs: ChangeJobs,
  transaction: Transaction | null,
  afterWrite = false,
): Promise<RecordedChange | undefined> {
  try {
    return new RecordedChange(outbox, await outbox.record(model.name, jobs, transaction), jobs)
  } catch (error) {
    if (transaction || !afterWrite) throw error
    report(error, { operation: 'invalidate', key: model.name })
    return undefined
  }
}
