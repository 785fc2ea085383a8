import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import Redis from 'ioredis'
import { cachemeEvents } from '../../src'
import { LocalTier } from '../../src/local/local-tier'
import type { LocalSettings } from '../../src/local/local-options'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'
import { sleep } from '../support/backends'

/** A private redis-server for the enclosing suite, and a plain client to it: started before its tests, stopped after. */
export function privateRedis(): { readonly server: RedisServer; readonly direct: Redis } {
  const state = {} as { server: RedisServer; direct: Redis }
  before(async () => {
    state.server = await startRedisServer()
    state.direct = new Redis(state.server.url)
  })
  after(async () => {
    state.direct.disconnect()
    await state.server.stop()
  })
  return state
}

export const SETTINGS: LocalSettings = { maxEntries: 1000, maxBytes: 1 << 20, ttlMs: 60_000, heartbeatMs: 100 }

/** A tier on connections of its own to `dataUrl` and `subscriberUrl` (a TCP proxy in front of either can cut it). */
export async function openTier(dataUrl: string, subscriberUrl = dataUrl, settings: Partial<LocalSettings> = {}) {
  const data = new Redis(dataUrl, { protocol: 2, commandTimeout: 500 }).on('error', () => {})
  const subscriber = new Redis(subscriberUrl, { protocol: 2, commandTimeout: 500, autoResubscribe: false }).on('error', () => {})
  const tier = new LocalTier({ data, subscriber }, `canary:${Math.random().toString(36).slice(2)}`, { ...SETTINGS, ...settings })
  await until(() => tier.serving, 'the tier to serve')
  return { tier, data, subscriber }
}

/** Polls until `condition` holds, failing after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await condition());) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** The next `local` event in the given state. */
export function nextLocalState(state: 'serving' | 'bypassed'): Promise<string> {
  return new Promise(resolve => {
    const listener = (seen: string, reason: string) => {
      if (seen !== state) return
      cachemeEvents.off('local', listener)
      resolve(reason)
    }
    cachemeEvents.on('local', listener)
  })
}

/** Runs redis-cli against a port: a client that is not cacheme. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('redis-cli', ['-p', String(port), ...args])
  return stdout.trim()
}

/** A value as cacheme stores it: no deadline, then the JSON payload. */
export const sealed = (json: unknown) => `0|${JSON.stringify(json)}`
