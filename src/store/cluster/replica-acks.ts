import { CachemeError } from '../../errors'
import type { ScriptedCluster } from './cluster-scripts'
import { slotOf } from '../../slots'

/**
 * Failover durability. Replication is asynchronous: a master that dies can take its last writes
 * with it, guard stamps and deletions included, and its promoted replica would then serve what an
 * invalidation had deleted. So each invalidation step, and each registration, on a master that has
 * replicas is followed by `WAIT 1 <timeoutMs>` in the same pipeline (one round trip): the step
 * returns only once a replica holds it, and fails, to be retried by the replay queue, when none
 * acknowledged it in time.
 */
export class ReplicaAcks {
  constructor(
    readonly client: ScriptedCluster,
    readonly timeoutMs: number,
  ) {}

  /** Whether the master of this slot has replicas (as the client last saw the topology). */
  replicated(slot: number): boolean {
    return (this.client.slots[slot]?.length ?? 0) > 1
  }

  /** Runs `command` (a command or script name) on the master of `key`'s slot, durably when it has replicas. */
  async run<T>(key: string, command: string, args: (string | number)[]): Promise<T> {
    const client = this.client as unknown as Record<string, (...args: (string | number)[]) => Promise<T>>
    const slot = slotOf(key)
    if (!this.replicated(slot)) return client[command](...args)
    const pipeline = this.client.pipeline() as unknown as Record<string, (...args: (string | number)[]) => unknown> & { exec(): Promise<[Error | null, unknown][] | null> }
    pipeline[command](...args)
    pipeline.call('WAIT', 1, this.timeoutMs)
    const [[error, result], [waitError, acknowledged]] = (await pipeline.exec()) as [[Error | null, T], [Error | null, number]]
    if (error || waitError) throw error ?? waitError
    this.#check(acknowledged, slot)
    return result
  }

  /** WAIT on every master that has replicas, after steps sent to each of them outside `run` (slot guards). */
  async waitOnMasters(): Promise<void> {
    const replicated = new Set(this.client.slots.filter(nodes => nodes.length > 1).map(([master]) => master))
    if (replicated.size === 0) return
    const masters = this.client.nodes('master').filter(node => replicated.has(`${node.options.host}:${node.options.port}`))
    await Promise.all(masters.map(async node => this.#check(Number(await node.call('WAIT', 1, this.timeoutMs)), -1)))
  }

  #check(acknowledged: number, slot: number): void {
    if (acknowledged >= 1) return
    const where = slot === -1 ? 'a master' : `the master of slot ${slot}`
    throw new CachemeError('STORE_FAILED', `no replica of ${where} acknowledged an invalidation step within ${this.timeoutMs} ms: a failover could lose it, so it is retried`)
  }
}
