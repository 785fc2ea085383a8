import type { Cluster, Redis } from 'ioredis'

/** Entries written at once while filling. */
export const BATCH = 500

/** The two deployments measured side by side, each with its own client and a connection per server for measuring. */
export interface Deployment {
  readonly name: 'standalone' | 'Cluster'
  /** Puts `configure({ redis, prefix: 'bench:' })` in force for this deployment. */
  readonly use: () => Promise<void>
  /** One admin connection per master (one for standalone), for SLOWLOG and INFO. */
  readonly masters: () => Promise<Redis[]>
  /** The clients whose sockets carry cacheme's commands: the standalone client, or the Cluster's master connections. */
  readonly sockets: () => Redis[]
  /** Runs one command against the deployment (routed by key on the Cluster). */
  readonly client: Redis | Cluster
  /** The connection to the server that holds the invalidation sequence. */
  readonly sequenceOwner: () => Redis
}
