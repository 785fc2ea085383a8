import { runtime } from '../../src/config'
import type { ReaderSet } from './readers'
import { sleep } from './sleep'

const SETTLE_TIMEOUT_MS = 15_000

/**
 * Waits until the cache is usable again: no invalidation is waiting to be replayed, nothing is
 * left for a relay (`undelivered`), and a value stored now is served back (so the connection is
 * up and commands queued during the outage ran).
 */
export async function settle(readers: ReaderSet, undelivered: () => Promise<number> = async () => 0): Promise<void> {
  readers.jitter = false
  const deadline = Date.now() + SETTLE_TIMEOUT_MS
  const probe = readers.named('userList')
  for (;;) {
    if (pendingInvalidations() === 0 && (await undelivered()) === 0) {
      const before = readers.hits
      await probe.cached(0)
      await probe.cached(0)
      if (readers.hits > before) return
    }
    if (Date.now() > deadline)
      throw new Error(`the cache did not recover within ${SETTLE_TIMEOUT_MS} ms (pending invalidations: ${pendingInvalidations()}, undelivered: ${await undelivered()})`)
    await sleep(50)
  }
}

/** Invalidations the fail-open store still holds back; 0 for a store that holds none. */
function pendingInvalidations(): number {
  return runtime().pendingInvalidations?.() ?? 0
}

/** Every cached value of every reader, compared with the same computation run uncached. */
export async function compareWithFresh(readers: ReaderSet): Promise<{ checked: number; stale: string[] }> {
  let checked = 0
  const stale: string[] = []
  for (const reader of readers.readers) {
    for (const id of reader.domain) {
      const hitsBefore = readers.hits
      const cached = JSON.stringify(await reader.cached(id))
      if (readers.hits === hitsBefore) continue // not cached: computed just now
      checked++
      const fresh = JSON.stringify(await reader.fresh(id))
      if (cached !== fresh) stale.push(`${reader.name}(${id}): cached ${cached}, fresh ${fresh}`)
    }
  }
  return { checked, stale }
}
