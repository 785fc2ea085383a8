// The long torture run:
//   npm run torture -- --seconds 60 [--processes 2] [--readers 12] [--writers 3] [--books 1000]
//                      [--seed 1] [--no-faults] [--modes all,guard,transactionReads,clsBypass,outbox] [--cluster]
//                      [--local] (with --processes N: N reader processes with the in-process tier too;
//                      its modes pendingReads and reconnectFlush switch its mechanisms off)
// Starts a private redis-server and PostgreSQL (DATABASE_URL overrides the latter) and runs the
// workload once per mode: every mechanism on, then each mechanism switched off in turn (the
// outbox only with writer processes, which are killed). `--modes` may also name the write paths'
// controls: movedRows, computedValues, partialRows, counters. `--cluster` runs it on a private Redis
// Cluster of 3 masters and 3 replicas instead, whose faults are master kills (SIGKILL), each followed
// by a failover and the killed node's return as a replica. Prints the figures; exits 1 when a
// value was stale with every mechanism on, or when a control found none (the run then proves nothing).
import { parseArgs } from 'node:util'
import { startPostgres, type PostgresServer } from '../../tools/postgres-server'
import { startRedisCluster } from '../../tools/redis-cluster'
import { startRedisServer } from '../../tools/redis-server'
import { waitForReplicas } from '../cluster/master-kills'
import { formatRuns, type Run } from './figures'
import { LOCAL_MECHANISMS, MECHANISMS, WRITE_PATHS, type Mechanism } from './mechanisms'
import type { TortureRedis } from './redis-target'
import { runWorkload } from './workload'
import { modeOf, type WorkloadOptions } from './workload-options'

type Mode = 'all' | Mechanism
const MODES: readonly Mode[] = ['all', ...MECHANISMS, ...WRITE_PATHS, ...LOCAL_MECHANISMS]
/** Every mechanism on, then each off; the write paths' controls only when asked for. */
const DEFAULT_MODES: readonly Mode[] = ['all', ...MECHANISMS]

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      readers: { type: 'string', default: '12' },
      writers: { type: 'string', default: '3' },
      processes: { type: 'string', default: '0' },
      books: { type: 'string', default: '1000' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      modes: { type: 'string', default: DEFAULT_MODES.join(',') },
      'no-faults': { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
    },
  })
  const number = (name: 'seconds' | 'readers' | 'writers' | 'processes' | 'books' | 'seed', least = 1) => {
    const value = Number(values[name])
    if (!Number.isInteger(value) || value < least) throw new Error(`--${name} must be an integer of at least ${least}, got ${values[name]}`)
    return value
  }
  const workload: WorkloadOptions = {
    durationMs: number('seconds') * 1000,
    readers: number('readers'),
    writers: number('writers'),
    processes: number('processes', 0),
    books: number('books', 10),
    faults: !values['no-faults'],
    seed: number('seed', 0),
    local: values.local,
  }
  if (workload.local && workload.processes === 0) throw new Error('--local needs --processes N: the number of reader processes with the in-process tier')
  const modes = (values.modes === DEFAULT_MODES.join(',') && workload.local ? [...DEFAULT_MODES, ...LOCAL_MECHANISMS] : values.modes.split(',').map(mode => mode.trim())) as Mode[]
  const unknown = modes.filter(mode => !MODES.includes(mode))
  if (unknown.length > 0) throw new Error(`--modes: unknown ${unknown.join(', ')} (known: ${MODES.join(', ')})`)
  if (modes.includes('outbox') && workload.processes === 0) {
    console.log('the outbox control needs writer processes to kill: skipped without --processes')
    modes.splice(modes.indexOf('outbox'), 1)
  }

  for (const mode of LOCAL_MECHANISMS) {
    if (!workload.local && modes.includes(mode)) {
      console.log(`the ${mode} control needs the reader processes of --local: skipped`)
      modes.splice(modes.indexOf(mode), 1)
    }
  }

  let redis: TortureRedis | undefined
  let postgres: PostgresServer | undefined
  try {
    redis = values.cluster ? await startCluster() : await startRedisServer()
    if (!process.env.DATABASE_URL) postgres = await startPostgres()
    const databaseUrl = process.env.DATABASE_URL ?? postgres!.url
    const runs: Run[] = []
    for (const mode of modes) {
      const options: WorkloadOptions = { ...workload, off: mode === 'all' ? undefined : mode }
      console.log(
        `running ${options.durationMs / 1000} s, ${modeOf(options)}${values.cluster ? ', on a Cluster' : ''}${workload.faults ? ', with faults' : ''}, seed ${workload.seed} ...`,
      )
      runs.push({ options, figures: await runWorkload({ redis, databaseUrl }, options) })
    }
    console.log(formatRuns(runs))
    return verdict(runs)
  } finally {
    await Promise.allSettled([redis?.stop(), postgres?.stop()])
  }
}

/** 3 masters with a replica each, which take over from a killed master after the 2 s node timeout. */
async function startCluster(): Promise<TortureRedis> {
  const cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 2000 })
  await waitForReplicas(cluster)
  return cluster
}

/** 0 when every mechanism on left nothing stale and every control found something stale. */
function verdict(runs: readonly Run[]): number {
  let code = 0
  for (const { options, figures } of runs) {
    if (options.off === undefined && figures.stale > 0) {
      console.error(`FAIL: ${figures.stale} stale values with every mechanism on`)
      code = 1
    }
    if (options.off === undefined && figures.operations.readErrors > 0) {
      console.error(`FAIL: ${figures.operations.readErrors} decorated calls threw`)
      code = 1
    }
    if (options.off !== undefined && figures.stale === 0) {
      console.error(`FAIL: ${modeOf(options)}: no stale value found, so this run did not exercise what that mechanism prevents`)
      code = 1
    }
  }
  if (code === 0) console.log('OK: no stale value with every mechanism on; some with each one off')
  return code
}

main().then(
  code => process.exit(code),
  error => {
    console.error(error)
    process.exit(1)
  },
)
