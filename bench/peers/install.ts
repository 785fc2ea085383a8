import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * The peer libraries (BentoCache, type-cacheable) need ioredis 5 while this package uses ioredis 6, so they
 * live in their own package here, installed on demand into bench/peers/node_modules from the committed lockfile.
 */
export const PEERS_DIR = __dirname
const STAMP = path.join(PEERS_DIR, 'node_modules', '.bench-peers-stamp')

/** Digest of the manifest and lockfile the installed tree must come from. */
function wanted(): string {
  const hash = createHash('sha256')
  for (const file of ['package.json', 'package-lock.json']) {
    const full = path.join(PEERS_DIR, file)
    if (fs.existsSync(full)) hash.update(fs.readFileSync(full))
  }
  return hash.digest('hex')
}

function npm(args: string[]): void {
  // Under `npm run`, npm_execpath is the running npm's CLI script: the same npm, also on Windows.
  const cli = process.env.npm_execpath
  const [file, fileArgs] = cli && cli.endsWith('.js') ? [process.execPath, [cli, ...args]] : ['npm', args]
  execFileSync(file, fileArgs, { cwd: PEERS_DIR, stdio: ['ignore', process.stderr, process.stderr], shell: file === 'npm' && process.platform === 'win32' })
}

/** Installs bench/peers/node_modules when it is missing or was installed from another manifest or lockfile. */
export function ensurePeersInstalled(): void {
  const current = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, 'utf8').trim() : ''
  if (current === wanted()) return
  console.error('bench: installing the peer libraries into bench/peers/node_modules')
  npm(['install', '--prefix', PEERS_DIR, '--no-audit', '--no-fund'])
  // npm may have written the lockfile, so the digest is taken after the install.
  fs.writeFileSync(STAMP, `${wanted()}\n`)
}

if (require.main === module) ensurePeersInstalled()
