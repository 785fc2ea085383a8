import type { EntryRef } from '../keys'
import type { ReadResult } from '../store/store'
import type { LocalPolicy } from './local-options'

/**
 * What the store in front of Redis asks of the in-process tier: one Redis's (LocalTier) or a
 * Cluster's, one per master (ClusterTier).
 */
export interface Tier {
  /** Tracking is armed and proven: kept values may be served. */
  readonly serving: boolean
  /** Entries kept, and their bytes as counted against `maxBytes`. */
  readonly usage: { entries: number; bytes: number }
  /** The kept result of an entry, or undefined. */
  entry(entry: EntryRef): ReadResult | undefined
  /** The kept value of a plain entry, or undefined. */
  plain(key: string): string | undefined
  /** Reads an entry through a tracked connection: its payload when fresh (kept unless overtaken), else undefined. */
  readEntry(entry: EntryRef, policy: LocalPolicy | undefined): Promise<string | undefined>
  /** Reads plain entries through a tracked connection; null for each that is absent (or that no tracked connection can read now). */
  readPlain(keys: readonly string[], policy: LocalPolicy | undefined): Promise<(string | null)[]>
  /** This process changed these Redis keys: nothing read of them before now is kept. */
  forget(redisKeys: Iterable<string>): void
  /** Resolves once every invalidation message Redis sent before now has been applied. */
  caughtUp(): Promise<void>
  /** Empties the tier; tracking stays armed. */
  clear(): void
  close(): Promise<void>
}
