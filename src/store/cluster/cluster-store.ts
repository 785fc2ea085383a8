import { randomUUID } from 'node:crypto'
import type { Cluster } from 'ioredis'
import type { EntryRef } from '../../keys'
import { KeyLayout } from '../../keys'
import { closeClient } from '../close-client'
import { ClusterReads } from './cluster-reads'
import type { GcOptions, GcReport, InvalidateOptions, ManyRead, ManyWrite, ReadResult, Store, WriteRequest } from '../store'
import type { ClusterContext } from './cluster-context'
import { collectGarbage } from './cluster-gc'
import { deleteEntries, invalidateSets } from './cluster-invalidation'
import { defineClusterScripts, type ScriptedCluster } from './cluster-scripts'
import { writeEntry } from './cluster-writes'
import { pruneMembers } from './member-pruning'
import { deleteMatching } from './pattern-invalidation'
import { claimMany, readMany, writeMany } from './plain-entries'
import { ReplicaAcks } from './replica-acks'
import { SlotGuards } from './slot-guards'

/** How long an invalidation step waits for a replica to acknowledge it (WAIT 1 <ms>). */
export const DEFAULT_REPLICA_ACK_MS = 1000

export interface ClusterStoreOptions {
  /** The store created the client and quits it on close. Default false. */
  readonly owned?: boolean
  /** WAIT timeout of each invalidation step on a master with replicas. Default 1000 ms. */
  readonly replicaAckMs?: number
}

/**
 * The Store on a Redis Cluster: every script touches one slot, with every key it touches in KEYS
 * (`#!lua` shebang: Redis itself refuses any other), and an operation that spans slots is sent as
 * one script per slot, concurrently. The protocol, and why it keeps the guarantee of the
 * standalone store, is in docs/consistency.md ("Redis Cluster").
 */
export class ClusterStore implements Store {
  readonly layout: KeyLayout
  readonly #context: ClusterContext
  readonly #reads: ClusterReads
  readonly #owned: boolean

  constructor(client: Cluster, layout: KeyLayout, { owned = false, replicaAckMs = DEFAULT_REPLICA_ACK_MS }: ClusterStoreOptions = {}) {
    // The names on a Cluster are hash-tagged, and braces refused in user names (keys.ts).
    this.layout = layout.cluster ? layout : new KeyLayout(layout.prefix, { cluster: true })
    const scripted = defineClusterScripts(client)
    const acks = new ReplicaAcks(scripted, replicaAckMs)
    this.#context = { client: scripted, layout: this.layout, acks, guards: new SlotGuards(scripted, this.layout, acks) }
    this.#reads = new ClusterReads(this.#context)
    this.#owned = owned
    // Set up when the store opens, so that the first writes pass; failures are tried again by them.
    this.#context.guards.ready().catch(() => undefined)
  }

  /** Resolves once every slot guard exists (set up when the store opens; writes wait for it). */
  ready(): Promise<void> {
    return this.#context.guards.ready()
  }

  get client(): ScriptedCluster {
    return this.#context.client
  }

  /** A hit alone is one GET or HGET on one master; the reads of one turn go in one pipeline per master (ClusterReads). */
  read(entry: EntryRef): Promise<ReadResult> {
    return this.#reads.read(entry)
  }

  write(request: WriteRequest): Promise<boolean> {
    return writeEntry(this.#context, request)
  }

  invalidateSets(sets: readonly string[], options?: InvalidateOptions): Promise<number> {
    return invalidateSets(this.#context, sets, options)
  }

  deleteEntries(entries: readonly EntryRef[], options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number> {
    return deleteEntries(this.#context, entries, options)
  }

  deleteMatching(pattern: string, options?: Pick<InvalidateOptions, 'onProgress'>): Promise<number> {
    return deleteMatching(this.#context, pattern, options)
  }

  readMany(keys: readonly string[]): Promise<ManyRead> {
    return readMany(this.#context, keys)
  }

  claimMany(keys: readonly string[]): Promise<ManyRead> {
    return claimMany(this.#context, keys)
  }

  writeMany(writes: readonly ManyWrite[], seq: number): Promise<number> {
    return writeMany(this.#context, writes, seq)
  }

  async liveMembers(set: string): Promise<string[]> {
    return (await pruneMembers(this.#context, set, await this.#context.client.smembers(set))).alive
  }

  async acquireLease(name: string, ms: number): Promise<string | undefined> {
    const token = randomUUID()
    return (await this.#context.client.set(name, token, 'PX', ms, 'NX')) === 'OK' ? token : undefined
  }

  async releaseLease(name: string, token: string): Promise<void> {
    await this.#context.client.cachemeReleaseLease(name, token)
  }

  /** One HINCRBYFLOAT per counter, concurrently: the stats hashes are in many slots. */
  async incrementStats(deltas: ReadonlyMap<string, Readonly<Record<string, number>>>): Promise<void> {
    const increments: Promise<unknown>[] = []
    for (const [tag, counters] of deltas) {
      for (const [counter, amount] of Object.entries(counters)) {
        if (amount !== 0) increments.push(this.#context.client.hincrbyfloat(this.layout.statsHash(tag), counter, amount))
      }
    }
    await Promise.all(increments)
  }

  gc(options?: GcOptions): Promise<GcReport> {
    return collectGarbage(this.#context, options)
  }

  async close(): Promise<void> {
    if (!this.#owned) return
    await closeClient(this.#context.client)
  }
}
