import type { Cluster, Redis } from 'ioredis'
import type { Runtime } from '../config'

/** Longest wait for Redis to answer a PING before it is reported down. */
const PING_PATIENCE_MS = 1000

/** Invalidations a configuration holds until Redis answers again: its store's replay queue. */
export function pendingInvalidations(runtime: Runtime): number {
  return runtime.pendingInvalidations?.() ?? 0
}

export type PingResult = { readonly answering: true; readonly latencyMs: number } | { readonly answering: false; readonly error: string }

/** Whether the client's Redis answers a PING within the patience, and how fast. */
export async function ping(client: Redis | Cluster): Promise<PingResult> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  const patience = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to PING within ${PING_PATIENCE_MS} ms`)), PING_PATIENCE_MS)
  })
  try {
    await Promise.race([client.ping(), patience])
    return { answering: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 }
  } catch (error) {
    return { answering: false, error: error instanceof Error ? error.message : String(error) }
  } finally {
    clearTimeout(timer)
  }
}
