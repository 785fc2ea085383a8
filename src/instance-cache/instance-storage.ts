import { closeStore, runtime, type Runtime } from '../config'
import { CachemeError } from '../errors'
import type { ReadOptions } from '../store/store'
import type { ResolvedFunctions, SerializedRow } from './model-functions'
import type { Pk } from './row-identity'
import { stableJson } from './stable-json'

/** A pk's row as serialized JSON, or null when the row is known not to exist. */
export type Stored = SerializedRow | null

/** The cache key of an instance, without the prefix: `BaseCache.keyFor`, which a subclass may override. */
export type KeyFor = (version: string, model: string, pk: Pk) => string

/**
 * Where the instance cache keeps its rows and for how long: in a store of its own (given
 * `redis`, `store` or `prefix`) or in the configured one, under the keys `keyFor` makes, for the
 * cache's TTLs. The read and the refresh path share it.
 */
export class InstanceStorage {
  readonly #own: Runtime | undefined
  readonly #ttlMs: number | undefined

  /**
   * `ttlMs` undefined: the configured `ttl`. `missingTtlMs` 0: a missing row is not remembered.
   * `readOptions`: how rows are read from the in-process tier (undefined: as the store's tier is set up).
   */
  constructor(
    own: Runtime | undefined,
    readonly keyFor: KeyFor,
    ttlMs: number | undefined,
    readonly missingTtlMs: number,
    readonly readOptions?: ReadOptions,
  ) {
    this.#own = own
    this.#ttlMs = ttlMs
  }

  /** The configuration in force for this cache: its own, else the configured one (read on every call, as configure() may replace it). */
  runtime(): Runtime {
    return this.#own ?? runtime()
  }

  /** Milliseconds a row stays cached in `current`; 0 for no expiry. */
  ttlMs(current: Runtime): number {
    return this.#ttlMs ?? current.ttlMs
  }

  /** Closes the store this cache opened for itself; the configured one is left alone. */
  async close(): Promise<void> {
    if (this.#own) await closeStore(this.#own)
  }
}

/** A key deleted whole (an instance is a plain entry, not a hash field). */
export function plainEntry(key: string) {
  return { full: key, key, field: undefined }
}

/** What a stored value says: data, null (known missing), or undefined (not cached, or unreadable). */
export function parseStored(raw: string | undefined): Stored | undefined {
  if (raw === undefined) return undefined
  try {
    const parsed = JSON.parse(raw) as unknown
    return parsed === null || (typeof parsed === 'object' && !Array.isArray(parsed)) ? (parsed as Stored) : undefined
  } catch {
    return undefined
  }
}

/** Whether the cached representation already says what `next` says, whatever the order of its keys. */
export function sameData(cached: Stored | undefined, next: SerializedRow): boolean {
  return cached !== undefined && cached !== null && stableJson(cached) === stableJson(next)
}

/** The serializer's output as it will read back from JSON (so that comparisons see what is stored), or null for no row. */
export async function serialize(functions: ResolvedFunctions, model: string, version: string, row: unknown): Promise<SerializedRow | null> {
  if (!functions.serializer) throw new CachemeError('INVALID_OPTIONS', `the instance cache has no serializer for ${model} in version ${version}`)
  const data = await functions.serializer(row)
  if (data === null || data === undefined) return null
  try {
    return JSON.parse(JSON.stringify(data)) as SerializedRow
  } catch (error) {
    throw new CachemeError('UNSERIALIZABLE_RESULT', `${model}_${version}_serializer returned a value that is not JSON: ${(error as Error).message}`, { cause: error })
  }
}
