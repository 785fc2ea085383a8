import type { Cluster, Redis } from 'ioredis'

const CLOSE_PATIENCE_MS = 1000

/** QUIT waits for a server that may be gone: past a short wait the connection is simply dropped. */
export async function closeClient(client: Redis | Cluster): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const patience = new Promise<void>(resolve => (timer = setTimeout(resolve, CLOSE_PATIENCE_MS)))
  await Promise.race([client.quit().catch(() => undefined), patience])
  clearTimeout(timer)
  client.disconnect()
}
