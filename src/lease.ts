import { decode } from './codec'
import type { EntryRef } from './keys'
import type { Computation } from './single-flight'
import type { Store } from './store/store'

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Cross-process single flight: the process that takes the entry's lease (SET NX PX with a token)
 * computes; the others poll for the value it stores, taking the lease over if it is given back
 * without one, and compute themselves once the lease time has passed. A store fault makes this
 * caller compute without a lease.
 */
export async function underLease(store: Store, entry: EntryRef, ms: number, compute: () => Promise<Computation>, onFault: (error: unknown) => void): Promise<Computation> {
  const name = store.layout.lease(entry)
  let token: string | undefined
  try {
    token = await store.acquireLease(name, ms)
    const poll = Math.max(5, Math.min(50, ms / 10))
    for (const deadline = Date.now() + ms; token === undefined && Date.now() < deadline;) {
      await sleep(poll)
      const { value, stale } = await store.read(entry)
      if (value !== undefined && !stale) return { result: decode(value), stale: false }
      token = await store.acquireLease(name, ms)
    }
  } catch (error) {
    onFault(error)
  }
  try {
    return await compute()
  } finally {
    if (token !== undefined) await store.releaseLease(name, token).catch(onFault)
  }
}
