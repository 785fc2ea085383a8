// The long torture run: `npm run torture -- --seconds 60 [--readers 12] [--writers 3] [--seed 1] [--no-faults]`.
// Starts a private redis-server and PostgreSQL (DATABASE_URL overrides the latter), runs the
// workload with the stale-write guard and then, as a control, without it, and prints the figures.
// Exits 1 when a value was stale with the guard, or when the control found none (the run then
// proves nothing).
import { parseArgs } from 'node:util'
import { startPostgres, type PostgresServer } from '../../tools/postgres-server'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { formatRuns, type Run } from './figures'
import { runWorkload, type WorkloadOptions } from './workload'

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      readers: { type: 'string', default: '12' },
      writers: { type: 'string', default: '3' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      'no-faults': { type: 'boolean', default: false },
    },
  })
  const number = (name: keyof typeof values) => {
    const value = Number(values[name])
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${values[name]}`)
    return value
  }
  const workload: Omit<WorkloadOptions, 'guard'> = {
    durationMs: number('seconds') * 1000,
    readers: number('readers'),
    writers: number('writers'),
    faults: !values['no-faults'],
    seed: number('seed'),
  }

  let redis: RedisServer | undefined
  let postgres: PostgresServer | undefined
  try {
    redis = await startRedisServer()
    if (!process.env.DATABASE_URL) postgres = await startPostgres()
    const databaseUrl = process.env.DATABASE_URL ?? postgres!.url
    const runs: Run[] = []
    for (const guard of [true, false]) {
      const options = { ...workload, guard }
      console.log(
        `running ${options.durationMs / 1000} s ${guard ? 'with the guard' : 'with the guard bypassed (control)'}${workload.faults ? ', with faults' : ''}, seed ${workload.seed} ...`,
      )
      runs.push({ options, figures: await runWorkload({ redis, databaseUrl }, options) })
    }
    console.log(formatRuns(runs))
    const [guarded, control] = runs
    if (guarded.figures.stale > 0) {
      console.error(`FAIL: ${guarded.figures.stale} stale values with the guard`)
      return 1
    }
    if (guarded.figures.operations.readErrors > 0) {
      console.error(`FAIL: ${guarded.figures.operations.readErrors} decorated calls threw`)
      return 1
    }
    if (control.figures.stale === 0) {
      console.error('FAIL: the control run found no stale value, so this run did not exercise the race')
      return 1
    }
    console.log('OK: no stale value with the guard')
    return 0
  } finally {
    await Promise.allSettled([redis?.stop(), postgres?.stop()])
  }
}

main().then(
  code => process.exit(code),
  error => {
    console.error(error)
    process.exit(1)
  },
)
