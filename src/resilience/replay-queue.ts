import type { EntryRef } from '../keys'
import type { InvalidateOptions } from '../store/store'

/** An invalidation waiting to be delivered to the store: what `Store` offers for emptying and deleting. */
export type PendingInvalidation =
  | { readonly kind: 'sets'; readonly sets: readonly string[]; readonly options?: InvalidateOptions }
  | { readonly kind: 'entries'; readonly entries: readonly EntryRef[] }
  | { readonly kind: 'pattern'; readonly pattern: string }

/** What the queue falls back to when it overflows: every entry under the prefix is stale. */
export const EVERYTHING: PendingInvalidation = { kind: 'pattern', pattern: '*' }

/**
 * Invalidations that could not be delivered, kept in order until the store answers again. It is
 * bounded: on overflow it forgets them all and keeps one invalidation of the whole prefix instead,
 * which is safe (everything is recomputed) where dropping one would not be.
 */
export class ReplayQueue {
  #items: PendingInvalidation[] = []

  constructor(
    private readonly limit: number,
    private readonly onOverflow: () => void,
  ) {}

  get size(): number {
    return this.#items.length
  }

  push(invalidation: PendingInvalidation): void {
    if (this.#items[0] === EVERYTHING) return // already covers it
    if (this.#items.length >= this.limit) {
      this.#items = [EVERYTHING]
      this.onOverflow()
      return
    }
    this.#items.push(invalidation)
  }

  peek(): PendingInvalidation | undefined {
    return this.#items[0]
  }

  shift(): void {
    this.#items.shift()
  }
}
