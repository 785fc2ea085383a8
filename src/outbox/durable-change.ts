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
  constructor(
    private readonly outbox: Outbox,
    private readonly id: number | string,
    private readonly recorded: ChangeJobs,
  ) {}

  /**
   * `delivered`: the stores took everything. `jobs`: what the change turned out to need, which a
   * row written before the write (an intent) may lack. A fault is reported: the row then stays,
   * and a relay delivers it again, which is harmless.
   */
  async settle(delivered: boolean, jobs: ChangeJobs): Promise<void> {
    try {
      if (delivered) await this.outbox.remove([this.id])
      else if (JSON.stringify(jobs) !== JSON.stringify(this.recorded)) await this.outbox.rewrite(this.id, jobs)
    } catch (error) {
      report(error, { operation: 'invalidate', key: `${this.outbox.tableName}:${this.id}` })
    }
  }
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
