import type { Redis } from 'ioredis'

/**
 * The connection the tier reads through, with `CLIENT TRACKING ON REDIRECT <subscriber id>`:
 * Redis remembers each key it reads and tells the subscriber when the key changes. A new
 * connection starts with tracking off, so every reconnect must arm it again.
 */
export class TrackingConnection {
  readonly #client: Redis

  /** `client` is this tier's own connection; `onLost` is told when it closes (tracking is off from then on). */
  constructor(client: Redis, onLost: () => void) {
    this.#client = client
    client.on('close', onLost)
  }

  get client(): Redis {
    return this.#client
  }

  /** Turns tracking on, redirected to `subscriberId`; a previous redirect is dropped first. */
  async track(subscriberId: number): Promise<void> {
    await this.#client.client('TRACKING', 'OFF')
    await this.#client.client('TRACKING', 'ON', 'REDIRECT', String(subscriberId))
  }

  get(key: string): Promise<string | null> {
    return this.#client.get(key)
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#client.hget(key, field)
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#client.mget(...keys)
  }

  disconnect(): void {
    this.#client.disconnect()
  }
}
