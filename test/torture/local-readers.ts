import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { invalidate } from '../../src'
import { emptyLocalFigures, type LocalFigures } from './local-figures'
import { PROBE_INVALID_KEY, probeTruthKey, type LocalReaderCommand, type LocalReaderReport, type LocalReaderTask } from './local-reader-protocol'
import { directClient } from './redis-target'
import { sleep } from './sleep'

const ROOT = join(__dirname, '..', '..')
/** Propagation delays measured after each round. */
const PROBES_PER_ROUND = 10
/** Reader loops in each reader process. */
const LOOPS = 8
/** The reader processes' heartbeat: a broken channel is noticed within it. */
const HEARTBEAT_MS = 500

/** What every reader process of a run shares. */
export type LocalRun = Omit<LocalReaderTask, 'loops' | 'heartbeatMs'>

type Reply<K extends string> = Extract<LocalReaderReport, Record<K, unknown>>

/** One reader process (test/torture/local-reader-process.ts): it answers each command in turn. */
class LocalReaderProcess {
  readonly #child: ChildProcess
  readonly #exited: Promise<number | null>
  readonly #waiting: ((report: LocalReaderReport) => void)[] = []

  constructor(task: LocalReaderTask) {
    this.#child = fork(join(__dirname, 'local-reader-process.ts'), [JSON.stringify(task)], {
      cwd: ROOT,
      execArgv: ['-r', join(ROOT, 'tools', 'transpile-cached.js')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#child.on('message', (report: LocalReaderReport) => this.#waiting.shift()?.(report))
    this.#exited = new Promise(done => this.#child.once('exit', code => done(code)))
  }

  /** The next report it sends. */
  next<K extends string>(): Promise<Reply<K>> {
    const report = new Promise<LocalReaderReport>(resolve => this.#waiting.push(resolve))
    const died = this.#exited.then(code => Promise.reject(new Error(`a torture reader process exited (${code})`)))
    return Promise.race([report, died]) as Promise<Reply<K>>
  }

  /** Sends a command; its report, when it sends one, comes from `next()`. */
  send(command: LocalReaderCommand): void {
    this.#child.send(command)
  }

  ask<K extends string>(command: LocalReaderCommand): Promise<Reply<K>> {
    const report = this.next<K>()
    this.send(command)
    return report
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return
    this.#child.kill('SIGKILL')
    await this.#exited
  }
}

/**
 * Reader processes with the in-process tier on: they read while the writers write and the faults
 * strike, and after each round (writers stopped, invalidations delivered) they show how long an
 * invalidation of this process takes to reach their tiers, then compare what they serve with the
 * database.
 */
export class LocalReaders {
  readonly figures: LocalFigures = emptyLocalFigures()
  readonly #processes: LocalReaderProcess[]
  readonly #direct: Redis | Cluster
  readonly #prefix: string
  readonly #heartbeatMs: number
  #probe = 0

  private constructor(processes: LocalReaderProcess[], direct: Redis | Cluster, prefix: string, heartbeatMs: number) {
    this.#processes = processes
    this.#direct = direct
    this.#prefix = prefix
    this.#heartbeatMs = heartbeatMs
    this.figures.processes = processes.length
  }

  /** Starts `count` reader processes and resolves once each one's tier serves. */
  static async start(count: number, run: LocalRun): Promise<LocalReaders> {
    const processes = Array.from({ length: count }, (_, index) => new LocalReaderProcess({ ...run, seed: run.seed * 1000 + index, loops: LOOPS, heartbeatMs: HEARTBEAT_MS }))
    try {
      await Promise.all(processes.map(child => child.next<'ready'>()))
    } catch (error) {
      await Promise.all(processes.map(child => child.stop()))
      throw error
    }
    return new LocalReaders(processes, directClient(run.direct), run.prefix, HEARTBEAT_MS)
  }

  /** Every process reads until `stopReading()`. */
  startReading(): void {
    for (const child of this.#processes) child.send({ op: 'read' })
  }

  async stopReading(): Promise<void> {
    const reports = await Promise.all(this.#processes.map(child => child.ask<'read'>({ op: 'stop' })))
    for (const { read } of reports) {
      this.figures.reads += read.reads
      this.figures.errors += read.errors
      this.figures.longestRearmMs = Math.max(this.figures.longestRearmMs, read.rearmMs)
    }
    // Counted since each process started.
    this.figures.hits = reports.reduce((sum, { read }) => sum + read.hits, 0)
    this.figures.localHits = reports.reduce((sum, { read }) => sum + read.localHits, 0)
  }

  /**
   * Times, a few times over, how long after `invalidate()` returns in this process every reader
   * process stops serving the probe it held in its tier; then waits out the heartbeat, after which
   * no reader may serve a stale value, and compares. Returns the stale values found.
   */
  async settleAndCompare(): Promise<string[]> {
    for (let i = 0; i < PROBES_PER_ROUND; i++) await this.#timePropagation()
    await sleep(2 * this.#heartbeatMs)
    const stale: string[] = []
    const reports = await Promise.all(this.#processes.map(child => child.ask<'compared'>({ op: 'compare' })))
    reports.forEach(({ compared }, index) => {
      this.figures.checked += compared.checked
      this.figures.stale += compared.stale.length
      stale.push(...compared.stale.map(value => `reader process ${index + 1}: ${value}`))
    })
    return stale
  }

  async stop(): Promise<void> {
    await Promise.all(this.#processes.map(child => child.stop()))
    this.#direct.disconnect()
  }

  async #timePropagation(): Promise<void> {
    const old = ++this.#probe
    await this.#direct.set(probeTruthKey(this.#prefix), old)
    await invalidate({ invalidKey: PROBE_INVALID_KEY })
    const held = await Promise.all(this.#processes.map(child => child.ask<'held'>({ op: 'hold', value: old })))
    const watching = this.#processes.filter((_, index) => held[index].held)
    this.figures.unheld += this.#processes.length - watching.length
    if (watching.length === 0) return
    // Both reports are waited for before the command is sent: they may arrive together.
    const watches = watching.map(child => {
      const started = child.next<'watching'>()
      const stopped = child.next<'stoppedAt'>()
      child.send({ op: 'watch', old })
      return { started, stopped }
    })
    await Promise.all(watches.map(watch => watch.started))
    await this.#direct.set(probeTruthKey(this.#prefix), old + 1)
    await invalidate({ invalidKey: PROBE_INVALID_KEY })
    const returned = process.hrtime.bigint()
    for (const { stoppedAt } of await Promise.all(watches.map(watch => watch.stopped))) {
      if (stoppedAt === '-1') this.figures.neverStopped++
      else this.figures.delaysUs.push(Math.max(0, Number(BigInt(stoppedAt) - returned) / 1000))
    }
  }
}
