import { EventEmitter } from 'node:events'
import type { ErrorContext } from './errors'

/** What cacheme announces; listen with `cachemeEvents.on(name, listener)`. */
export interface CachemeEventMap {
  /** A call served from the cache: its key and tag. */
  hit: [key: string, tag: string]
  /** A call that computed (or joined a computation). */
  miss: [key: string, tag: string]
  /** A computed value was stored. */
  store: [key: string, tag: string]
  /** Entries were invalidated: how many, and what was asked (`invalidKey`, `tag`, `key`, `pattern`, or `model`). */
  invalidate: [count: number, target: string]
  /** A store fault, also handed to `onError`. */
  fault: [error: unknown, context: ErrorContext]
  /** The circuit breaker opened (Redis is skipped) or closed again. */
  circuit: [state: 'open' | 'closed']
  /** Invalidations that could not be delivered were delivered; `pending` are still waiting. */
  replay: [delivered: number, pending: number]
  /** The replay queue overflowed: every entry under the prefix will be treated as stale. */
  overflow: []
  /** The in-process tier began serving (tracking armed) or was flushed and is bypassed until then, and why. */
  local: [state: 'serving' | 'bypassed', reason: string]
}

export const cachemeEvents = new EventEmitter<CachemeEventMap>()
