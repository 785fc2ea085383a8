import type { Redis } from 'ioredis'

/** The channel Redis publishes tracking invalidations on, to a RESP2 redirect target. */
export const INVALIDATION_CHANNEL = '__redis__:invalidate'

export interface InvalidationListener {
  /** Redis keys that changed (or expired, or were evicted, or left the tracking table). */
  readonly onKeys: (keys: string[]) => void
  /** FLUSHALL or FLUSHDB: every key changed. */
  readonly onFlush: () => void
  /** The connection closed: messages sent meanwhile are lost, and its client id is gone. */
  readonly onLost: () => void
}

/**
 * The connection that receives Redis's invalidation messages: RESP2 (`protocol: 2`), because a
 * RESP3 redirect target receives pushes, which ioredis drops. It is subscribed by hand after each
 * connect, once its new client id is known: the tracking connection must redirect to that id.
 */
export class InvalidationSubscriber {
  readonly #client: Redis
  /** The client id the current connection subscribed with; undefined until then, and after a loss. */
  #subscribedAs: number | undefined
  /** Moves on every close: a subscription begun on one connection may complete on the next. */
  #connection = 0

  /**
   * `client` is this subscriber's own connection, made with `protocol: 2` and `autoResubscribe: false`.
   * Messages name keys as Redis stores them: a client's `keyPrefix` is taken off again.
   */
  constructor(client: Redis, listener: InvalidationListener) {
    this.#client = client
    const keyPrefix = client.options.keyPrefix ?? ''
    client.on('messageBuffer', (channel: Buffer, message: Buffer[] | null) => {
      if (String(channel) !== INVALIDATION_CHANNEL) return
      if (message === null) return listener.onFlush()
      const keys = message.map(key => String(key))
      listener.onKeys(keyPrefix === '' ? keys : keys.filter(key => key.startsWith(keyPrefix)).map(key => key.slice(keyPrefix.length)))
    })
    client.on('close', () => {
      this.#connection++
      this.#subscribedAs = undefined
      listener.onLost()
    })
  }

  /** Subscribes the current connection if it is not yet, and resolves to its client id. */
  async subscribed(): Promise<number> {
    if (this.#subscribedAs !== undefined) return this.#subscribedAs
    const connection = this.#connection
    const id = Number(await this.#client.client('ID'))
    await this.#client.subscribe(INVALIDATION_CHANNEL)
    if (connection !== this.#connection) {
      // ioredis sent the SUBSCRIBE again on the next connection, whose id is another one: a redirect
      // to the old id would never be heard. That connection leaves the channel, since a RESP2
      // subscriber may not ask for its id, and the caller starts over.
      await this.#client.unsubscribe(INVALIDATION_CHANNEL)
      throw new Error('the invalidation subscriber reconnected while subscribing')
    }
    this.#subscribedAs = id
    return id
  }

  /**
   * Resolves once every message Redis queued for this connection before now has been handled: a
   * PING's reply follows them on the same connection, so after an invalidation command returns,
   * its messages are in.
   */
  async caughtUp(): Promise<void> {
    await this.#client.ping()
  }

  disconnect(): void {
    this.#subscribedAs = undefined
    this.#client.disconnect()
  }
}
