import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Random } from './random'
import { sleep } from './sleep'
import type { WriteKind } from './writers'
import type { WriterCommand, WriterProcessTask, WriterReport } from './writer-process'

const ROOT = join(__dirname, '..', '..')
/** The chance that a round kills one writing process at a random moment, besides those that die at a commit. */
const KILL_PER_ROUND = 0.5
/** A round this close to its end starts no writer process that became ready meanwhile. */
const LATE_START_MS = 150

export interface ProcessFigures {
  /** Writer processes started, the first ones included. */
  started: number
  /** SIGKILLs at a random moment. */
  killedAtRandom: number
  /** SIGKILLs right after a commit, before cacheme delivered its invalidation. */
  killedAtCommit: number
}

type Round = (writes: Record<WriteKind, number>, writeErrors: number) => void

/** One writer process (test/torture/writer-process.ts) and where it is. */
class WriterProcess {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  /** It listens for commands: one sent before would be lost. */
  isReady = false
  readonly exited: Promise<void>
  /** Writing in the round under way: it reports when done, or dies. */
  #idle: (() => void) | undefined

  constructor(task: WriterProcessTask, onDying: (writer: WriterProcess) => void, onIdle: Round) {
    this.child = fork(join(__dirname, 'writer-process.ts'), [JSON.stringify(task)], {
      cwd: ROOT,
      // Started again after every kill: transpiled files are kept on disk (see the hook).
      execArgv: ['-r', join(ROOT, 'tools', 'transpile-cached.js')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.exited = new Promise(done => this.child.once('exit', () => (this.#idle?.(), done())))
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (report: WriterReport) => {
        if ('ready' in report) {
          this.isReady = true
          resolve()
        } else if ('dying' in report) onDying(this)
        else {
          onIdle(report.idle.writes, report.idle.writeErrors)
          this.#idle?.()
        }
      })
      void this.exited.then(() => reject(new Error('a torture writer process exited before it was ready')))
    })
  }

  /** Writes until `until`; resolves when its writes are done, or it died. */
  write(until: number): Promise<void> {
    const done = new Promise<void>(resolve => (this.#idle = resolve))
    this.child.send({ until } satisfies WriterCommand)
    return done.finally(() => (this.#idle = undefined))
  }

  get writing(): boolean {
    return this.#idle !== undefined
  }

  kill(): Promise<void> {
    this.child.kill('SIGKILL')
    return this.exited
  }
}

/**
 * The writer processes of a run: `count` of them at all times, killed (SIGKILL) at random
 * moments or at the commits where they ask to be, and replaced by new ones.
 */
export class WriterProcesses {
  readonly figures: ProcessFigures = { started: 0, killedAtRandom: 0, killedAtCommit: 0 }
  #live: WriterProcess[] = []
  /** The round under way: its end, and what its writers are doing. */
  #round: { until: number; writing: Promise<void>[] } | undefined

  private constructor(
    private readonly task: (generation: number) => WriterProcessTask,
    private readonly onRound: Round,
  ) {}

  static async start(count: number, task: (generation: number) => WriterProcessTask, onRound: Round): Promise<WriterProcesses> {
    const processes = new WriterProcesses(task, onRound)
    await Promise.all(Array.from({ length: count }, () => processes.#spawn().ready))
    return processes
  }

  /** Lets every ready process write until `until`, killing some meanwhile; resolves when none writes any more. */
  async round(until: number, random: Random): Promise<void> {
    const round = { until, writing: [] as Promise<void>[] }
    this.#round = round
    // The others join as they become ready.
    for (const writer of this.#live) if (writer.isReady) round.writing.push(writer.write(until))
    if (random.chance(KILL_PER_ROUND)) {
      await sleep(random.int(0, Math.max(0, until - Date.now())))
      const victim = random.pick(this.#live.filter(writer => writer.writing))
      if (victim) {
        this.figures.killedAtRandom++
        void this.#replace(victim)
      }
    }
    // Processes started meanwhile join the round's list as they start writing.
    for (let awaited = 0; awaited < round.writing.length;) {
      awaited = round.writing.length
      await Promise.all(round.writing)
    }
    this.#round = undefined
  }

  async stop(): Promise<void> {
    await Promise.all(this.#live.map(writer => writer.kill()))
    this.#live = []
  }

  #spawn(): WriterProcess {
    const writer = new WriterProcess(
      this.task(this.figures.started++),
      dying => {
        this.figures.killedAtCommit++
        void this.#replace(dying)
      },
      this.onRound,
    )
    this.#live.push(writer)
    // One that exits on its own (it failed) is not replaced: its error is on stderr.
    void writer.exited.then(() => (this.#live = this.#live.filter(live => live !== writer)))
    void writer.ready.then(
      () => {
        const round = this.#round
        if (round && round.until - Date.now() > LATE_START_MS && this.#live.includes(writer) && !writer.writing) round.writing.push(writer.write(round.until))
      },
      () => {},
    )
    return writer
  }

  async #replace(writer: WriterProcess): Promise<void> {
    if (!this.#live.includes(writer)) return
    this.#live = this.#live.filter(live => live !== writer)
    await writer.kill()
    this.#spawn()
  }
}
