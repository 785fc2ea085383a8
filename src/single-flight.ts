/** What a shared computation hands its waiters. */
export interface Computation {
  readonly result: unknown
  /** An invalidation came while it ran (it was not stored): a caller that joined late must compute its own. */
  readonly inputsChanged: boolean
}

/**
 * Concurrent misses of one key in this process share one computation, its store included. When it
 * fails, every waiter gets the error; either way the key leaves the table as soon as it settles.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Promise<Computation>>()

  /** Computations in flight. */
  get size(): number {
    return this.#flights.size
  }

  /** Resolves once no computation is in flight, those started meanwhile included; never rejects. */
  async settled(): Promise<void> {
    while (this.#flights.size > 0) await Promise.allSettled(this.#flights.values())
  }

  /** The computation of `key` in flight, if any. */
  running(key: string): Promise<Computation> | undefined {
    return this.#flights.get(key)
  }

  /** Starts `compute` for `key`, or joins the one running, else `began`: one the caller saw running, finished since. */
  run(key: string, compute: () => Promise<Computation>, began?: Promise<Computation>): { computation: Promise<Computation>; joined: boolean } {
    const running = this.#flights.get(key) ?? began
    if (running) return { computation: running, joined: true }
    const computation = compute().finally(() => this.#flights.delete(key))
    this.#flights.set(key, computation)
    return { computation, joined: false }
  }
}
