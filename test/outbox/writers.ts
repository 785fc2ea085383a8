import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { StopPoint, WriterMessage, WriterTask } from './writer'

const ROOT = join(__dirname, '..', '..')

/** A writer process (test/outbox/writer.ts, run by ts-node) and what it has said. */
export class Writer {
  readonly faults: { fault: string; code?: string }[] = []
  readonly #child: ChildProcess
  readonly #exit: Promise<number | null>
  readonly #reached = new Map<string, WriterMessage>()
  readonly #waiting = new Map<string, (message: WriterMessage) => void>()

  private constructor(task: WriterTask) {
    this.#child = fork(join(__dirname, 'writer.ts'), [JSON.stringify(task)], {
      cwd: ROOT,
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#exit = new Promise(done => this.#child.once('exit', code => done(code)))
    this.#child.on('message', (message: WriterMessage) => {
      if ('fault' in message) return void this.faults.push(message)
      this.#reached.set(message.at, message)
      this.#waiting.get(message.at)?.(message)
    })
  }

  /** Starts a writer and waits until it is configured and registered. */
  static async start(task: WriterTask): Promise<Writer> {
    const writer = new Writer(task)
    await writer.reached('ready')
    return writer
  }

  /** Resolves when the writer says it is at `point` (rejects if it exits first). */
  reached(point: 'ready' | StopPoint): Promise<WriterMessage> {
    const known = this.#reached.get(point)
    if (known) return Promise.resolve(known)
    return new Promise((resolve, reject) => {
      this.#waiting.set(point, resolve)
      void this.#exit.then(code => reject(new Error(`the writer exited (${code}) before ${point}: ${JSON.stringify(this.faults)}`)))
    })
  }

  /** Lets it make its change. */
  go(): void {
    this.#child.send('go')
  }

  /** SIGKILL: nothing of the process runs after this, as when a machine or a container dies. */
  async kill(): Promise<void> {
    this.#child.kill('SIGKILL')
    await this.#exit
  }

  exited(): Promise<number | null> {
    return this.#exit
  }
}
