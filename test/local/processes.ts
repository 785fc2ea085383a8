import { fork, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import type { Reply, Request } from './reader-protocol'

/** A reader process with the tier on, answering one request at a time. */
export interface ReaderProcess {
  ask<R extends Reply>(request: Request): Promise<R>
  /** The next message it sends, whatever it is. */
  next<R>(): Promise<R>
  stop(): Promise<void>
}

export async function startReader(redisUrl: string, prefix: string, disable = ''): Promise<ReaderProcess> {
  const child: ChildProcess = fork(path.join(__dirname, 'reader-process.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, REDIS_URL: redisUrl, PREFIX: prefix, LOCAL_DISABLE: disable, TS_NODE_PROJECT: path.join(__dirname, '..', '..', 'tsconfig.json') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = <R>() =>
    new Promise<R>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the reader process exited with ${code}`))
      child.once('exit', onExit)
      child.once('message', message => {
        child.off('exit', onExit)
        resolve(message as R)
      })
    })
  await next()
  return {
    next,
    ask<R extends Reply>(request: Request) {
      const reply = next<R>()
      child.send(request)
      return reply
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill()
      await exited
    },
  }
}

/** The median and 99th percentile of samples, in the samples' unit. */
export function percentiles(samples: readonly number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return { median: at(0.5), p99: at(0.99) }
}
