import type { ChainableCommander } from 'ioredis'
import type { KeyLayout } from '../../keys'
import type { ReplicaAcks } from './replica-acks'
import type { ScriptedCluster } from './cluster-scripts'
import { SLOT_COUNT, slotTag } from '../../slots'

/** Commands in flight at once while every slot guard is set or stamped: bounded, so memory is. */
const SLOTS_PER_BATCH = 2048

/**
 * The invalidation sequence and the slot guards (keys.ts). A slot guard is stamped by pattern
 * invalidation, which reaches entries no set lists, and its absence tells a store script that the
 * shard lost its data (a flush, a restart without persistence) and with it the guards of
 * invalidations made meanwhile: on a Cluster it replaces both the prefix-wide guard and the
 * standalone check that the sequence never goes backwards.
 */
export class SlotGuards {
  #ready: Promise<void> | undefined

  constructor(
    readonly client: ScriptedCluster,
    readonly layout: KeyLayout,
    readonly acks: ReplicaAcks,
  ) {}

  /** Raises the sequence: max(sequence + 1, server time in microseconds). */
  async raise(): Promise<number> {
    return Number(await this.client.cachemeClusterRaise(1, this.layout.seq))
  }

  guardOf(slot: number): string {
    return this.layout.slotGuard(slotTag(slot))
  }

  /**
   * Resolves once every slot guard exists: the store creates those it lacks (SET NX with the
   * current sequence) before its first write, so that a first write is not refused. A failed set-up
   * is tried again on the next call.
   */
  ready(): Promise<void> {
    this.#ready ??= this.#setUp().catch(error => {
      this.#ready = undefined
      throw error
    })
    return this.#ready
  }

  /** A store script found this slot's guard absent: writes computed before now are refused from now on. */
  async restore(slot: number): Promise<void> {
    await this.client.set(this.guardOf(slot), await this.raise(), 'NX')
  }

  /** Pattern invalidation: every slot guard stamped with its sequence (only raised, never lowered), durably. */
  async stampAll(seq: number): Promise<void> {
    await this.#forEverySlot((pipeline, slot) => pipeline.cachemeClusterStamp(1, this.guardOf(slot), seq, 0))
    await this.acks.waitOnMasters()
  }

  async #setUp(): Promise<void> {
    const stored = await this.client.get(this.layout.seq)
    const seq = stored === null ? await this.raise() : Number(stored)
    await this.#forEverySlot((pipeline, slot) => pipeline.set(this.guardOf(slot), seq, 'NX'))
  }

  /**
   * One command per slot, sent as one pipeline per master (a Cluster pipeline may span the slots
   * of one master), in bounded batches, the masters concurrently.
   */
  async #forEverySlot(add: (pipeline: SlotPipeline, slot: number) => void): Promise<void> {
    const owners = await slotOwners(this.client)
    await Promise.all(
      [...owners.values()].map(async slots => {
        for (let first = 0; first < slots.length; first += SLOTS_PER_BATCH) {
          const pipeline = this.client.pipeline() as unknown as SlotPipeline
          for (const slot of slots.slice(first, first + SLOTS_PER_BATCH)) add(pipeline, slot)
          for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error
        }
      }),
    )
  }
}

type SlotPipeline = ChainableCommander & { cachemeClusterStamp(numberOfKeys: number, ...args: (string | number)[]): SlotPipeline }

/** The slots of each master, once the client knows the topology. */
async function slotOwners(client: ScriptedCluster): Promise<Map<string, number[]>> {
  if (client.slots.length < SLOT_COUNT || client.slots.some(nodes => nodes === undefined)) {
    await new Promise<void>((resolve, reject) => {
      if (client.status === 'ready') return resolve()
      client.once('ready', resolve)
      client.once('end', () => reject(new Error('the Cluster client closed before it knew the topology')))
    })
  }
  const owners = new Map<string, number[]>()
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const master = client.slots[slot]?.[0] ?? ''
    const slots = owners.get(master)
    if (slots) slots.push(slot)
    else owners.set(master, [slot])
  }
  return owners
}
