import type { Redis } from 'ioredis'
import type { EntryRef } from '../keys'
import { deadlines, open } from '../store/envelope'
import type { ReadResult } from '../store/store'
import { Heartbeat } from './heartbeat'
import { InvalidationSubscriber } from './invalidation-subscriber'
import { LocalEntries } from './local-entries'
import type { LocalPolicy, LocalSettings } from './local-options'
import { PendingReads } from './pending-reads'
import type { Tier } from './tier'
import { TrackingConnection } from './tracking-connection'

/** The two connections the tier owns: reads are tracked on `data` and redirected to `subscriber` (RESP2, no auto-resubscribe). */
export interface TierConnections {
  readonly data: Redis
  readonly subscriber: Redis
}

export interface TierHooks {
  /** The tier began serving (tracking armed and proven) or stopped (flushed, bypassed until armed again). */
  readonly onState?: (state: 'serving' | 'bypassed', reason: string) => void
  /** Arming failed with this error; it is tried again shortly. */
  readonly onArmingFault?: (error: unknown) => void
}

/** Plain entries (the instance cache's rows) are named apart from `@cacheme` entries: no entry name starts with `>`. */
const PLAIN = '>'

/**
 * The in-process tier and what keeps it coherent. It serves only while Redis's client tracking is
 * armed and proven by the heartbeat; a lost connection (either), an unanswered heartbeat or a
 * flush empties it, and it is bypassed until tracking is armed again. Values enter it only from
 * reads of the tracked connection, so Redis knows of every key it holds.
 */
export class LocalTier implements Tier {
  readonly #settings: LocalSettings
  readonly #hooks: TierHooks
  readonly #entries: LocalEntries
  readonly #pending = new PendingReads()
  readonly #data: TrackingConnection
  readonly #subscriber: InvalidationSubscriber
  readonly #heartbeat: Heartbeat
  readonly #beats: NodeJS.Timeout
  #serving = false
  /** Moves on every bypass: a read that began before one is not kept. */
  #epoch = 0
  #arming: Promise<void> | undefined
  #retry: { timer: NodeJS.Timeout; wake: () => void } | undefined
  #beating = false
  #closed = false

  /** `canary`: a key of this process alone, for the heartbeat. */
  constructor(connections: TierConnections, canary: string, settings: LocalSettings, hooks: TierHooks = {}) {
    this.#settings = settings
    this.#hooks = hooks
    this.#entries = new LocalEntries(settings.maxEntries, settings.maxBytes)
    this.#data = new TrackingConnection(connections.data, () => this.#bypass('the tracking connection closed'))
    this.#subscriber = new InvalidationSubscriber(connections.subscriber, {
      onKeys: keys => this.#invalidated(keys),
      onFlush: () => this.#flushed(),
      onLost: () => this.#bypass('the invalidation subscriber closed'),
    })
    this.#heartbeat = new Heartbeat(canary, this.#data, settings.heartbeatMs)
    this.#beats = setInterval(() => void this.#beat(), settings.heartbeatMs)
    this.#beats.unref()
    this.#scheduleArm()
  }

  /** Tracking is armed and proven: kept values may be served. */
  get serving(): boolean {
    return this.#serving
  }

  /** Entries kept, and their bytes as counted against `maxBytes`. */
  get usage(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#entries.bytes }
  }

  /** The kept result of an entry, or undefined. */
  entry(entry: EntryRef): ReadResult | undefined {
    return this.#entries.get(entry.full)
  }

  /** The kept value of a plain entry, or undefined. */
  plain(key: string): string | undefined {
    return this.#entries.get(PLAIN + key)?.value
  }

  /**
   * Reads an entry through the tracked connection: resolves to its payload when it is fresh (and
   * keeps it, unless an invalidation of its key arrived before the reply), else to undefined.
   */
  async readEntry(entry: EntryRef, policy: LocalPolicy | undefined): Promise<string | undefined> {
    const epoch = this.#epoch
    const read = this.#pending.begin([entry.key])
    try {
      const stored = entry.field === undefined ? await this.#data.get(entry.key) : await this.#data.hget(entry.key, entry.field)
      if (stored === null) return undefined
      const now = Date.now()
      const opened = open(stored, now)
      if (opened === undefined || opened.stale) return undefined
      if (!read.spoiled && epoch === this.#epoch) {
        const freshUntil = deadlines(stored)?.freshUntil ?? 0
        this.#entries.keep(entry.full, entry.key, opened.payload, Math.min(this.#ttlMs(policy), freshUntil > 0 ? freshUntil - now : Infinity))
      }
      return opened.payload
    } finally {
      this.#pending.end(read)
    }
  }

  /** Reads plain entries through the tracked connection in one MGET, keeping those no invalidation overtook. */
  async readPlain(keys: readonly string[], policy: LocalPolicy | undefined): Promise<(string | null)[]> {
    const epoch = this.#epoch
    const read = this.#pending.begin(keys)
    try {
      const values = await this.#data.mget(keys)
      if (!read.spoiled && epoch === this.#epoch) {
        const ttlMs = this.#ttlMs(policy)
        values.forEach((value, i) => {
          if (value !== null) this.#entries.keep(PLAIN + keys[i], keys[i], value, ttlMs)
        })
      }
      return values
    } finally {
      this.#pending.end(read)
    }
  }

  /** This process changed these Redis keys: nothing read of them before now is kept. */
  forget(redisKeys: Iterable<string>): void {
    for (const key of redisKeys) this.#invalidated([key])
  }

  /**
   * Resolves once every invalidation message Redis sent before now has been applied, so that an
   * invalidation made by this process has cleared this tier when its call returns.
   */
  async caughtUp(): Promise<void> {
    if (!this.#serving) return
    try {
      await this.#subscriber.caughtUp()
    } catch {
      this.#bypass('the invalidation subscriber did not answer')
    }
  }

  /** Empties the tier; tracking stays armed. */
  clear(): void {
    this.#flushed()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#serving = false
    clearInterval(this.#beats)
    this.#retry?.wake()
    this.#entries.clear()
    this.#pending.spoilAll()
    this.#data.disconnect()
    this.#subscriber.disconnect()
    await this.#arming
  }

  #ttlMs(policy: LocalPolicy | undefined): number {
    return policy ? Math.min(policy.ttlMs, this.#settings.ttlMs) : this.#settings.ttlMs
  }

  #invalidated(keys: readonly string[]): void {
    for (const key of keys) {
      if (key === this.#heartbeat.canary) this.#heartbeat.heard()
      this.#pending.spoil(key)
      this.#entries.dropRedisKey(key)
    }
  }

  #flushed(): void {
    this.#heartbeat.heard()
    this.#pending.spoilAll()
    this.#entries.clear()
  }

  /** Stops serving and empties the tier until tracking is armed and proven again. */
  #bypass(reason: string): void {
    this.#epoch++
    const wasServing = this.#serving
    this.#serving = false
    this.#flushed()
    if (wasServing) this.#hooks.onState?.('bypassed', reason)
    this.#scheduleArm()
  }

  #scheduleArm(): void {
    if (this.#closed || this.#arming) return
    this.#arming = this.#arm().finally(() => (this.#arming = undefined))
  }

  /** Subscribes, redirects tracking to the subscriber's id, and serves once a heartbeat came through, all within one epoch. */
  async #arm(): Promise<void> {
    while (!this.#closed) {
      const epoch = this.#epoch
      let proven = false
      try {
        const id = await this.#subscriber.subscribed()
        await this.#data.track(id)
        proven = await this.#heartbeat.beat()
      } catch (error) {
        // Redis is unreachable or the connections are reconnecting: try again shortly.
        this.#hooks.onArmingFault?.(error)
      }
      if (this.#closed) return
      if (proven && epoch === this.#epoch) {
        this.#serving = true
        this.#hooks.onState?.('serving', 'tracking armed')
        return
      }
      if (epoch === this.#epoch) await this.#pause(Math.min(this.#settings.heartbeatMs, 250))
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(() => wake(), ms)
      timer.unref()
      const wake = () => {
        clearTimeout(timer)
        this.#retry = undefined
        resolve()
      }
      this.#retry = { timer, wake }
    })
  }

  /** While serving, proves the channel alive; an unanswered beat bypasses the tier. */
  async #beat(): Promise<void> {
    if (!this.#serving || this.#beating) return
    this.#beating = true
    const epoch = this.#epoch
    let heard = false
    try {
      heard = await this.#heartbeat.beat()
    } catch {
      // a failed command proves nothing either
    } finally {
      this.#beating = false
    }
    if (!heard && epoch === this.#epoch && !this.#closed) this.#bypass('the heartbeat went unanswered')
  }
}
