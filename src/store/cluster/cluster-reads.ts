import type { EntryRef } from '../../keys'
import { slotOf } from '../../slots'
import { open, type Opened } from '../envelope'
import { readAlone } from '../read-alone'
import { ReadsOfOneTurn, type WaitingRead } from '../reads-of-one-turn'
import type { ReadResult } from '../store'
import type { ClusterContext } from './cluster-context'
import { perMaster } from './per-master'

type Waiting = WaitingRead<ReadResult>

/** A read that found no fresh value: it is answered with the sequence. */
interface Unfresh {
  readonly read: Waiting
  readonly found: Opened | undefined
}

/**
 * Reads issued in one turn of the event loop on a Cluster: one pipeline per master (a pipeline may
 * span the slots of one master), so concurrent hits cost a round trip per master, not one per read.
 * A read alone is one plain command. The reads of a batch that miss or find a stale value then
 * read the sequence once for all of them, after the slot guards exist, as a read alone does. A
 * pipeline that fails (its master down, its slots moving) fails its own reads only.
 */
export class ClusterReads {
  readonly #turn = new ReadsOfOneTurn<ReadResult>(batch => this.#flush(batch))

  constructor(private readonly context: ClusterContext) {}

  read(entry: EntryRef): Promise<ReadResult> {
    return this.#turn.read(entry)
  }

  #flush(batch: Waiting[]): void {
    const { client, layout, guards } = this.context
    if (batch.length === 1) {
      const [only] = batch
      readAlone(client, layout, only.entry, guards.ready()).then(only.resolve, only.reject)
      return
    }
    const unfresh: Unfresh[] = []
    const masters = perMaster(
      client,
      batch.map(read => [slotOf(read.entry.key), read] as const),
    )
    void Promise.all(masters.map(reads => this.#readFromMaster(reads, unfresh))).then(() => this.#withSequence(unfresh))
  }

  /** One pipeline: fresh values are handed over at once, the others wait for the sequence. */
  async #readFromMaster(reads: readonly Waiting[], unfresh: Unfresh[]): Promise<void> {
    const pipeline = this.context.client.pipeline()
    for (const { entry } of reads) {
      if (entry.field === undefined) pipeline.get(entry.key)
      else pipeline.hget(entry.key, entry.field)
    }
    let replies: [Error | null, unknown][]
    try {
      replies = (await pipeline.exec()) ?? []
    } catch (error) {
      return reads.forEach(read => read.reject(error))
    }
    reads.forEach((read, i) => {
      const [error, stored] = replies[i] ?? [new Error('the pipeline returned no reply for this read'), null]
      if (error) return read.reject(error)
      const found = stored === null ? undefined : open(stored as string)
      if (found && !found.stale) read.resolve({ value: found.payload, stale: false, seq: undefined })
      else unfresh.push({ read, found })
    })
  }

  async #withSequence(unfresh: readonly Unfresh[]): Promise<void> {
    if (unfresh.length === 0) return
    const { client, layout, guards } = this.context
    try {
      await guards.ready()
      const stored = await client.get(layout.seq)
      const seq = stored === null ? 0 : Number(stored)
      for (const { read, found } of unfresh) read.resolve({ value: found?.payload, stale: found?.stale ?? false, seq })
    } catch (error) {
      for (const { read } of unfresh) read.reject(error)
    }
  }
}
