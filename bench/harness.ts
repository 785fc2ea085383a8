import 'reflect-metadata'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import { Bench } from 'tinybench'
import { startRedisServer, type RedisServer } from '../tools/redis-server'
import { configure } from '../src'

/** One measured thing: `run` is one operation; `perOp` calls inside it (concurrency) divide its time. */
export interface Contender {
  readonly name: string
  readonly run: () => Promise<unknown>
  /** Calls made by one `run`; the reported time is per call. Default 1. */
  readonly perOp?: number
  /** Runs before each of this contender's measurements (e.g. selects its configuration). */
  readonly before?: () => Promise<void> | void
}

export interface Measured {
  readonly name: string
  /** Median over rounds of the per-round median latency of one call, in microseconds (or the section's `measure`). */
  readonly medianUs: number
  /** The per-round values the median is taken over, in round order (rounds line up across one compare call). */
  readonly perRound?: number[]
  /** Median over rounds of (this contender / the reference) measured in the same round. */
  readonly ratio: number
  readonly rounds: number
  readonly samples: number
  /** Extra columns (round trips, slowlog, ...). */
  readonly extra?: Record<string, string>
}

export interface Section {
  readonly title: string
  readonly description: string
  readonly reference: string
  readonly results: Measured[]
  /** Extra column names, in order. */
  readonly extraColumns?: string[]
  readonly notes?: string[]
  /** false: not drawn on the ratio chart (e.g. absolute timings only). */
  readonly chart?: boolean
  /** What the value column holds when it is not a time per call. */
  readonly measure?: { readonly header: string; readonly format: (value: number) => string }
  readonly verdicts?: Verdict[]
}

/** A target checked against the measurements: listed under its section and in the summary. */
export interface Verdict {
  readonly target: string
  readonly measured: string
  readonly met: boolean
  /** The verdict cell, e.g. `yes` or `no, 1.20× slower`. */
  readonly verdict: string
}

export interface CompareOptions {
  readonly rounds?: number
  /** Time budget of each contender in each round, ms. */
  readonly time?: number
  readonly warmupTime?: number
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Runs every contender once per round, in an order rotated each round so no contender is always
 * first or last, each with tinybench's warmup and time budget. The first contender is the reference.
 */
export async function compare(contenders: Contender[], { rounds = 5, time = 300, warmupTime = 60 }: CompareOptions = {}): Promise<Measured[]> {
  const perRound = new Map<string, number[]>(contenders.map(c => [c.name, []]))
  const samples = new Map<string, number>(contenders.map(c => [c.name, 0]))
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length])
    for (const contender of order) {
      await contender.before?.()
      const bench = new Bench({ time, warmupTime, iterations: 8, throws: true })
      bench.add(contender.name, contender.run)
      await bench.run()
      const result = bench.tasks[0].result as { state: string; latency?: { p50: number; samplesCount: number } }
      if (!result.latency) throw new Error(`${contender.name}: no latency (${result.state})`)
      perRound.get(contender.name)!.push((result.latency.p50 * 1000) / (contender.perOp ?? 1))
      samples.set(contender.name, samples.get(contender.name)! + result.latency.samplesCount)
    }
  }
  const reference = perRound.get(contenders[0].name)!
  return contenders.map(c => {
    const times = perRound.get(c.name)!
    return {
      name: c.name,
      medianUs: median(times),
      perRound: times,
      ratio: median(times.map((t, i) => t / reference[i])),
      rounds,
      samples: samples.get(c.name)!,
    }
  })
}

/** The Redis under test: `REDIS_URL`, else a private redis-server on a free loopback port. */
export interface BenchRedis {
  readonly url: string
  readonly privateServer: boolean
  client(options?: RedisOptions): Redis
  stop(): Promise<void>
}

export async function startRedis(): Promise<BenchRedis> {
  let server: RedisServer | undefined
  let url = process.env.REDIS_URL
  if (!url) {
    server = await startRedisServer({ args: ['--slowlog-log-slower-than', '0', '--slowlog-max-len', '100000'] })
    url = server.url
  }
  const clients: Redis[] = []
  return {
    url,
    privateServer: server !== undefined,
    client(options = {}) {
      const client = new Redis(url!, { lazyConnect: false, ...options })
      clients.push(client)
      return client
    },
    async stop() {
      await Promise.all(clients.map(c => c.quit().catch(() => undefined)))
      await server?.stop()
    },
  }
}

/**
 * Counts the commands a client sends and the writes its socket makes to the kernel: one write
 * carries every command sent together (a pipeline, or commands queued while the socket was corked),
 * so writes are round trips.
 */
export class CommandSpy {
  commands = 0
  writes = 0
  readonly byName = new Map<string, number>()
  #restore: (() => void)[] = []

  constructor(client: Redis) {
    const send = client.sendCommand.bind(client)
    client.sendCommand = ((command: { name: string }, stream?: unknown) => {
      this.commands++
      this.byName.set(command.name, (this.byName.get(command.name) ?? 0) + 1)
      return send(command as never, stream as never)
    }) as typeof client.sendCommand
    this.#restore.push(() => delete (client as { sendCommand?: unknown }).sendCommand)
    const socket = client.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>
    for (const name of ['_write', '_writev'] as const) {
      const original = socket[name]
      socket[name] = (...args: unknown[]) => {
        this.writes++
        return original.apply(socket, args)
      }
      this.#restore.push(() => delete socket[name])
    }
  }

  reset(): void {
    this.commands = 0
    this.writes = 0
    this.byName.clear()
  }

  restore(): void {
    for (const undo of this.#restore) undo()
  }
}

/** Calls per command name from `INFO commandstats`. */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats')
  const stats = new Map<string, number>()
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim())
    if (match) stats.set(match[1], Number(match[2]))
  }
  return stats
}

export function statsDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>()
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0)
    if (d > 0) delta.set(name, d)
  }
  return delta
}

/** Median over rounds of a's time / b's time, both measured by the same compare call. */
export function roundRatio(a: Measured, b: Measured): number {
  if (!a.perRound || !b.perRound || a.perRound.length !== b.perRound.length) throw new Error(`${a.name} / ${b.name}: not measured in the same rounds`)
  return median(a.perRound.map((t, i) => t / b.perRound![i]))
}

/** Commands per call from a commandstats delta, e.g. `GET 1, SET 1`; Redis 7 also counts the commands scripts run. */
export function describeCommands(delta: Map<string, number>, calls: number): string {
  const counts = [...delta].filter(([name]) => name !== 'info').sort(([a], [b]) => a.localeCompare(b))
  if (!counts.length) return 'none'
  return counts.map(([name, count]) => `${name.toUpperCase()} ${Number((count / calls).toFixed(2))}`).join(', ')
}

export const formatUs = (us: number): string => (us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`)

export function sectionMarkdown(section: Section): string {
  const extras = section.extraColumns ?? []
  const lines = [`### ${section.title}`, '', section.description, '']
  const header = ['contender', section.measure?.header ?? 'median per call', 'ratio to reference', ...extras]
  lines.push(`| ${header.join(' | ')} |`)
  lines.push(`| --- | ---: | ---: |${extras.map(() => ' ---: |').join('')}`)
  for (const r of section.results) {
    const name = r.name === section.reference ? `${r.name} (reference)` : r.name
    const cells = [name, (section.measure?.format ?? formatUs)(r.medianUs), `${r.ratio.toFixed(2)}×`, ...extras.map(e => r.extra?.[e] ?? '')]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  if (section.notes?.length) lines.push('', ...section.notes)
  if (section.verdicts?.length) lines.push('', verdictsMarkdown(section.verdicts))
  return lines.join('\n')
}

export function verdictsMarkdown(verdicts: Verdict[]): string {
  return ['| target | measured | met |', '| --- | --- | --- |', ...verdicts.map(v => `| ${v.target} | ${v.measured} | ${v.verdict} |`)].join('\n')
}

export const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** A horizontal bar chart of every section's ratios (log scale, 1× marked). */
export function ratioChart(sections: Section[]): string {
  const drawn = sections.filter(s => s.chart !== false)
  const rowHeight = 18
  const labelWidth = 420
  const plotWidth = 420
  const left = labelWidth + 10
  const ratios = drawn.flatMap(s => s.results.map(r => r.ratio))
  const minLog = Math.floor(Math.log10(Math.min(0.5, ...ratios)) * 2) / 2
  const maxLog = Math.ceil(Math.log10(Math.max(2, ...ratios)) * 2) / 2
  const x = (ratio: number) => left + ((Math.log10(ratio) - minLog) / (maxLog - minLog)) * plotWidth
  const parts: string[] = []
  let y = 40
  for (const section of drawn) {
    parts.push(`<text x="10" y="${y + 13}" font-weight="bold">${escapeXml(section.title)}</text>`)
    y += rowHeight + 4
    for (const r of section.results) {
      const reference = r.name === section.reference
      const x1 = x(1)
      const x2 = x(r.ratio)
      const color = reference ? '#888' : r.ratio <= 1 ? '#2a9d58' : '#d9822b'
      parts.push(`<text x="${labelWidth}" y="${y + 12}" text-anchor="end">${escapeXml(r.name)}</text>`)
      parts.push(`<rect x="${Math.min(x1, x2).toFixed(1)}" y="${y + 2}" width="${Math.max(1.5, Math.abs(x2 - x1)).toFixed(1)}" height="${rowHeight - 5}" fill="${color}"/>`)
      parts.push(`<text x="${(Math.max(x1, x2) + 4).toFixed(1)}" y="${y + 12}">${r.ratio.toFixed(2)}×</text>`)
      y += rowHeight
    }
    y += 8
  }
  const height = y + 30
  const ticks: string[] = []
  for (let e = minLog; e <= maxLog + 1e-9; e += 0.5) {
    const value = 10 ** e
    const tx = x(value)
    ticks.push(`<line x1="${tx.toFixed(1)}" y1="30" x2="${tx.toFixed(1)}" y2="${height - 25}" stroke="#ddd"/>`)
    ticks.push(`<text x="${tx.toFixed(1)}" y="${height - 10}" text-anchor="middle">${value >= 10 ? value.toFixed(0) : value.toPrecision(2)}×</text>`)
  }
  const width = left + plotWidth + 70
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Median time per call relative to each workload's reference (log scale; left of the 1× line is faster)</text>`,
    ...ticks,
    `<line x1="${x(1).toFixed(1)}" y1="30" x2="${x(1).toFixed(1)}" y2="${height - 25}" stroke="#333"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

/** The installed version of one of the project's packages. */
export function version(pkg: string): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', pkg, 'package.json'), 'utf8')).version
  } catch {
    return 'not installed'
  }
}

export async function machineMarkdown(client: Redis, command: string): Promise<string> {
  const server = await client.info('server')
  const redisVersion = /redis_version:(\S+)/.exec(server)?.[1] ?? '?'
  let commit: string
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.join(__dirname, '..'), encoding: 'utf8' }).trim()
  } catch {
    commit = 'unknown'
  }
  const cpus = os.cpus()
  const own = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  return [
    `- command: \`${command}\``,
    `- date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, cacheme ${own.version} (git ${commit}, working tree)`,
    `- machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}; shared and noisy, so compare ratios measured in the same run rather than absolute times`,
    `- Node ${process.version}, Redis ${redisVersion} (${process.env.REDIS_URL ? 'REDIS_URL' : 'private redis-server on a loopback port'}), ioredis ${version('ioredis')}, tinybench ${version('tinybench')}, Sequelize ${version('sequelize')}, sqlite3 ${version('sqlite3')}, pg ${version('pg')}`,
  ].join('\n')
}

/** Runs one workload alone (`npm run bench:<name>`): prints its tables. */
export async function runAlone(run: (redis: BenchRedis) => Promise<Section[]>): Promise<void> {
  const redis = await startRedis()
  try {
    for (const section of await run(redis)) console.log(`\n${sectionMarkdown(section)}\n`)
  } finally {
    await redis.stop()
  }
}

/**
 * `configure({ redis: client, prefix: 'bench:' })`, the configuration every workload measures; waits
 * until the client is connected, so that command counters can hook its stream.
 */
export async function useCacheme(client: Redis): Promise<void> {
  configure({ redis: client, prefix: 'bench:' })
  await client.ping()
}
