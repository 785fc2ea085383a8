import { AsyncLocalStorage } from 'node:async_hooks'
import { localInvalidations } from './invalidation'

/** What a scoped call produced: its result, and the payload to keep (undefined: nothing cacheable). */
export interface Produced {
  readonly result: unknown
  readonly payload: string | undefined | Promise<string | undefined>
}

/**
 * The memory of one request: the payloads (stored JSON) of the memoized calls made in it, by entry,
 * so that a repeated call of one key is answered without Redis. A payload is kept, not the result,
 * and decoded afresh for every caller: a caller that mutates what it got changes nothing for the
 * next. Any invalidation this process makes drops every payload kept before it.
 */
export class RequestScope {
  readonly #kept = new Map<string, Promise<string | undefined>>()
  /** localInvalidations() when the kept payloads were last known good. */
  #invalidations = localInvalidations()

  /**
   * The result of the call of `name`: decoded from the payload an earlier call kept (or is about
   * to keep), else produced, its payload kept for the next callers.
   */
  async serve(name: string, produce: () => Promise<Produced>, decode: (payload: string) => unknown): Promise<unknown> {
    const kept = this.#current().get(name)
    if (kept !== undefined) {
      const asked = localInvalidations()
      const payload = await kept
      // Kept from a call that was still running when this one began: not if a change came meanwhile.
      if (payload !== undefined && localInvalidations() === asked) return decode(payload)
    }
    let settle!: (payload: string | undefined | Promise<string | undefined>) => void
    const pending = new Promise<string | undefined>(resolve => (settle = resolve))
    this.#current().set(name, pending)
    try {
      const { result, payload } = await produce()
      settle(payload)
      // A miss's payload comes when its store answers, after its result.
      void Promise.resolve(payload).then(kept => kept === undefined && this.#forget(name, pending))
      return result
    } catch (error) {
      settle(undefined)
      this.#forget(name, pending)
      throw error
    }
  }

  /** The kept payloads, none of them older than the last invalidation. */
  #current(): Map<string, Promise<string | undefined>> {
    const invalidations = localInvalidations()
    if (invalidations !== this.#invalidations) {
      this.#kept.clear()
      this.#invalidations = invalidations
    }
    return this.#kept
  }

  #forget(name: string, pending: Promise<string | undefined>): void {
    if (this.#kept.get(name) === pending) this.#kept.delete(name)
  }
}

const scopes = new AsyncLocalStorage<RequestScope>()

/**
 * Runs `fn` in a request scope: inside it (and in everything it awaits or starts), repeated calls
 * of one memoized key are answered from memory, without Redis, and each caller gets its own copy of
 * the value. Invalidations drop what the scope holds. Inside another scope, `fn` shares that one.
 * Express: `cachemeScopeMiddleware()` from cacheme/express; Nest: `CachemeScopeMiddleware` from cacheme/nest.
 * @example
 * app.get('/posts', (req, res) => cachemeScope(async () => res.json(await serializePosts())))
 */
export function cachemeScope<T>(fn: () => T): T {
  return scopes.getStore() === undefined ? scopes.run(new RequestScope(), fn) : fn()
}

/** The request scope the current call runs in, if any. */
export function requestScope(): RequestScope | undefined {
  return scopes.getStore()
}
