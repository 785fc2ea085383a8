import type { TrackingConnection } from './tracking-connection'

/**
 * Proof that the redirect still works: a broken one raises no error on RESP2 (the subscriber
 * simply stops hearing), so the tracking connection reads a canary key of this process, changes
 * it, and waits for the subscriber to hear of it.
 */
export class Heartbeat {
  readonly canary: string
  readonly #connection: TrackingConnection
  readonly #waitMs: number
  #heard: (() => void) | undefined

  /** `canary`: a key of this process alone; `waitMs`: how long a message may take before the channel counts as broken. */
  constructor(canary: string, connection: TrackingConnection, waitMs: number) {
    this.canary = canary
    this.#connection = connection
    this.#waitMs = waitMs
  }

  /** The subscriber heard an invalidation of the canary, or a flush (which covers it). */
  heard(): void {
    this.#heard?.()
  }

  /** Resolves true once the change of the canary was heard within the wait, false past it. */
  async beat(): Promise<boolean> {
    const client = this.#connection.client
    await client.get(this.canary)
    let timer: NodeJS.Timeout | undefined
    const heard = new Promise<boolean>(resolve => {
      timer = setTimeout(() => resolve(false), this.#waitMs)
      this.#heard = () => resolve(true)
    })
    try {
      // It outlives a few beats, so a process that dies leaves it behind only briefly.
      await client.set(this.canary, String(Date.now()), 'PX', Math.max(10 * this.#waitMs, 10_000))
      return await heard
    } finally {
      clearTimeout(timer)
      this.#heard = undefined
    }
  }
}
