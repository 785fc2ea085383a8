import { spawn } from 'node:child_process'
import path from 'node:path'
import { onProcessExit } from '../tools/redis-server'

const ROOT = path.join(__dirname, '..')
const READY_TIMEOUT_MS = 120_000
const STOP_TIMEOUT_MS = 10_000

export type ExampleName = 'express' | 'nest'

export interface ExampleSettings {
  readonly redisUrl: string
  /** Unset: the example's in-memory SQLite. */
  readonly databaseUrl?: string
  /** false: the same app with `configure({ enabled: false })`. */
  readonly cached: boolean
}

export interface ExampleServer {
  /** http://127.0.0.1:PORT */
  readonly url: string
  /** SIGTERM, as Ctrl-C would; SIGKILL when it has not exited in time. */
  stop(): Promise<void>
}

/**
 * Serves an example in a process of its own (so that the load generator does not share its event
 * loop), on a free loopback port it picks itself (PORT=0), and resolves once it prints its address.
 */
export function startExample(name: ExampleName, settings: ExampleSettings): Promise<ExampleServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
    PORT: '0',
    REDIS_URL: settings.redisUrl,
    CACHEME_ENABLED: String(settings.cached),
  }
  delete env.EXAMPLE_ONCE
  if (settings.databaseUrl) env.DATABASE_URL = settings.databaseUrl
  else delete env.DATABASE_URL
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'examples', name, 'main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const unregister = onProcessExit(() => child.kill('SIGKILL'))
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  void exited.then(unregister)
  let log = ''
  const collect = (chunk: Buffer) => void (log = (log + chunk.toString()).slice(-4000))
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }
  }
  const describe = () => `${name} example (${settings.cached ? 'cached' : 'uncached'}, ${settings.databaseUrl ? 'DATABASE_URL' : 'SQLite'})`
  return new Promise<ExampleServer>((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer)
      child.off('error', onError).off('exit', onExit)
      child.stdout.off('data', onOutput)
    }
    const fail = (problem: string) => {
      settle()
      void stop().then(() => reject(new Error(`${describe()} ${problem}:\n${log.trim()}`)))
    }
    const onError = (error: Error) => fail(`could not start: ${error.message}`)
    const onExit = (code: number | null, signal: string | null) => fail(`exited (${signal ?? `code ${code}`}) before listening`)
    const onOutput = () => {
      const address = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(log)?.[1]
      if (!address) return
      settle()
      resolve({ url: address, stop })
    }
    const timer = setTimeout(() => fail(`did not print its address within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS)
    child.once('error', onError).once('exit', onExit)
    // After collect, which appends the chunk to the log.
    child.stdout.on('data', onOutput)
  })
}
