/**
 * Stops paying a timeout on every call while the store is down: after `threshold` consecutive
 * failures it opens and refuses calls; after `cooldownMs` it lets one probe through, which closes
 * it on success and keeps it open on failure.
 */
export class CircuitBreaker {
  #failures = 0
  #openedAt: number | undefined
  #probing = false

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly onChange: (state: 'open' | 'closed') => void,
  ) {}

  get isOpen(): boolean {
    return this.#openedAt !== undefined
  }

  /** Whether a call may go to the store now; a caller that is allowed must report how it went. */
  allows(now = Date.now()): boolean {
    if (this.#openedAt === undefined) return true
    if (this.#probing || now - this.#openedAt < this.cooldownMs) return false
    this.#probing = true
    return true
  }

  succeeded(): void {
    this.#failures = 0
    this.#probing = false
    if (this.#openedAt !== undefined) {
      this.#openedAt = undefined
      this.onChange('closed')
    }
  }

  failed(now = Date.now()): void {
    this.#failures++
    this.#probing = false
    if (this.#openedAt !== undefined) {
      this.#openedAt = now
    } else if (this.#failures >= this.threshold) {
      this.#openedAt = now
      this.onChange('open')
    }
  }
}
