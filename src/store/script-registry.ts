import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'

/** The rule telling live entries from dead ones, shared by the scripts that prune. */
export const LIVENESS = 'liveness.lua'
/** The invalidation sequence and the guards stamped with it, shared by the scripts that invalidate. */
export const SEQUENCE = 'sequence.lua'
/** Storing an envelope, and the expiry of the hashes and sets that hold entries. */
export const CONTAINERS = 'containers.lua'
/** Invalidating one entry: deleted, or kept stale for its grace. */
export const ENTRY_INVALIDATION = 'entry-invalidation.lua'
/** Storing and deleting plain entries (the instance cache's rows). */
export const PLAIN_ENTRIES = 'plain-entries.lua'

/** Where a script's text comes from, and the libraries written before it. */
export interface ScriptDefinition {
  readonly file: string
  /** Set when the script always takes this many keys; else the caller passes the count first. */
  readonly numberOfKeys?: number
  readonly uses?: readonly string[]
}

const readScript = (file: string) => readFileSync(join(__dirname, 'scripts', file), 'utf8')

/** A script with its libraries before it (Redis scripts cannot load one another), and its `#!lua` flags line, if any, first. */
export function composeScript(file: string, uses: readonly string[] = []): string {
  const body = readScript(file)
  const flags = body.startsWith('#!') ? body.slice(0, body.indexOf('\n') + 1) : ''
  return flags + uses.map(readScript).join('') + body.slice(flags.length)
}

/** Registers the scripts on the client with defineCommand, so they ride pipelines and EVALSHA; a name already defined is kept. */
export function defineScripts<Commands>(client: Redis | Cluster, scripts: Record<keyof Commands & string, ScriptDefinition>): (Redis | Cluster) & Commands {
  const target = client as unknown as Record<string, unknown>
  for (const [name, { file, numberOfKeys, uses }] of Object.entries<ScriptDefinition>(scripts)) {
    if (typeof target[name] === 'function') continue
    const lua = composeScript(file, uses)
    client.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys })
  }
  return client as (Redis | Cluster) & Commands
}
