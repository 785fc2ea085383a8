import type { Sequelize } from 'sequelize'
import { OptionChecks } from '../option-checks'
import { Outbox } from '../outbox/outbox'
import { relayDue } from '../outbox/relay'
import { CliError, EXIT } from './exit'
import { plural, type Output } from './output'
import { messageOf, redacted, type Session } from './session'

export interface RelayFlags {
  /** The application database's URL. */
  readonly database: string | undefined
  readonly table: string
  /** Seconds. */
  readonly relayAfter: number
  /** Seconds between two passes. */
  readonly interval: number
  /** One pass, then exit. */
  readonly once: boolean
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const

/**
 * `cacheme relay`: delivers the outbox rows that their committing processes left (they died, or
 * could not reach Redis), as a worker or once. It knows no application code, so it delivers
 * what a job says plainly: the dependency sets are emptied and the instance cache entries deleted
 * with their guards raised, so that they are read fresh; a BaseCache's refresh and cascade need
 * the application's own relay (`startRelay()`).
 */
export async function relayCommand(session: Session, out: Output, flags: RelayFlags): Promise<number> {
  const checks: OptionChecks = new OptionChecks('relay')
  const relayAfter = checks.milliseconds('--relay-after', flags.relayAfter, { positive: true })! / 1000
  const intervalMs = checks.milliseconds('--interval', flags.interval, { positive: true })!
  const database = flags.database
  if (database === undefined || database === '') checks.fail('needs the application database: --database <url> or $DATABASE_URL')
  const sequelize = openDatabase(database)
  try {
    const outbox = new Outbox({ sequelize, tableName: flags.table, relayAfter }, checks)
    const pass = async () => {
      const delivered = await databaseStep(database, () => relayDue(outbox))
      session.throwFaults()
      return delivered
    }
    if (flags.once) {
      const delivered = await pass()
      const left = await databaseStep(database, () => outbox.pending())
      out.result({ delivered, left }, () => `delivered ${plural(delivered, 'change')}; ${left} left in ${outbox.tableName}\n`)
      return EXIT.ok
    }
    return await untilStopped(async () => {
      const delivered = await pass()
      if (delivered > 0) out.io.stdout.write(out.json ? `${JSON.stringify({ delivered })}\n` : `delivered ${plural(delivered, 'change')}\n`)
    }, intervalMs)
  } finally {
    await sequelize.close()
  }
}

/** Runs `pass` every `intervalMs` until SIGINT or SIGTERM, then ends with the pass under way. */
async function untilStopped(pass: () => Promise<void>, intervalMs: number): Promise<number> {
  let stop!: () => void
  const stopped = new Promise<void>(resolve => (stop = resolve))
  let stopping = false
  const onSignal = () => {
    stopping = true
    stop()
  }
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal)
  try {
    while (!stopping) {
      await pass()
      let timer: NodeJS.Timeout | undefined
      await Promise.race([stopped, new Promise(done => (timer = setTimeout(done, intervalMs)))])
      clearTimeout(timer)
    }
    return EXIT.ok
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal)
  }
}

/** A failure of the database is said as one. */
async function databaseStep<T>(url: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    if (error instanceof Error && error.name.startsWith('Sequelize')) throw new CliError(EXIT.database, `the database at ${redactedDatabase(url)} failed: ${messageOf(error)}`)
    throw error
  }
}

/** Sequelize is an optional peer dependency: loaded only for this command, with the application's dialect driver. */
function openDatabase(url: string): Sequelize {
  let library: typeof import('sequelize')
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer, loaded on demand
    library = require('sequelize') as typeof import('sequelize')
  } catch (error) {
    throw new CliError(EXIT.usage, `relay needs Sequelize: npm install sequelize (${messageOf(error)})`)
  }
  try {
    return new library.Sequelize(url, { logging: false })
  } catch (error) {
    throw new CliError(EXIT.usage, `bad database URL ${JSON.stringify(redactedDatabase(url))}: ${messageOf(error)}`)
  }
}

/** Messages never show a password. */
function redactedDatabase(url: string): string {
  try {
    return redacted(new URL(url))
  } catch {
    return 'given'
  }
}
