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
    try {
      const id = Number(await this.#client.client('ID'))
      await this.#client.subscribe(INVALIDATION_CHANNEL)
      // ioredis sends a command again on the next connection when its own closed first: that one
      // has another id, and a redirect to the old one would never be heard.
      if (connection !== this.#connection) throw new Error('the invalidation subscriber reconnected while subscribing')
      this.#subscribedAs = id
      return id
    } catch (error) {
      // A SUBSCRIBE that timed out, or that was sent again on a new connection, may have left the
      // connection subscribed under an id this subscriber does not know, and a RESP2 subscriber
      // may not ask for it: the next try starts on a new connection.
      if (this.#client.status === 'ready') this.#client.disconnect(true)
      throw error
    }
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
