import { cacheme, configure } from '../../src'
import { run } from '../../src/cli/program'
import { configureBackend, redisClient } from '../support/backends'
import { testRedisUrl } from '../support/fixtures'

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** How long run() took. */
  readonly ms: number
}

export interface CliOptions {
  readonly isTTY?: boolean
  /** Sees each write to stderr as it happens, to act while the command runs. */
  readonly onStderr?: (text: string) => void
}

/** Runs the command in process, capturing what it writes. */
export async function cli(args: readonly string[], { isTTY = false, onStderr }: CliOptions = {}): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const started = Date.now()
  const code = await run(args, {
    stdout: { write: text => (stdout += text) },
    stderr: {
      write: text => {
        stderr += text
        onStderr?.(text)
      },
    },
    isTTY,
  })
  return { code, stdout, stderr, ms: Date.now() - started }
}

/** Runs the command against the test Redis under `prefix`. */
export function cliAt(prefix: string, args: readonly string[], options?: CliOptions): Promise<CliRun> {
  return cli(['--redis', testRedisUrl(), '--prefix', prefix, ...args], options)
}

/** The command's one JSON document. */
export function json<T = Record<string, unknown>>(result: CliRun): T {
  return JSON.parse(result.stdout) as T
}

/** The command shuts cacheme down when it ends; seeding again needs the prefix configured again. */
export function reconfigure(prefix: string): void {
  configure({ redis: redisClient(), prefix, onError: () => {} })
}

export const owner = cacheme({
  key: c => `Book:${c.id}>owner`,
  invalidKeys: c => [`User:${c.userId}`, `Book:${c.id}`],
  tag: 'cli.owner',
  ttl: 60,
  grace: 30,
})(async (id: number, userId: number) => ({ id, userId }))

export const report = cacheme({
  key: c => `report:${c.year}`,
  invalidKeys: () => 'Report',
  tag: 'cli.report',
})(async (year: number) => (year === 0 ? undefined : { year, total: year * 10 }))

/**
 * A prefix of its own holding Book:1..3>owner (users 7, 7, 8; ttl 60 s, grace 30 s) and
 * report:2023, report:2024 (no ttl).
 */
export async function seeded(): Promise<string> {
  const prefix = configureBackend('redis')
  await Promise.all([owner(1, 7), owner(2, 7), owner(3, 8), report(2023), report(2024)])
  return prefix
}
