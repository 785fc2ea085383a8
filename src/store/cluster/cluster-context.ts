import type { KeyLayout } from '../../keys'
import type { ScriptedCluster } from './cluster-scripts'
import type { ReplicaAcks } from './replica-acks'
import type { SlotGuards } from './slot-guards'

/** What the parts of the Cluster store share: the client with its scripts, the names, durability, the sequence and slot guards. */
export interface ClusterContext {
  readonly client: ScriptedCluster
  readonly layout: KeyLayout
  readonly acks: ReplicaAcks
  readonly guards: SlotGuards
}

/** Splits a list into consecutive chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = []
  for (let from = 0; from < items.length; from += size) result.push(items.slice(from, from + size))
  return result
}
