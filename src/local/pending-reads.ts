/** One read on its way to Redis: spoiled when an invalidation of one of its keys arrives first. */
export interface PendingRead {
  readonly keys: readonly string[]
  spoiled: boolean
}

/**
 * Reads of the tracked connection that have been sent and not answered. Redis sends one
 * invalidation per tracked key and then stops tracking it, so a reply that arrives after the
 * invalidation of its key holds a value that no later message will ever drop: such a reply is
 * returned to its caller but not kept. A read is registered before it is sent.
 */
export class PendingReads {
  readonly #byKey = new Map<string, Set<PendingRead>>()

  /** Registers a read of these Redis keys; call before sending it, and `end()` when it settles. */
  begin(keys: readonly string[]): PendingRead {
    const read: PendingRead = { keys, spoiled: false }
    for (const key of keys) {
      let reads = this.#byKey.get(key)
      if (reads === undefined) this.#byKey.set(key, (reads = new Set()))
      reads.add(read)
    }
    return read
  }

  end(read: PendingRead): void {
    for (const key of read.keys) {
      const reads = this.#byKey.get(key)
      if (reads === undefined) continue
      reads.delete(read)
      if (reads.size === 0) this.#byKey.delete(key)
    }
  }

  /** An invalidation of `key` arrived: no read of it now in flight may be kept. */
  spoil(key: string): void {
    const reads = this.#byKey.get(key)
    if (reads !== undefined) for (const read of reads) read.spoiled = true
  }

  /** Everything was invalidated (a flush, a lost channel). */
  spoilAll(): void {
    for (const reads of this.#byKey.values()) for (const read of reads) read.spoiled = true
  }
}
