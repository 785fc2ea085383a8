import { CachemeError } from '../../errors'
import type { ScriptedCluster } from './cluster-scripts'
import { slotOf } from '../../slots'
import { perMaster } from './per-master'

/** One command or script call of a step, run on the master of `key`'s slot. */
export interface StepCall {
  readonly key: string
  readonly command: string
  readonly args: readonly (string | number)[]
}

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

  /** Whether the master of this slot has replicas, as the client last saw the topology. */
  replicated(slot: number): boolean {
    return (this.client.slots[slot]?.length ?? 0) > 1
  }

  /** Runs one step: `runAll` with one call. */
  async run<T>(key: string, command: string, args: (string | number)[]): Promise<T> {
    const [result] = await this.runAll<T>([{ key, command, args }])
    return result
  }

  /**
   * Runs each call (a command or script name, on the master of its key's slot), durably where that
   * master has replicas: the calls for one master go in one pipeline ending with one `WAIT 1`, so a
   * step costs one round trip per master however many slots it spans. The client's map can be older
   * than the shard (a replica attached since the last refresh): a master it shows without replicas
   * is asked `ROLE` in the same round trip, and if it has some, the step waits for one of them all
   * the same. Resolves to the results in the order of the calls; rejects with the first error.
   */
  async runAll<T>(calls: readonly StepCall[]): Promise<T[]> {
    const results = new Array<T>(calls.length)
    const indexed = calls.map((call, index) => [slotOf(call.key), { call, index }] as const)
    await Promise.all(
      perMaster(this.client, indexed).map(async group => {
        const answers = await this.#onOneMaster<T>(group.map(({ call }) => call))
        group.forEach(({ index }, i) => (results[index] = answers[i]))
      }),
    )
    return results
  }

  /** Calls whose slots one master serves (as the client's map says), then WAIT or ROLE, in one pipeline. */
  async #onOneMaster<T>(calls: readonly StepCall[]): Promise<T[]> {
    const slot = slotOf(calls[0].key)
    const known = this.replicated(slot)
    const pipeline = this.client.pipeline() as unknown as Record<string, (...args: (string | number)[]) => unknown> & { exec(): Promise<[Error | null, unknown][] | null> }
    for (const { command, args } of calls) pipeline[command](...args)
    if (known) pipeline.call('WAIT', 1, this.timeoutMs)
    else pipeline.call('ROLE')
    const replies = ((await pipeline.exec()) ?? []) as [Error | null, unknown][]
    const failed = replies.find(([error]) => error)
    if (failed || replies.length !== calls.length + 1) throw failed?.[0] ?? new CachemeError('STORE_FAILED', 'a pipeline of steps got fewer replies than it sent commands')
    const second = replies[calls.length][1]
    if (known) this.#check(Number(second), slot)
    else if (replicasIn(second) > 0) {
      this.client.refreshSlotsCache()
      this.#check(Number(await this.#masterOf(slot).call('WAIT', 1, this.timeoutMs)), slot)
    }
    return replies.slice(0, calls.length).map(([, result]) => result as T)
  }

  /**
   * WAIT on every master that has replicas, after steps sent to each of them outside `run` (slot
   * guards). Each master is asked `ROLE` first, so that a map older than the shards cannot skip one.
   */
  async waitOnMasters(): Promise<void> {
    await Promise.all(
      this.client.nodes('master').map(async node => {
        if (replicasIn(await node.call('ROLE')) > 0) this.#check(Number(await node.call('WAIT', 1, this.timeoutMs)), -1)
      }),
    )
  }

  /** The connection the Cluster sends this slot's commands on: WAIT counts the writes of its own connection. */
  #masterOf(slot: number) {
    const address = this.client.slots[slot]?.[0]
    const node = this.client.nodes('master').find(master => `${master.options.host}:${master.options.port}` === address)
    if (!node) throw new CachemeError('STORE_FAILED', `no connection to the master of slot ${slot}, to wait for its replicas`)
    return node
  }

  #check(acknowledged: number, slot: number): void {
    if (acknowledged >= 1) return
    const where = slot === -1 ? 'a master' : `the master of slot ${slot}`
    throw new CachemeError('STORE_FAILED', `no replica of ${where} acknowledged an invalidation step within ${this.timeoutMs} ms: a failover could lose it, so it is retried`)
  }
}

/** The replicas connected to a master, from its `ROLE` reply: ['master', offset, [[host, port, offset], ...]]. */
function replicasIn(role: unknown): number {
  return Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0
}
