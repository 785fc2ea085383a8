import type { Mechanism } from './mechanisms'
import type { RedisTarget } from './redis-target'

/** How long the end of a round waits for a tier that a fault bypassed to serve again: a tier that takes this long is stuck. */
export const REARM_WAIT_MS = 30_000

/** What a reader process with the in-process tier (test/torture/local-reader-process.ts) is started with. */
export interface LocalReaderTask {
  readonly databaseUrl: string
  /** Through the faulty proxy on one server, like every other process of the run; or the Cluster. */
  readonly redis: RedisTarget
  /** Straight to Redis: where the probe's true value lives. */
  readonly direct: RedisTarget
  readonly prefix: string
  readonly books: number
  /** Concurrent reader loops. */
  readonly loops: number
  readonly seed: number
  /** The tier's heartbeat: how soon a broken invalidation channel is noticed. */
  readonly heartbeatMs: number
  /** The mechanism the run switches off (in every process). */
  readonly off?: Mechanism
}

export type LocalReaderCommand =
  /** Read until `stop`. */
  | { readonly op: 'read' }
  | { readonly op: 'stop' }
  /** Serve the probe until it comes from the tier; it must be `value`. */
  | { readonly op: 'hold'; readonly value: number }
  /** Answer `watching`, then call the probe until it is no longer `old`. */
  | { readonly op: 'watch'; readonly old: number }
  /** Compare every cached value with a fresh computation. */
  | { readonly op: 'compare' }

export type LocalReaderReport =
  | { readonly ready: true }
  | { readonly read: { readonly reads: number; readonly errors: number; readonly hits: number; readonly localHits: number; readonly rearmMs: number } }
  | { readonly held: boolean }
  | { readonly watching: true }
  /** process.hrtime.bigint() (one clock for every process of the machine) when the old value stopped; '-1': it never did. */
  | { readonly stoppedAt: string }
  | { readonly compared: { readonly checked: number; readonly stale: string[] } }

/** The probe entry's invalid key: the readers' process invalidates it and times how soon every reader stops serving it. */
export const PROBE_INVALID_KEY = 'TortureProbe'

/** Where the probe's true value lives, outside the cache's prefix. */
export const probeTruthKey = (prefix: string) => `truth:${prefix}probe`
