import { Command, type Redis } from 'ioredis'
import type { EntryRef } from '../keys'
import { ReadsOfOneTurn, type WaitingRead as Waiting } from './reads-of-one-turn'

/**
 * Makes what a read resolves to from what Redis returned: the stored string (null when absent) and
 * the invalidation sequence read with it. Applied here, so that a read costs no promise of its own for it.
 */
export type Answer<T> = (stored: string | null, seq: number) => T

/** The reads of one batch that one command answers: a GET, an HGET, or an HMGET of several fields of one hash. */
interface Group<T> {
  readonly key: string
  readonly plain: boolean
  readonly reads: Waiting<T>[]
}

/**
 * Reads issued in one turn of the event loop go to Redis together: one write to the socket and one
 * round trip whatever the client's `enableAutoPipelining`, so a list whose items each await a few
 * decorated getters costs a round trip per getter, not per call. The fields of one hash asked in
 * one turn are read by one HMGET, and the invalidation sequence once for the whole batch, after the
 * values: every read gets it, so a miss computes without a second round trip. A lone read waits
 * only for the end of the current tick (process.nextTick), before any I/O.
 *
 * On a default client the commands are the client's own (`get`, `hget`, `hmget`), so whatever
 * wraps the client sees them as usual; on an auto-pipelining one, the same commands handed to its
 * `sendCommand`, past its auto-pipeline, which would give each its own place in a pipeline sent
 * at the next setImmediate: a corked write of plain commands costs less and leaves at once.
 */
export class ReadBatcher<T> {
  readonly #turn = new ReadsOfOneTurn<T>(batch => this.#flush(batch))

  constructor(
    private readonly client: Redis,
    private readonly seqKey: string,
    private readonly answer: Answer<T>,
  ) {}

  read(entry: EntryRef): Promise<T> {
    return this.#turn.read(entry)
  }

  #flush(batch: Waiting<T>[]): void {
    const groups = groupByCommand(batch)
    const values: unknown[] = new Array(groups.length)
    const failed: unknown[] = new Array(groups.length)
    this.#sendCorked(groups, values, failed).then(
      seq => deliver(groups, values, failed, seq === null ? 0 : Number(seq), this.answer),
      error => batch.forEach(read => read.reject(error)),
    )
  }

  /**
   * The commands, the socket corked while they are issued so that they leave in one write;
   * resolves to the sequence, read after the values, so every value is in by then (Redis answers
   * in order).
   */
  #sendCorked<T>(groups: readonly Group<T>[], values: unknown[], failed: unknown[]): Promise<string | null> {
    const { client } = this
    const send = client.options.enableAutoPipelining ? pastAutoPipeline(client) : ownCommand(client)
    const socket = client.stream as { cork?: () => void; uncork?: () => void } | undefined
    socket?.cork?.()
    try {
      groups.forEach(({ key, plain, reads }, i) => {
        const reply = plain ? send('get', [key]) : reads.length === 1 ? send('hget', [key, reads[0].entry.field!]) : send('hmget', [key, ...reads.map(read => read.entry.field!)])
        reply.then(
          value => (values[i] = value),
          error => (failed[i] = error ?? new Error('the read failed')),
        )
      })
      return send('get', [this.seqKey]) as Promise<string | null>
    } catch (error) {
      return Promise.reject(error)
    } finally {
      // Left corked, the connection would hang.
      socket?.uncork?.()
    }
  }
}

type ReadCommand = 'get' | 'hget' | 'hmget'
type Send = (name: ReadCommand, args: string[]) => Promise<unknown>

/** The client's own command methods. */
function ownCommand(client: Redis): Send {
  return (name, args) => (client[name] as (...args: string[]) => Promise<unknown>)(...args)
}

/** The commands as the client's methods make them (key prefix, replies as strings), sent at once. */
function pastAutoPipeline(client: Redis): Send {
  const options = { keyPrefix: client.options.keyPrefix, replyEncoding: 'utf8' as const }
  return (name, args) => client.sendCommand(new Command(name, args, options)) as Promise<unknown>
}

/** One command per plain key and per hash; a plain key read twice in one batch is read once. */
function groupByCommand<T>(batch: readonly Waiting<T>[]): Group<T>[] {
  if (batch.length === 1) {
    const [read] = batch
    return [{ key: read.entry.key, plain: read.entry.field === undefined, reads: [read] }]
  }
  const plainKeys = new Map<string, Group<T>>()
  const hashes = new Map<string, Group<T>>()
  for (const read of batch) {
    const plain = read.entry.field === undefined
    const byKey = plain ? plainKeys : hashes
    const group = byKey.get(read.entry.key)
    if (group) group.reads.push(read)
    else byKey.set(read.entry.key, { key: read.entry.key, plain, reads: [read] })
  }
  return [...plainKeys.values(), ...hashes.values()]
}

/** Hands each read its value and the batch's sequence; a command's error fails only its own reads. */
function deliver<T>(groups: readonly Group<T>[], values: readonly unknown[], failed: readonly unknown[], seq: number, answer: Answer<T>): void {
  groups.forEach(({ plain, reads }, i) => {
    if (failed[i] !== undefined) return reads.forEach(read => read.reject(failed[i]))
    const value = values[i]
    if (plain || reads.length === 1) {
      for (const read of reads) read.resolve(answer(value as string | null, seq))
      return
    }
    reads.forEach((read, at) => read.resolve(answer((value as (string | null)[])[at], seq)))
  })
}
