import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { KeyLayout } from '../keys'
import { ClusterTier } from './cluster-tier'
import type { LocalSettings } from './local-options'
import { LocalTier, type TierHooks } from './local-tier'
import type { Tier } from './tier'

/** The tier of a client: on a Cluster, one tier per master (ClusterTier). */
export function openTier(client: Redis | Cluster, layout: KeyLayout, settings: LocalSettings, timeoutMs: number, hooks: TierHooks): Tier {
  const id = randomUUID()
  if (!client.isCluster) return openLocalTier(client as Redis, layout.localCanary(id), id, settings, timeoutMs, hooks)
  return new ClusterTier(client as Cluster, (node, slotTag, nodeHooks) => openLocalTier(node, `${layout.localCanary(id)}:{${slotTag}}`, id, settings, timeoutMs, nodeHooks), hooks)
}

/**
 * The tier of one Redis server: two connections of its own made like `client` (same server,
 * credentials, database), RESP2 both, each command bounded by the store's timeout. The subscriber
 * is subscribed by the tier after each connect, once its new client id is known. `canary`: a key
 * of this process alone, on that server.
 */
function openLocalTier(client: Redis, canary: string, id: string, settings: LocalSettings, timeoutMs: number, hooks: TierHooks): LocalTier {
  const quiet = (connection: Redis) => connection.on('error', () => {})
  const data = quiet(client.duplicate({ protocol: 2, commandTimeout: timeoutMs, connectionName: `cacheme:local:${id}`, lazyConnect: false }))
  const subscriber = quiet(client.duplicate({ protocol: 2, commandTimeout: timeoutMs, autoResubscribe: false, connectionName: `cacheme:invalidations:${id}`, lazyConnect: false }))
  return new LocalTier({ data, subscriber }, canary, settings, hooks)
}
