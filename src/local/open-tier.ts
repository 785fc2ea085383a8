import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { KeyLayout } from '../keys'
import type { LocalSettings } from './local-options'
import { LocalTier, type TierHooks } from './local-tier'

/**
 * The tier of a Redis client: two connections of its own made like the client's (same server,
 * credentials, database), RESP2 both, each command bounded by the store's timeout. The subscriber
 * is subscribed by the tier after each connect, once its new client id is known.
 */
export function openLocalTier(client: Redis, layout: KeyLayout, settings: LocalSettings, timeoutMs: number, hooks: TierHooks): LocalTier {
  const id = randomUUID()
  const quiet = (connection: Redis) => connection.on('error', () => {})
  const data = quiet(client.duplicate({ protocol: 2, commandTimeout: timeoutMs, connectionName: `cacheme:local:${id}`, lazyConnect: false }))
  const subscriber = quiet(client.duplicate({ protocol: 2, commandTimeout: timeoutMs, autoResubscribe: false, connectionName: `cacheme:invalidations:${id}`, lazyConnect: false }))
  return new LocalTier({ data, subscriber }, layout.localCanary(id), settings, hooks)
}
