import { spawn, type ChildProcess } from 'child_process'
import fs from 'fs'
import net from 'net'
import path from 'path'

export interface RedisServerOptions {
  /** Fixed port; a free loopback port is picked when omitted. */
  port?: number
  /** Extra redis-server arguments, appended after the defaults. */
  args?: string[]
}

export interface RedisServer {
  readonly url: string
  readonly port: number
  /** Sends SIGTERM and waits for the process to exit. */
  stop(): Promise<void>
  /** Sends SIGKILL and waits for the process to exit: no shutdown, as when a machine dies. `restart()` starts it again. */
  kill(): Promise<void>
  /** Stops the server and starts it again on the same port (with an empty dataset). */
  restart(): Promise<void>
}

const BINARY = 'redis-server'
const NOT_FOUND = 'redis-server was not found on PATH; install it (apt-get install -y redis-server) or set REDIS_URL'
const READY_TIMEOUT_MS = 5000
const STOP_TIMEOUT_MS = 5000

/** Finds an executable on PATH without spawning a shell. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      if (fs.statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

export function redisServerAvailable(): boolean {
  return findExecutable(BINARY) !== undefined
}

/** Asks the kernel for a free loopback port by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('could not allocate a free port'))))
    })
  })
}

const exitCallbacks = new Set<() => void>()
let exitHooksInstalled = false

function runExitCallbacks(): void {
  for (const callback of [...exitCallbacks]) {
    exitCallbacks.delete(callback)
    try {
      callback()
    } catch {
      // best effort: the process is going away
    }
  }
}

/**
 * Runs `callback` synchronously when the process exits or is interrupted, so servers started for a
 * run that crashes or is cancelled are not left behind. Returns a function that unregisters it.
 */
export function onProcessExit(callback: () => void): () => void {
  if (!exitHooksInstalled) {
    exitHooksInstalled = true
    process.on('exit', runExitCallbacks)
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runExitCallbacks()
        // Keep the default "die on signal" behaviour unless someone else handles it.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
      })
    }
  }
  exitCallbacks.add(callback)
  return () => exitCallbacks.delete(callback)
}

function track(child: ChildProcess): void {
  const unregister = onProcessExit(() => child.kill('SIGKILL'))
  child.once('exit', unregister)
}

function ping(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', chunk => {
      reply += chunk.toString('latin1')
      // "-LOADING" and similar errors mean "not ready yet".
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

interface Running {
  child: ChildProcess
  exited: Promise<void>
}

async function launch(port: number, extraArgs: string[]): Promise<Running> {
  const binary = findExecutable(BINARY)
  if (!binary) throw new Error(NOT_FOUND)

  const args = ['--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', '--port', String(port), ...extraArgs]
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)

  // Keep the tail of the log for error messages; draining the pipes also keeps redis from blocking.
  let log = ''
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000)
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)

  let exitCode: number | null | undefined
  let spawnError: Error | undefined
  const exited = new Promise<void>(resolve => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null)
      resolve()
    })
    child.once('error', err => {
      spawnError = err
      resolve()
    })
  })

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (spawnError) {
      throw (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(NOT_FOUND) : spawnError
    }
    if (exitCode !== undefined) {
      throw new Error(`redis-server exited (code ${exitCode}) before answering on port ${port}:\n${log.trim()}`)
    }
    if (await ping(port)) break
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      await exited
      throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms:\n${log.trim()}`)
    }
    await delay(50)
  }

  // A server that is running must not keep a finished script alive; the exit hook reaps it.
  child.unref()
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as net.Socket).unref?.()
  return { child, exited }
}

/** SIGKILL at once: the server neither flushes nor closes its connections in order. */
async function killNow(running: Running): Promise<void> {
  const { child, exited } = running
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await exited
}

async function terminate(running: Running): Promise<void> {
  const { child, exited } = running
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }
  await exited
}

/**
 * Starts a private, non-persistent redis-server on a loopback port and resolves once it answers PING.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const extraArgs = options.args ?? []
  let port = options.port ?? 0
  let running: Running | undefined

  // A picked port can be taken between probing and binding; retry with a new one.
  for (let attempt = 1; ; attempt++) {
    if (!options.port) port = await freePort()
    try {
      running = await launch(port, extraArgs)
      break
    } catch (err) {
      const message = (err as Error).message
      if (options.port || attempt >= 3 || !/address already in use/i.test(message)) throw err
    }
  }

  let current: Running | undefined = running
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (!current) return
      const r = current
      current = undefined
      await terminate(r)
    },
    async kill() {
      if (!current) return
      const r = current
      current = undefined
      await killNow(r)
    },
    async restart() {
      if (current) {
        const r = current
        current = undefined
        await terminate(r)
      }
      current = await launch(port, extraArgs)
    },
  }
}
