import { LRUCache } from 'lru-cache'
import type { ReadResult } from '../store/store'

/** What the tier keeps of one entry: the read result it hands out on every hit, and its Redis key. */
interface Kept {
  readonly result: ReadResult
  readonly redisKey: string
}

/** Rough bytes per entry besides its strings: the LRU's slots, the result object, the index. */
const ENTRY_OVERHEAD_BYTES = 96

/**
 * The values this process keeps, bounded in entries and bytes, least recently used out first
 * (lru-cache). Each names the Redis key it was read from, because an invalidation names Redis keys:
 * a change to any field of a hash drops every entry read from that hash.
 *
 * A value is kept as the stored string, and every hit decodes it again, so a caller that mutates
 * its result cannot change what the next caller gets.
 */
export class LocalEntries {
  readonly #lru: LRUCache<string, Kept>
  /** Redis key to the names of the entries read from it. */
  readonly #byRedisKey = new Map<string, Set<string>>()

  constructor(maxEntries: number, maxBytes: number) {
    this.#lru = new LRUCache<string, Kept>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (kept, name) => 2 * (name.length + (kept.result.value?.length ?? 0)) + ENTRY_OVERHEAD_BYTES,
      // A replaced value keeps its place in the index; every other removal leaves it.
      dispose: (kept, name, reason) => {
        if (reason !== 'set') this.#unindex(kept.redisKey, name)
      },
    })
  }

  get size(): number {
    return this.#lru.size
  }

  /** Bytes counted against `maxBytes`. */
  get bytes(): number {
    return this.#lru.calculatedSize
  }

  /** The kept result of `name`, or undefined (absent, or past its time). */
  get(name: string): ReadResult | undefined {
    return this.#lru.get(name)?.result
  }

  /** Keeps `payload` under `name` for `ttlMs`, read from `redisKey`. */
  keep(name: string, redisKey: string, payload: string, ttlMs: number): void {
    if (!(ttlMs > 0)) return
    const result: ReadResult = { value: payload, stale: false, seq: undefined, local: true }
    this.#lru.set(name, { result, redisKey }, { ttl: Number.isFinite(ttlMs) ? Math.ceil(ttlMs) : 0 })
    if (!this.#lru.has(name)) return // larger than the whole bound
    let names = this.#byRedisKey.get(redisKey)
    if (names === undefined) this.#byRedisKey.set(redisKey, (names = new Set()))
    names.add(name)
  }

  /** Drops every entry read from `redisKey`. */
  dropRedisKey(redisKey: string): void {
    const names = this.#byRedisKey.get(redisKey)
    if (names === undefined) return
    for (const name of [...names]) this.#lru.delete(name)
    this.#byRedisKey.delete(redisKey)
  }

  clear(): void {
    this.#lru.clear()
    this.#byRedisKey.clear()
  }

  #unindex(redisKey: string, name: string): void {
    const names = this.#byRedisKey.get(redisKey)
    if (names === undefined) return
    names.delete(name)
    if (names.size === 0) this.#byRedisKey.delete(redisKey)
  }
}
