import type { OptionChecks } from '../option-checks'

/** The in-process tier of `configure({ local })` (and of a `BaseCache` with a Redis of its own). */
export interface LocalOptions {
  /**
   * Entries kept in this process at most; the least recently used go first.
   * @default 10000
   * @example
   * configure({ redis, local: { maxEntries: 50_000 } })
   */
  readonly maxEntries?: number
  /**
   * Bytes kept in this process at most (keys and values, counted as UTF-16); the least recently used go first.
   * @default 67108864 (64 MiB)
   * @example
   * configure({ redis, local: { maxBytes: 16 * 1024 * 1024 } })
   */
  readonly maxBytes?: number
  /**
   * Longest time in seconds an entry is served from this process without asking Redis again, even
   * if no invalidation came; an entry's own ttl ends it earlier.
   * @default 60
   * @example
   * configure({ redis, local: { ttl: 10 } })
   */
  readonly ttl?: number
  /**
   * Seconds between proofs that Redis's invalidation messages still reach this process; a proof
   * that fails flushes the tier and bypasses it until tracking is armed again.
   * @default 1
   * @example
   * configure({ redis, local: { heartbeat: 0.5 } })
   */
  readonly heartbeat?: number
}

/** What a method or an instance cache asks of the tier: `false` skips it; `ttl` (seconds) keeps its entries for less time. */
export type LocalChoice = false | { readonly ttl?: number }

/** The tier's settings, checked, in milliseconds. */
export interface LocalSettings {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly ttlMs: number
  readonly heartbeatMs: number
}

/** A checked `LocalChoice`: skip the tier, or keep entries at most `ttlMs`. */
export type LocalPolicy = false | { readonly ttlMs: number }

const SETTING_NAMES: readonly (keyof LocalOptions)[] = ['maxEntries', 'maxBytes', 'ttl', 'heartbeat']
const DEFAULT_MAX_ENTRIES = 10_000
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
const DEFAULT_TTL_MS = 60_000
const DEFAULT_HEARTBEAT_MS = 1000

/** The `local` option of configure(), checked: undefined leaves the tier off. */
export function localSettings(checks: OptionChecks, given: LocalOptions | undefined): LocalSettings | undefined {
  if (given === undefined) return undefined
  const options = checks.object(given, SETTING_NAMES, 'local must be an object { maxEntries, maxBytes, ttl, heartbeat }')
  return {
    maxEntries: checks.wholeNumber('local.maxEntries', options.maxEntries ?? DEFAULT_MAX_ENTRIES, 1),
    maxBytes: checks.wholeNumber('local.maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES, 1, 'bytes'),
    ttlMs: checks.milliseconds('local.ttl', options.ttl, { positive: true }) ?? DEFAULT_TTL_MS,
    heartbeatMs: checks.milliseconds('local.heartbeat', options.heartbeat, { positive: true }) ?? DEFAULT_HEARTBEAT_MS,
  }
}

/** The `local` option of a method or an instance cache, checked: undefined follows the configured tier. */
export function localPolicy(checks: OptionChecks, given: LocalChoice | undefined): LocalPolicy | undefined {
  if (given === undefined) return undefined
  if (given === false) return false
  const options = checks.object(given, ['ttl'], 'local must be false or { ttl }')
  const ttlMs = checks.milliseconds('local.ttl', options.ttl, { positive: true })
  return { ttlMs: ttlMs ?? Number.POSITIVE_INFINITY }
}
