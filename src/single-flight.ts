/** What a shared computation hands its waiters. */
export interface Computation {
  readonly result: unknown
  /** An invalidation came while it ran (it was not stored): a caller that joined late must compute its own. */
  readonly inputsChanged: boolean
}

/**
 * Concurrent misses of one key in this process share one computation. When it fails, every waiter
 * gets the error; either way the key leaves the table as soon as it settles.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Promise<Computation>>()

  /** Computations in flight. */
  get size(): number {
    return this.#flights.size
  }

  /** Starts `compute` for `key`, or joins the one already running. */
  run(key: string, compute: () => Promise<Computation>): { computation: Promise<Computation>; joined: boolean } {
    const running = this.#flights.get(key)
    if (running) return { computation: running, joined: true }
    const computation = compute().finally(() => this.#flights.delete(key))
    this.#flights.set(key, computation)
    return { computation, joined: false }
  }
}
