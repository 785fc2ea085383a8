import { decode } from './codec'
import type { EntryRef } from './keys'
import type { Computation } from './single-flight'
import type { Store } from './store/store'

/** The lease on one entry that a computation runs under. */
export interface LeaseTerms {
  readonly store: Store
  readonly entry: EntryRef
  /** How long the lease is held, and how long the others wait for its value. */
  readonly ms: number
  /** A store fault met while taking, waiting for or giving back the lease. */
  readonly onFault: (error: unknown) => void
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Cross-process single flight: the process that takes the entry's lease (SET NX PX with a token)
 * computes; the others poll for the value it stores, taking the lease over if it is given back
 * without one, and compute themselves once the lease time has passed. A store fault makes this
 * caller compute without a lease.
 */
export async function underLease({ store, entry, ms, onFault }: LeaseTerms, compute: () => Promise<Computation>): Promise<Computation> {
  const leaseKey = store.layout.lease(entry)
  const freshValue = async (): Promise<Computation | undefined> => {
    const { value, stale } = await store.read(entry)
    return value !== undefined && !stale ? { result: decode(value), inputsChanged: false } : undefined
  }
  let token: string | undefined
  try {
    token = await store.acquireLease(leaseKey, ms)
    const pollMs = Math.max(5, Math.min(50, ms / 10))
    for (const deadline = Date.now() + ms; token === undefined && Date.now() < deadline;) {
      await sleep(pollMs)
      const stored = await freshValue()
      if (stored) return stored
      token = await store.acquireLease(leaseKey, ms)
    }
    // Another process may have stored the value, and given its lease back, since this caller's read missed.
    const stored = token === undefined ? undefined : await freshValue()
    if (stored) {
      await store.releaseLease(leaseKey, token!).catch(onFault)
      token = undefined
      return stored
    }
  } catch (error) {
    onFault(error)
  }
  try {
    return await compute()
  } finally {
    if (token !== undefined) await store.releaseLease(leaseKey, token).catch(onFault)
  }
}
