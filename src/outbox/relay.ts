import type { Model, ModelStatic } from 'sequelize'
import { nothingWaiting, report, runtime } from '../config'
import { CachemeError } from '../errors'
import { invalidateDependencies, invalidateEverything } from '../invalidation'
import { OptionChecks } from '../option-checks'
import type { ChangeJob } from '../sequelize/change-listener'
import { changeListeners } from '../sequelize/model-change'
import type { Outbox, OutboxRow } from './outbox'

/** Rows per step: one query, one batch of deliveries, one delete. */
const BATCH_SIZE = 100

export interface RelayOptions {
  /**
   * Seconds between two passes over the outbox.
   * @default the outbox's `relayAfter`
   */
  readonly interval?: number
}

/** A relay running in this process; `shutdown()` stops it too. */
export interface OutboxRelay {
  /** Stops it, after the pass under way. */
  stop(): Promise<void>
}

/**
 * One pass over the configured outbox: delivers the rows recorded more than `relayAfter` ago,
 * which their committing process did not settle (it died, or could not reach Redis), and
 * deletes them. Resolves to how many rows were delivered.
 */
export async function relayOutbox(): Promise<number> {
  const { outbox } = runtime()
  if (!outbox) throw new CachemeError('INVALID_CONFIG', 'relayOutbox(): no outbox is configured: configure({ outbox: { sequelize } }) first')
  return relayDue(outbox)
}

/**
 * Runs `relayOutbox()` in this process every `interval` seconds until stopped. Each row's jobs go
 * to the listeners this process has registered (a `BaseCache` refreshes its rows and runs the
 * cascade); the job of a listener it lacks is delivered as `cacheme relay` delivers it.
 */
export function startRelay(options: RelayOptions = {}): OutboxRelay {
  const checks: OptionChecks = new OptionChecks('startRelay()')
  checks.object(options, ['interval'])
  const { outbox } = runtime()
  if (!outbox) checks.fail('no outbox is configured: configure({ outbox: { sequelize } }) first')
  return new PeriodicRelay(outbox, checks.milliseconds('interval', options.interval, { positive: true }) ?? outbox.relayAfterMs)
}

/**
 * Delivers the outbox's due rows in batches, through the store in force. A row is deleted once
 * the store took everything it names; when an invalidation has to wait for Redis instead, the
 * pass stops and leaves that row and the rest for the next one.
 */
export async function relayDue(outbox: Outbox): Promise<number> {
  if (!runtime().enabled) return 0
  let delivered = 0
  for (;;) {
    let waiting = false
    const seen = await outbox.relay(BATCH_SIZE, async rows => {
      const done: (number | string)[] = []
      for (const row of rows) {
        if ((waiting = !(await deliverRow(outbox, row)))) break
        done.push(row.id)
      }
      delivered += done.length
      return done
    })
    if (waiting || seen < BATCH_SIZE) return delivered
  }
}

/**
 * Hands each job to the listeners named for it, or delivers its portable part; false when some of
 * it waits for a store to answer. A job that fails is reported: delivering it again would fail
 * the same way.
 */
async function deliverRow(outbox: Outbox, row: OutboxRow): Promise<boolean> {
  const key = `${outbox.tableName}:${row.id}`
  if (!row.jobs) {
    report(new CachemeError('INVALID_CONFIG', `the outbox row ${key} does not hold a JSON object of jobs; it is deleted undelivered`), { operation: 'invalidate', key })
    return true
  }
  const model = outbox.sequelize.models[row.model] as ModelStatic<Model> | undefined
  const listeners = model ? [...changeListeners(model)] : []
  let delivered = true
  for (const [name, job] of Object.entries(row.jobs)) {
    try {
      const named = listeners.filter(listener => listener.name === name)
      if (named.length === 0) delivered = (await deliverPortably(job as ChangeJob)) && delivered
      for (const listener of named) delivered = (await listener.deliver(model!, job as ChangeJob)) && delivered
    } catch (error) {
      report(error, { operation: 'invalidate', key })
    }
  }
  return delivered
}

/**
 * What any process can deliver of a job, knowing no application code: the dependency sets
 * emptied, the instance entries deleted with their guards raised (not refreshed, and no cascade).
 */
async function deliverPortably(job: ChangeJob): Promise<boolean> {
  const { store, layout } = runtime()
  if (job.everything) await invalidateEverything()
  const instances = job.instances ?? []
  if (instances.length > 0) {
    try {
      await store.deleteEntries(instances.map(key => layout.entryOfMember(layout.prefix + key)))
    } catch (error) {
      report(error, { operation: 'invalidate', key: instances })
    }
  }
  await invalidateDependencies(job.invalidKeys ?? [], { grace: job.grace })
  await invalidateDependencies(instances)
  return nothingWaiting()
}

class PeriodicRelay implements OutboxRelay {
  readonly #outbox: Outbox
  readonly #intervalMs: number
  readonly #forget: () => void
  #timer: NodeJS.Timeout | undefined
  #pass: Promise<void> | undefined
  #stopped = false

  constructor(outbox: Outbox, intervalMs: number) {
    this.#outbox = outbox
    this.#intervalMs = intervalMs
    this.#forget = outbox.onClose(() => this.stop())
    this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#forget()
    await this.#pass
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#pass = relayDue(this.#outbox)
        .then(
          () => undefined,
          error => report(error, { operation: 'invalidate', key: this.#outbox.tableName }),
        )
        .finally(() => {
          this.#pass = undefined
          this.#schedule()
        })
    }, this.#intervalMs)
    // A relay alone does not keep the process alive.
    this.#timer.unref()
  }
}
