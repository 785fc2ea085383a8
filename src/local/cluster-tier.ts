import type { Cluster, Redis } from 'ioredis'
import type { EntryRef } from '../keys'
import { groupBySlot, slotOf, slotTag } from '../slots'
import type { ReadResult } from '../store/store'
import type { LocalPolicy } from './local-options'
import type { LocalTier, TierHooks } from './local-tier'
import type { Tier } from './tier'

/** Opens the tier of one master, its canary in the slot of `slotTag`. */
export type OpenNodeTier = (node: Redis, slotTag: string, hooks: TierHooks) => LocalTier

/**
 * The in-process tier on a Cluster. Client tracking is per node: a node tells only of the keys
 * read from it, and only to a subscriber on itself. So each master gets a tier of its own (a
 * tracked connection, a subscriber, and a canary in one of its slots), and an entry is read, kept
 * and served through the tier of the master that serves its key's slot. When the slot map changes
 * (a failover, a resharding, a master added), the node that vouches for a key may change: every
 * tier is closed (emptied), tiers are opened for the masters of the new map, and nothing is served
 * until each of them serves. A master that fails closes its tier's connections, which bypasses it
 * at once, before ioredis has read the new map.
 */
export class ClusterTier implements Tier {
  readonly #cluster: Cluster
  readonly #open: OpenNodeTier
  readonly #hooks: TierHooks
  /** By master address (`host:port`, as in the client's slot map). */
  #tiers = new Map<string, LocalTier>()
  /** The slot map the tiers were opened for; a tier per master of it only when `#complete`. */
  #map = ''
  #complete = false
  /** What `hooks.onState` was last told. */
  #announced: 'serving' | 'bypassed' = 'bypassed'
  #closed = false
  readonly #onTopology = () => this.#follow()

  constructor(cluster: Cluster, open: OpenNodeTier, hooks: TierHooks = {}) {
    this.#cluster = cluster
    this.#open = open
    this.#hooks = hooks
    for (const event of ['refresh', '+node', '-node', 'ready']) cluster.on(event, this.#onTopology)
    this.#follow()
  }

  get serving(): boolean {
    if (!this.#complete) return false
    for (const tier of this.#tiers.values()) if (!tier.serving) return false
    return true
  }

  get usage(): { entries: number; bytes: number } {
    let entries = 0
    let bytes = 0
    for (const tier of this.#tiers.values()) {
      entries += tier.usage.entries
      bytes += tier.usage.bytes
    }
    return { entries, bytes }
  }

  entry(entry: EntryRef): ReadResult | undefined {
    return this.#tierOf(entry.key)?.entry(entry)
  }

  plain(key: string): string | undefined {
    return this.#tierOf(key)?.plain(key)
  }

  async readEntry(entry: EntryRef, policy: LocalPolicy | undefined): Promise<string | undefined> {
    return this.#tierOf(entry.key)?.readEntry(entry, policy)
  }

  /** One MGET per slot (a node refuses keys of several slots), each through its master's tier; null where no tier can read. */
  async readPlain(keys: readonly string[], policy: LocalPolicy | undefined): Promise<(string | null)[]> {
    const values = new Array<string | null>(keys.length).fill(null)
    const indexed = keys.map((key, index) => ({ key, index }))
    await Promise.all(
      [...groupBySlot(indexed, ({ key }) => key).values()].map(async group => {
        const tier = this.#tierOf(group[0].key)
        if (!tier) return
        const found = await tier.readPlain(
          group.map(({ key }) => key),
          policy,
        )
        group.forEach(({ index }, i) => (values[index] = found[i]))
      }),
    )
    return values
  }

  /** Every tier forgets them: whichever master served them when they were read. */
  forget(redisKeys: Iterable<string>): void {
    const keys = [...redisKeys]
    for (const tier of this.#tiers.values()) tier.forget(keys)
  }

  async caughtUp(): Promise<void> {
    await Promise.all([...this.#tiers.values()].map(tier => tier.caughtUp()))
  }

  clear(): void {
    for (const tier of this.#tiers.values()) tier.clear()
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const event of ['refresh', '+node', '-node', 'ready']) this.#cluster.off(event, this.#onTopology)
    await this.#closeTiers()
  }

  #tierOf(key: string): LocalTier | undefined {
    const master = this.#cluster.slots[slotOf(key)]?.[0]
    return master === undefined ? undefined : this.#tiers.get(master)
  }

  /** Opens the tiers of a new slot map, after closing those of the old one. */
  #follow(): void {
    if (this.#closed) return
    const masters = this.#cluster.slots.map(owners => owners?.[0] ?? '')
    const map = masters.join(',')
    if (map === this.#map && this.#complete) return
    this.#map = map
    void this.#closeTiers()
    const connected = new Map(this.#cluster.nodes('master').map(node => [`${node.options.host}:${node.options.port}`, node]))
    this.#complete = masters.length > 0 && !masters.includes('')
    for (const address of new Set(masters)) {
      const node = connected.get(address)
      if (!node) {
        // Not connected yet: the next refresh or +node opens it.
        this.#complete = false
        continue
      }
      this.#tiers.set(
        address,
        this.#open(node, slotTag(masters.indexOf(address)), { onState: (_, reason) => this.#announce(reason), onArmingFault: error => this.#armingFault(error) }),
      )
    }
    this.#announce('the Cluster slot map changed')
  }

  /**
   * A node answered a tier's canary with MOVED: the map ioredis holds is older than the Cluster (a
   * refresh can read it from a node that has not learnt of a failover yet), and the tier of that
   * slot cannot serve until the map is read again.
   */
  #armingFault(error: unknown): void {
    if (error instanceof Error && error.message.startsWith('MOVED ')) this.#cluster.refreshSlotsCache()
  }

  async #closeTiers(): Promise<void> {
    const closing = [...this.#tiers.values()]
    this.#tiers = new Map()
    await Promise.all(closing.map(tier => tier.close()))
  }

  /** A master's tier changed state, or the map did: the whole tier serves once every master's does, and stops with any. */
  #announce(reason: string): void {
    const state = this.serving ? 'serving' : 'bypassed'
    if (state === this.#announced) return
    this.#announced = state
    this.#hooks.onState?.(state, reason)
  }
}
