import type { EntryRef } from '../keys'
import type { InvalidateOptions } from '../store/store'

/** An invalidation waiting to be delivered to the store: what `Store` offers for emptying and deleting. */
export type PendingInvalidation =
  | { readonly kind: 'sets'; readonly sets: readonly string[]; readonly options?: InvalidateOptions }
  | { readonly kind: 'entries'; readonly entries: readonly EntryRef[]; readonly options?: Pick<InvalidateOptions, 'onProgress'> }
  | { readonly kind: 'pattern'; readonly pattern: string }

/** What the queue falls back to when it overflows: every entry under the prefix is stale. */
export const EVERYTHING: PendingInvalidation = { kind: 'pattern', pattern: '*' }

/** Whether an invalidation is of every entry under the prefix: there is nothing broader to fall back to. */
export function isEverything(invalidation: PendingInvalidation): boolean {
  return invalidation.kind === 'pattern' && invalidation.pattern === '*'
}

/**
 * What is left of an invalidation whose first `done` sets or entries were delivered (the store's
 * `onProgress`): a large one that fails midway resumes where it stopped. A pattern starts again.
 */
export function remainderOf(invalidation: PendingInvalidation, done: number): PendingInvalidation {
  if (done <= 0) return invalidation
  switch (invalidation.kind) {
    case 'sets':
      return { ...invalidation, sets: invalidation.sets.slice(done) }
    case 'entries':
      return { ...invalidation, entries: invalidation.entries.slice(done) }
    case 'pattern':
      return invalidation
  }
}

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

  /** The first invalidation was partly delivered: only the rest of it waits. */
  replaceFirst(rest: PendingInvalidation): void {
    this.#items[0] = rest
  }

  /**
   * Everything waiting, and what comes after, is covered by one invalidation of the whole prefix:
   * one of them can never be delivered as it is.
   */
  coverEverything(): void {
    this.#items = [EVERYTHING]
  }
}
