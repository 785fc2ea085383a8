import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { DataTypes, Model, Sequelize } from 'sequelize'
import { cacheme, configure, registerInvalidModels, shutdown } from '../src'
import { runtime } from '../src/config'
import { DEFAULT_BULK_LIMIT } from '../src/sequelize/bulk-writes'
import { postgresAvailable, startPostgres, type PostgresServer } from '../tools/postgres-server'
import { machineMarkdown, median, runAlone, verdictsMarkdown, type BenchRedis, type Measured, type Section, type Verdict } from './harness'

/** The write of the target: `User.update({ name }, { where: {} })` over this many rows. */
const ROWS = 200_000
/** The same on SQLite over a million rows: the hooks' memory must not grow with the rows. */
const MANY_ROWS = 1_000_000
/**
 * Child processes per contender, in an order rotated every round; times and peak RSS are their
 * medians. Every row's keys (no limit) take tens of seconds: that contender runs in the first round only.
 */
const ROUNDS = 3
/** Entries cached before the write, each depending on one user row; every one must be invalidated. */
const CACHED = 1000
const TIME_TARGET = 2
const RSS_TARGET_MB = 50
/** SLOWLOG records commands slower than this (µs) during the write: enough to find the longest. */
const SLOWLOG_FROM_US = 1000
const PREFIX = 'bulk:'
const STALE = `stale of the ${CACHED.toLocaleString('en')} cached, worst round`

/** A user row whose cache key names its team, as a serializer's dependencies would. */
class User extends Model {
  declare id: number
  declare name: string
  declare teamId: number
  get cacheKey(): string[] {
    return [`User:${this.id}`, `Team:${this.teamId}:users`]
  }
}

/** How the hooks are set up for one child: none (the write alone), or registered with a bulk limit. */
type Hooks = 'none' | 'default limit' | 'no limit'

interface ChildTask {
  readonly dialect: 'sqlite' | 'postgres'
  /** SQLite file or PostgreSQL URL, a fresh copy of the populated table for this child alone. */
  readonly database: string
  readonly redis: string
  readonly hooks: Hooks
}

interface ChildResult {
  /** From the call to the write's return, with every invalidation delivered. */
  readonly ms: number
  /** Peak resident set size of the child process over its whole life (getrusage). */
  readonly maxRssMb: number
  /** Cached entries still served with the old name after the write. */
  readonly stale: number
  readonly longestCommand: string
  readonly longestCommandUs: number
}

function openDatabase(dialect: ChildTask['dialect'], database: string): Sequelize {
  const sequelize = dialect === 'sqlite' ? new Sequelize({ dialect: 'sqlite', storage: database, logging: false }) : new Sequelize(database, { logging: false })
  User.init({ name: DataTypes.STRING, teamId: DataTypes.INTEGER }, { sequelize, modelName: 'User', tableName: 'users', timestamps: false })
  return sequelize
}

/** The write measured in a process of its own, so that its peak RSS is its own. */
async function child(task: ChildTask): Promise<ChildResult> {
  const sequelize = openDatabase(task.dialect, task.database)
  const redis = new Redis(task.redis)
  configure({ redis: task.redis, prefix: PREFIX })
  if (task.hooks !== 'none') {
    if (task.hooks === 'no limit') (User as unknown as { cachemeBulkLimit: number }).cachemeBulkLimit = Infinity
    registerInvalidModels([User])
  }
  let computed = 0
  const name = cacheme({ key: c => `User:${c.id}>name`, invalidKeys: c => `User:${c.id}` })(async (id: number) => {
    computed++
    return (await User.findByPk(id))!.name
  })
  await warm(name, () => computed)
  await redis.config('SET', 'slowlog-log-slower-than', String(SLOWLOG_FROM_US))
  await redis.call('SLOWLOG', 'RESET')

  const started = performance.now()
  await User.update({ name: 'renamed' }, { where: {} })
  while ((runtime().pendingInvalidations?.() ?? 0) > 0) await new Promise(resolve => setTimeout(resolve, 5))
  const ms = performance.now() - started

  const log = (await redis.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][]
  const [longest] = log.filter(([, , , args]) => !['SLOWLOG', 'CONFIG'].includes(String(args[0]).toUpperCase())).sort((a, b) => b[2] - a[2])
  let stale = 0
  for (let id = 1; id <= CACHED; id++) if ((await name(id)) !== 'renamed') stale++
  const maxRssMb = process.resourceUsage().maxRSS / 1024
  redis.disconnect()
  await shutdown()
  await sequelize.close()
  return { ms, maxRssMb, stale, longestCommand: longest ? String(longest[3][0]).toUpperCase() : '-', longestCommandUs: longest?.[2] ?? 0 }
}

/**
 * Caches every one of the CACHED entries before the write: a child starts on a busy machine, and
 * a store call that times out leaves its entry uncached, so passes go on until one computes nothing.
 */
async function warm(name: (id: number) => Promise<string>, computations: () => number): Promise<void> {
  for (let pass = 0; pass < 10; pass++) {
    const before = computations()
    for (let from = 1; from <= CACHED; from += 50) await Promise.all(Array.from({ length: 50 }, (_, i) => name(from + i)))
    if (pass > 0 && computations() === before) return
  }
  throw new Error(`the ${CACHED} entries could not all be cached`)
}

function runChild(task: ChildTask): ChildResult {
  const output = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, 'child', JSON.stringify(task)], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  })
  return JSON.parse(output.trim().split('\n').pop()!) as ChildResult
}

/** One table of ROWS (or MANY_ROWS) users on a dialect, copied afresh for every child. */
interface Dataset {
  readonly title: string
  readonly dialect: ChildTask['dialect']
  readonly rows: number
  readonly contenders: readonly Hooks[]
  /** A fresh copy of the populated table, the `index`-th; the string is the child's `database`. */
  copy(index: number): Promise<string>
  close(): Promise<void>
}

/** The users table, filled by one INSERT ... SELECT: a million rows through bulkCreate take minutes. */
async function populate(sequelize: Sequelize, rows: number): Promise<void> {
  await sequelize.sync({ force: true })
  const numbers =
    sequelize.getDialect() === 'sqlite'
      ? `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) SELECT i FROM n`
      : `SELECT i FROM generate_series(1, ${rows}) AS n(i)`
  await sequelize.query(`INSERT INTO users (id, name, "teamId") SELECT i, 'user', (i - 1) % 1000 FROM (${numbers}) AS numbers`)
}

/** What a dataset is, apart from how it is copied and closed. */
function described(dialect: ChildTask['dialect'], rows: number, contenders: readonly Hooks[]): Omit<Dataset, 'copy' | 'close'> {
  return { title: `${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${rows.toLocaleString('en')} rows`, dialect, rows, contenders }
}

async function sqliteDataset(rows: number, contenders: readonly Hooks[]): Promise<Dataset> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacheme-bulk-'))
  const template = path.join(dir, 'template.sqlite')
  const sequelize = openDatabase('sqlite', template)
  await populate(sequelize, rows)
  await sequelize.close()
  return {
    ...described('sqlite', rows, contenders),
    async copy(index) {
      fs.copyFileSync(template, path.join(dir, `copy${index}.sqlite`))
      return path.join(dir, `copy${index}.sqlite`)
    },
    async close() {
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A private PostgreSQL: the populated database is the template of each child's. */
async function postgresDataset(rows: number, contenders: readonly Hooks[]): Promise<Dataset> {
  const server: PostgresServer = await startPostgres()
  const urlOf = (database: string) => server.url.replace(/\/[^/]+$/, `/${database}`)
  const admin = new Sequelize(server.url, { logging: false })
  await admin.query('CREATE DATABASE bulk_template')
  const template = openDatabase('postgres', urlOf('bulk_template'))
  await populate(template, rows)
  await template.close()
  return {
    ...described('postgres', rows, contenders),
    async copy(index) {
      await admin.query(`CREATE DATABASE bulk_copy${index} TEMPLATE bulk_template`)
      return urlOf(`bulk_copy${index}`)
    },
    async close() {
      await admin.close()
      await server.stop()
    },
  }
}

const CONTENDER_NAMES: Record<Hooks, string> = {
  none: 'the write alone (no hooks)',
  'default limit': `with the hooks, default cachemeBulkLimit (${DEFAULT_BULK_LIMIT.toLocaleString('en')} rows): past it, every entry under the prefix`,
  'no limit': 'with the hooks, cachemeBulkLimit = Infinity: every row’s keys',
}

async function measure(dataset: Dataset, redis: BenchRedis, admin: Redis): Promise<Section> {
  const results = new Map<Hooks, ChildResult[]>(dataset.contenders.map(hooks => [hooks, []]))
  let copies = 0
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < dataset.contenders.length; i++) {
      const hooks = dataset.contenders[(i + round) % dataset.contenders.length]
      if (hooks === 'no limit' && round > 0) continue
      await admin.flushdb()
      const result = runChild({ dialect: dataset.dialect, database: await dataset.copy(copies++), redis: redis.url, hooks })
      console.log(`bulk: ${dataset.title}, ${hooks}, round ${round + 1}: ${Math.round(result.ms)} ms, peak RSS ${Math.round(result.maxRssMb)} MB, ${result.stale} stale`)
      results.get(hooks)!.push(result)
    }
  }
  const alone = results.get('none')!
  const baseMs = median(alone.map(r => r.ms))
  const baseRss = median(alone.map(r => r.maxRssMb))
  const measured: Measured[] = dataset.contenders.map(hooks => {
    const runs = results.get(hooks)!
    const ms = median(runs.map(r => r.ms))
    const rss = median(runs.map(r => r.maxRssMb))
    const rounds = runs.length
    const longest = runs.reduce((max, r) => (r.longestCommandUs > max.longestCommandUs ? r : max))
    return {
      name: CONTENDER_NAMES[hooks],
      medianUs: ms * 1000,
      perRound: runs.map(r => r.ms * 1000),
      ratio: median(runs.map((r, i) => r.ms / alone[i].ms)),
      rounds,
      samples: rounds,
      extra: {
        'peak RSS': `${Math.round(rss)} MB`,
        'extra peak RSS': hooks === 'none' ? '-' : `${Math.round(rss - baseRss)} MB`,
        'longest Redis command (SLOWLOG), worst round':
          longest.longestCommandUs > 0 ? `${(longest.longestCommandUs / 1000).toFixed(2)} ms (${longest.longestCommand})` : `under ${SLOWLOG_FROM_US / 1000} ms`,
        [STALE]: hooks === 'none' ? '- (nothing invalidates)' : String(Math.max(...runs.map(r => r.stale))),
      },
    }
  })
  const verdicts: Verdict[] = []
  const hooked = measured.find(m => m.name === CONTENDER_NAMES['default limit'])!
  const extraRss = median(results.get('default limit')!.map(r => r.maxRssMb)) - baseRss
  if (dataset.rows === ROWS) {
    verdicts.push({
      target: `${dataset.title}: the hooks take at most ${TIME_TARGET}× the write's own time`,
      measured: `${Math.round(hooked.medianUs / 1000)} ms vs ${Math.round(baseMs)} ms = ${hooked.ratio.toFixed(2)}×`,
      met: hooked.ratio <= TIME_TARGET,
      verdict: hooked.ratio <= TIME_TARGET ? 'yes' : `no, ${hooked.ratio.toFixed(2)}×`,
    })
  }
  verdicts.push({
    target: `${dataset.title}: the hooks add at most ${RSS_TARGET_MB} MB of peak RSS`,
    measured: `${Math.round(extraRss)} MB (${Math.round(baseRss + extraRss)} MB vs ${Math.round(baseRss)} MB)`,
    met: extraRss <= RSS_TARGET_MB,
    verdict: extraRss <= RSS_TARGET_MB ? 'yes' : `no, ${Math.round(extraRss)} MB`,
  })
  const stale = dataset.contenders.filter(hooks => hooks !== 'none').reduce((sum, hooks) => sum + Math.max(...results.get(hooks)!.map(r => r.stale)), 0)
  verdicts.push({ target: `${dataset.title}: no stale value after the write`, measured: `${stale} stale`, met: stale === 0, verdict: stale === 0 ? 'yes' : 'no' })
  return {
    title: `Bulk update, ${dataset.title}`,
    description: `\`User.update({ name: 'renamed' }, { where: {} })\` over ${dataset.rows.toLocaleString('en')} rows, ${CACHED.toLocaleString('en')} of them cached by a decorated method, on a private Redis. Each contender runs in a child process of its own on a fresh copy of the table (${ROUNDS} rounds, order rotated; every row's keys in the first round only), so that its peak RSS (getrusage) is its own; the time runs from the call until the write has returned and no invalidation waits. The ratio is the median over rounds of (contender / the write alone).`,
    reference: CONTENDER_NAMES.none,
    results: measured,
    extraColumns: ['peak RSS', 'extra peak RSS', 'longest Redis command (SLOWLOG), worst round', STALE],
    chart: false,
    measure: { header: 'update time', format: us => `${Math.round(us / 1000)} ms` },
    verdicts,
  }
}

export async function bulkWorkload(redis: BenchRedis): Promise<Section[]> {
  const admin = redis.client()
  const [, slowlogThreshold] = (await admin.config('GET', 'slowlog-log-slower-than')) as string[]
  const all: Hooks[] = ['none', 'default limit', 'no limit']
  const datasets: (() => Promise<Dataset>)[] = [() => sqliteDataset(ROWS, all)]
  if (postgresAvailable()) datasets.push(() => postgresDataset(ROWS, all))
  else console.warn('bulk: PostgreSQL not found, measured on SQLite only')
  datasets.push(() => sqliteDataset(MANY_ROWS, ['none', 'default limit']))
  const sections: Section[] = []
  try {
    for (const open of datasets) {
      const dataset = await open()
      try {
        sections.push(await measure(dataset, redis, admin))
      } finally {
        await dataset.close()
      }
    }
  } finally {
    await admin.config('SET', 'slowlog-log-slower-than', slowlogThreshold)
    await admin.flushdb()
  }
  return sections
}

if (require.main === module) {
  if (process.argv[2] === 'child') {
    child(JSON.parse(process.argv[3]) as ChildTask).then(
      result => {
        console.log(JSON.stringify(result))
        process.exit(0)
      },
      error => {
        console.error(error)
        process.exit(1)
      },
    )
  } else {
    void runAlone(async redis => {
      const sections = await bulkWorkload(redis)
      console.log(`\n${verdictsMarkdown(sections.flatMap(section => section.verdicts ?? []))}\n\n${await machineMarkdown(redis.client(), 'npm run bench:bulk')}`)
      return sections
    })
  }
}
