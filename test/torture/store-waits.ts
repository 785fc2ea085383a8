import { AsyncLocalStorage } from 'node:async_hooks'
import { performance } from 'node:perf_hooks'
import type { Store } from '../../src/store/store'

/** The operations a decorated call makes on the store. */
const CALL_OPERATIONS = ['read', 'write', 'acquireLease', 'releaseLease'] as const

/**
 * How long each decorated call waited for the store, apart from its computation: what the
 * fail-open timeout bounds. A call's whole latency also holds its database queries, which a
 * loaded machine makes slow whether Redis is up or not.
 */
export function measureStoreWaits(store: Store): <T>(call: () => Promise<T>) => Promise<{ result: T; storeMs: number }> {
  const waits = new AsyncLocalStorage<{ ms: number }>()
  for (const name of CALL_OPERATIONS) {
    const operation = (store[name] as (...args: unknown[]) => Promise<unknown>).bind(store)
    ;(store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const wait = waits.getStore()
      if (!wait) return operation(...args)
      const started = performance.now()
      return operation(...args).finally(() => (wait.ms += performance.now() - started))
    }
  }
  return async call => {
    const wait = { ms: 0 }
    const result = await waits.run(wait, call)
    return { result, storeMs: wait.ms }
  }
}
