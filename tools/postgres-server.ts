import { execFile, execFileSync } from 'child_process'
import fs from 'fs'
import os from 'os'
import path from 'path'
import { findExecutable, freePort, onProcessExit } from './redis-server'

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/cacheme_test */
  readonly url: string
  readonly port: number
  /** Immediate shutdown, then the data directory is removed. */
  stop(): Promise<void>
}

const DATABASE = 'cacheme_test'
const OS_USER = 'postgres'
const NOT_FOUND = 'PostgreSQL was not found (looked in /usr/lib/postgresql/*/bin and PATH); install it (apt-get install -y postgresql) or set DATABASE_URL'

/** Directory holding initdb and pg_ctl: the newest Debian install, else PATH. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  let versions: string[] = []
  try {
    versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))
  } catch {
    // not a Debian-style install
  }
  const hasTools = (dir: string) =>
    ['initdb', 'pg_ctl', 'createdb'].every(tool => {
      try {
        fs.accessSync(path.join(dir, tool), fs.constants.X_OK)
        return true
      } catch {
        return false
      }
    })
  for (const version of versions) {
    const dir = path.join(root, version, 'bin')
    if (hasTools(dir)) return dir
  }
  const initdb = findExecutable('initdb')
  if (initdb && hasTools(path.dirname(initdb))) return path.dirname(initdb)
  return undefined
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** PostgreSQL refuses to run as root, so root must be able to switch to the postgres user. */
function userSwitch(): { uid: number; gid: number; wrap: (cmd: string, args: string[]) => [string, string[]] } | undefined {
  let uid: number
  let gid: number
  try {
    uid = Number(execFileSync('id', ['-u', OS_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    gid = Number(execFileSync('id', ['-g', OS_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
  } catch {
    return undefined
  }
  const runuser = findExecutable('runuser') ?? ['/usr/sbin/runuser', '/sbin/runuser'].find(p => fs.existsSync(p))
  if (runuser) return { uid, gid, wrap: (cmd, args) => [runuser, ['-u', OS_USER, '--', cmd, ...args]] }
  const su = findExecutable('su') ?? (fs.existsSync('/bin/su') ? '/bin/su' : undefined)
  if (su) {
    return { uid, gid, wrap: (cmd, args) => [su, [OS_USER, '-s', '/bin/sh', '-c', [cmd, ...args].map(shellQuote).join(' ')]] }
  }
  return undefined
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

export function postgresAvailable(): boolean {
  return findPostgresBin() !== undefined && (!isRoot() || userSwitch() !== undefined)
}

function run(cmd: string, args: string[], timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`.trim()))
      } else {
        resolve(stdout)
      }
    })
  })
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-3000)
  } catch {
    return ''
  }
}

/** Immediate shutdown (SIGQUIT to the postmaster) and removal, synchronous for exit hooks. */
function killCluster(base: string, dataDir: string): void {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    if (pid > 0) process.kill(pid, 'SIGQUIT')
  } catch {
    // not running
  }
  fs.rmSync(base, { recursive: true, force: true })
}

/**
 * Creates a throwaway PostgreSQL cluster (trust auth, no durability) on a free loopback port
 * with an empty `cacheme_test` database.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin()
  if (!bin) throw new Error(NOT_FOUND)
  const tool = (name: string) => path.join(bin, name)

  let asPostgres = (cmd: string, args: string[]): [string, string[]] => [cmd, args]
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cacheme-pg-'))
  if (isRoot()) {
    const sw = userSwitch()
    if (!sw) {
      fs.rmSync(base, { recursive: true, force: true })
      throw new Error(`running as root, but cannot switch to the "${OS_USER}" user (needs the user and runuser or su)`)
    }
    fs.chownSync(base, sw.uid, sw.gid)
    asPostgres = sw.wrap
  }
  const dataDir = path.join(base, 'data')
  const logFile = path.join(base, 'postgres.log')
  const unregister = onProcessExit(() => killCluster(base, dataDir))

  const pgCtl = (args: string[], timeoutMs?: number) => run(...asPostgres(tool('pg_ctl'), args), timeoutMs)
  const cleanup = async () => {
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      await pgCtl(['stop', '-D', dataDir, '-m', 'immediate', '-w'], 30000).catch(() => undefined)
    }
    fs.rmSync(base, { recursive: true, force: true })
    unregister()
  }

  try {
    await run(...asPostgres(tool('initdb'), ['-D', dataDir, '-A', 'trust', '-U', OS_USER, '-E', 'UTF8', '--no-sync', '--locale=C']))

    let port = 0
    // A picked port can be taken between probing and binding; retry with a new one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      const serverOptions = [`-p ${port}`, `-k ${base}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'].join(' ')
      try {
        await pgCtl(['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', serverOptions])
        break
      } catch (err) {
        const log = readTail(logFile)
        if (attempt < 3 && /could not bind|address already in use/i.test(log)) continue
        throw new Error(`${(err as Error).message}\n${log}`.trim(), { cause: err })
      }
    }

    await run(tool('createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', OS_USER, DATABASE])

    let stopped = false
    return {
      url: `postgres://${OS_USER}@127.0.0.1:${port}/${DATABASE}`,
      port,
      async stop() {
        if (stopped) return
        stopped = true
        await cleanup()
      },
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}
