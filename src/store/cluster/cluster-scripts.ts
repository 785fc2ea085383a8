import type { Cluster } from 'ioredis'
import { CONTAINERS, ENTRY_INVALIDATION, LIVENESS, PLAIN_ENTRIES, SEQUENCE, defineScripts, type ScriptDefinition } from '../script-registry'

type Script<Result> = (numberOfKeys: number, ...args: (string | number)[]) => Promise<Result>

/** The Cluster store's scripts (scripts/cluster-*.lua): each touches one slot, every key in KEYS. */
export interface ClusterScripts {
  cachemeClusterRaise: Script<number>
  /** [1, per set the members to check for pruning], or [0] when refused. */
  cachemeClusterRegister: Script<[number, ...string[][]]>
  /** 1 stored, 0 refused, -1 the slot guard is absent. */
  cachemeClusterStoreEntry: Script<number>
  /** Per set [1 if it had a share of the budget, ...members]. */
  cachemeClusterPop: Script<[number, ...string[]][]>
  cachemeClusterInvalidateEntries: Script<number>
  /** Per entry 1 when live. */
  cachemeClusterCheckEntries: Script<number[]>
  cachemeClusterClaim: Script<(string | null)[]>
  /** [stored or deleted, 1 when the slot guard is absent]. */
  cachemeClusterWriteMany: Script<[number, number]>
  cachemeClusterStamp: Script<number>
  cachemeReleaseLease: (lease: string, token: string) => Promise<number>
  /** One HSCAN page of gc: [next cursor, fields removed]. */
  cachemePruneHash: (hash: string, now: number, cursor: string, count: number) => Promise<[string, number]>
}

const SCRIPTS: Record<keyof ClusterScripts, ScriptDefinition> = {
  cachemeClusterRaise: { file: 'cluster-raise.lua', uses: [SEQUENCE] },
  cachemeClusterRegister: { file: 'cluster-register.lua', uses: [LIVENESS, CONTAINERS] },
  cachemeClusterStoreEntry: { file: 'cluster-store-entry.lua', uses: [LIVENESS, CONTAINERS] },
  cachemeClusterPop: { file: 'cluster-pop.lua', uses: [SEQUENCE, LIVENESS, CONTAINERS] },
  cachemeClusterInvalidateEntries: { file: 'cluster-invalidate-entries.lua', uses: [SEQUENCE, LIVENESS, CONTAINERS, ENTRY_INVALIDATION] },
  cachemeClusterCheckEntries: { file: 'cluster-check-entries.lua', uses: [SEQUENCE, LIVENESS] },
  cachemeClusterClaim: { file: 'cluster-claim.lua', uses: [SEQUENCE] },
  cachemeClusterWriteMany: { file: 'cluster-write-many.lua', uses: [PLAIN_ENTRIES] },
  cachemeClusterStamp: { file: 'cluster-stamp.lua', uses: [SEQUENCE] },
  cachemeReleaseLease: { file: 'release-lease.lua', numberOfKeys: 1 },
  cachemePruneHash: { file: 'prune-hash.lua', numberOfKeys: 1, uses: [LIVENESS] },
}

export type ScriptedCluster = Cluster & ClusterScripts

export const defineClusterScripts = (cluster: Cluster): ScriptedCluster => defineScripts<ClusterScripts>(cluster, SCRIPTS) as ScriptedCluster
