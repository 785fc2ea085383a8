import { CachemeError } from '../errors'

interface Pending {
  deadline: number
  readonly reject: (error: Error) => void
  readonly settled: ((ok: boolean, error?: unknown) => void) | undefined
}

/**
 * Bounds operations by a timeout with one timer for all of them, checked every quarter of the
 * timeout: a timer and a racing promise per operation cost more than the Redis read they guard
 * on the hot path. An operation times out between its deadline and a quarter timeout later.
 */
export class Deadlines {
  readonly #pending = new Set<Pending>()
  #timer: NodeJS.Timeout | undefined

  constructor(private readonly timeoutMs: number) {}

  /**
   * Settles as `operation` does, or rejects with STORE_TIMEOUT past the deadline. An operation of
   * many steps calls `progress` after each, which moves its deadline: the timeout bounds each step.
   * `settled` hears once how it ended (true: it resolved in time; false with the error), before the
   * caller does, without a promise of its own on the hot path.
   */
  run<T>(operation: (progress: () => void) => Promise<T>, settled?: (ok: boolean, error?: unknown) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { deadline: Date.now() + this.timeoutMs, reject, settled }
      this.#pending.add(pending)
      this.#watch()
      const failed = (error: unknown) => {
        if (!this.#pending.delete(pending)) return // timed out: already rejected
        settled?.(false, error)
        reject(error)
      }
      let running: Promise<T>
      try {
        running = operation(() => (pending.deadline = Date.now() + this.timeoutMs))
      } catch (error) {
        return failed(error)
      }
      running.then(value => {
        if (!this.#pending.delete(pending)) return
        settled?.(true)
        resolve(value)
      }, failed)
    })
  }

  #watch(): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => this.#expire(), Math.max(1, this.timeoutMs / 4))
    // Bounding calls must not keep the process alive.
    this.#timer.unref()
  }

  #expire(): void {
    const now = Date.now()
    for (const pending of this.#pending) {
      if (pending.deadline > now) continue
      this.#pending.delete(pending)
      const timeout = new CachemeError('STORE_TIMEOUT', `the store did not answer within ${this.timeoutMs} ms`)
      pending.settled?.(false, timeout)
      pending.reject(timeout)
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
