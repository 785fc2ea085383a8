import { invalidateDependencies } from '../invalidation'
import type { ChangeListener } from '../sequelize/model-change'
import type { ManyRead, ManyWrite } from '../store/store'
import { InvalidatorRequests, runCascade, visitId, type CascadeJob, type FollowUp } from './cascade'
import { groupBy } from './group-by'
import { parseStored, plainEntry, sameData, serialize, type InstanceStorage } from './instance-storage'
import type { ModelRegistry } from './model-registry'
import { pkKindOf, pkOfKind } from './pk-type'
import { instanceId, modelName, rowPk, storedModelName, type Pk } from './row-identity'

/** How one refresh runs. */
export interface RefreshOptions {
  /** The row as it is now; loaded when not given. */
  readonly instance?: unknown
  /** One version; every version when undefined. */
  readonly version?: string
  /** An instance that is not cached is left alone. */
  readonly updateOnly: boolean
  /** The rows a change hook gave, which the invalidators also run on (what the row pointed to before the change). */
  readonly before: readonly unknown[]
}

/** Hands a cascade to a job queue instead of running it at once (`BaseCacheOptions.scheduler`). */
export type Scheduler = (job: CascadeJob) => void | Promise<void>

/**
 * The refresh path of the instance cache: after a change, claim the row's keys, reload it,
 * compare its new representation with the cached one, write it when it differs, and run the
 * invalidators, whose follow-ups cascade.
 */
export class InstanceRefresher {
  readonly #registry: ModelRegistry
  readonly #storage: InstanceStorage
  readonly #scheduler: Scheduler | undefined

  constructor(registry: ModelRegistry, storage: InstanceStorage, scheduler: Scheduler | undefined) {
    this.#registry = registry
    this.#storage = storage
    this.#scheduler = scheduler
  }

  /**
   * Refreshes one instance in every version (or one) and returns its follow-ups; `model` and `pk`
   * as `ModelRegistry.identify` spells them. `pk` undefined: a row that is not cached itself (no
   * single-column pk); only its invalidator runs, on `before`.
   */
  async refresh(model: string, pk: Pk | undefined, options: RefreshOptions): Promise<FollowUp[]> {
    const current = this.#storage.runtime()
    if (!current.enabled) return []
    const versions = (options.version === undefined ? this.#registry.allVersions() : [this.#registry.version(options.version, 'updateInstance()')]).flatMap(version => {
      const functions = this.#registry.functions(model, version, false)
      return functions ? [{ version, functions }] : []
    })
    const full = (key: string) => current.layout.prefix + key
    // The versions that hold an instance of this row; the claim refuses fills that loaded it before this change.
    const held = pk === undefined ? [] : versions.filter(({ functions }) => functions.serializer).map(({ version }) => ({ version, key: this.#storage.keyFor(version, model, pk) }))
    let claim: ManyRead | undefined
    if (held.length > 0) {
      try {
        claim = await current.store.claimMany(held.map(({ key }) => full(key)))
      } catch (error) {
        current.report(error, { operation: 'invalidate', key: held.map(({ key }) => key) })
      }
    }
    // Per held version, the stored string the claim read; no map when the store could not tell.
    const stored = claim && new Map(held.map(({ version }, i) => [version, claim.values[i]]))
    const notCached = (version: string) => stored !== undefined && stored.has(version) && stored.get(version) === undefined
    const active = options.updateOnly ? versions.filter(({ version }) => !notCached(version)) : versions
    // @cacheme values may have read an instance that has expired since: they are invalidated all the same.
    const changedKeys = held.filter(({ version }) => options.updateOnly && notCached(version)).map(({ key }) => key)
    if (active.length === 0) {
      await invalidateDependencies(changedKeys)
      return []
    }

    let row = options.instance
    // A model that only invalidates needs no fresh row when the hook gave it one.
    const needsRow = held.length > 0 || options.before.length === 0
    if (row === undefined && pk !== undefined && needsRow) row = (await active[0].functions.loader(pk)) ?? null
    const writes: ManyWrite[] = []
    // Instance keys to delete (plain, whatever their pk holds), with what the invalidators ask for.
    const deletions = new Set<string>()
    const requests = new InvalidatorRequests(this.#storage.keyFor, (named, namedPk) => this.#registry.identify(named, namedPk, `${model} invalidator`))
    for (const { version, functions } of active) {
      const key = held.find(each => each.version === version)?.key
      if (key !== undefined) {
        const next = row === null || row === undefined ? null : await serialize(functions, model, version, row)
        if (next === null) writes.push({ key: full(key), value: undefined, ttlMs: 0 })
        else if (sameData(parseStored(stored?.get(version)), next)) continue
        else writes.push({ key: full(key), value: JSON.stringify(next), ttlMs: this.#storage.ttlMs(current) })
        changedKeys.push(key)
      }
      if (!functions.invalidator) continue
      for (const input of new Set([row, ...options.before])) {
        if (input !== null && input !== undefined) requests.add(version, await functions.invalidator(input))
      }
    }

    if (claim && writes.length > 0) {
      try {
        await current.store.writeMany(writes, claim.seq)
      } catch (error) {
        current.report(error, { operation: 'write', key: writes[0].key })
        // The old representation must not outlive the change: delete what could not be rewritten.
        for (const write of writes) deletions.add(current.layout.userKey(write.key))
      }
    }
    for (const key of requests.immediate) deletions.add(key)
    const entries = [...[...deletions].map(key => plainEntry(full(key))), ...[...requests.rawKeys].map(key => current.layout.entry(key, `${model} invalidator`))]
    if (entries.length > 0) {
      try {
        await current.store.deleteEntries(entries)
      } catch (error) {
        current.report(error, { operation: 'invalidate', key: entries.map(entry => entry.full) })
      }
    }
    // @cacheme values computed from these instances (recorded by getInstances).
    await invalidateDependencies(changedKeys)
    return [...requests.followUps.values()]
  }

  /**
   * Runs follow-ups, and theirs, until none is left; each only if its instance is cached
   * (`updateOnly`): one that is not will be read fresh when asked for, and loading it now would
   * cost a query for nothing.
   */
  cascade(job: CascadeJob): Promise<void> {
    return runCascade(
      job,
      ([model, pk, version]) => {
        const row = this.#registry.identify(model, pk, 'cascade()')
        return [row.storedModel, row.pk, version]
      },
      ([model, pk, version]) => this.refresh(model, pk, { version, updateOnly: true, before: [] }),
      // Named as the job has it: a follow-up its model cannot key has no cache key to report.
      (error, followUp) => this.#storage.runtime().report(error, { operation: 'invalidate', key: followUp.join(':') }),
    )
  }

  /** Deletes a row's instance in every version. */
  async deleteAllVersions(model: string, pk: Pk): Promise<void> {
    const current = this.#storage.runtime()
    const keys = this.#registry.allVersions().map(version => this.#storage.keyFor(version, model, pk))
    try {
      await current.store.deleteEntries(keys.map(key => plainEntry(current.layout.prefix + key)))
    } catch (error) {
      current.report(error, { operation: 'invalidate', key: keys })
    }
  }

  /** A change committed: refresh the rows' instances, then cascade (now, or through the scheduler). */
  readonly onChange: ChangeListener = (model, rows) => {
    const name = storedModelName(model)
    const kind = pkKindOf(model)
    // Spelt as keys spell it (an instance may hold the UUID it was created with in upper case); a
    // value its type cannot hold is kept as it is, since no entry can be keyed by it.
    const pkOf = (row: unknown): Pk | undefined => {
      const pk = rowPk(row)
      return pk === undefined ? undefined : (pkOfKind(kind, pk) ?? pk)
    }
    // A row without a single-column pk (a through model's link) is not cached itself: its invalidator still runs.
    const byPk = groupBy(rows, (row, i) => String(pkOf(row) ?? `#${i}`))
    return async () => {
      const followUps: FollowUp[] = []
      const visited: string[] = []
      for (const [, before] of byPk) {
        const pk = pkOf(before[0])
        if (pk !== undefined) visited.push(...this.#registry.allVersions().map(version => visitId(name, pk, version)))
        try {
          // Not the hook's row: loading it after the claim makes the last change win even when hooks run out of order.
          followUps.push(...(await this.refresh(name, pk, { updateOnly: false, before })))
        } catch (error) {
          // `Vote:undefined` for a row without a single-column pk.
          this.#storage.runtime().report(error, { operation: 'invalidate', key: instanceId(modelName(model), String(pk)) })
        }
      }
      if (followUps.length === 0) return
      const job: CascadeJob = { followUps, visited }
      if (this.#scheduler) await this.#scheduler(job)
      else await this.cascade(job)
    }
  }
}
