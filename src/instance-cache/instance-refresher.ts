import type { Model, ModelStatic } from 'sequelize'
import { nothingWaiting } from '../config'
import { invalidateDependencies } from '../invalidation'
import { rowFromValues, rowValues } from '../outbox/row-json'
import type { ChangeJob, ChangeListener } from '../sequelize/change-listener'
import type { ManyRead, ManyWrite } from '../store/store'
import { InvalidatorRequests, runCascade, visitId, type CascadeJob, type FollowUp } from './cascade'
import { groupBy } from './group-by'
import { parseStored, plainEntry, sameData, serialize, type InstanceStorage } from './instance-storage'
import type { ResolvedFunctions } from './model-functions'
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
 * An instance cache's part of a change, as plain JSON. `instances` (the portable part) are the
 * changed rows' keys in every version; a relay without the cache deletes them.
 */
export interface InstanceJob extends ChangeJob {
  readonly instances: readonly string[]
  /** Per changed row: its pk (null without a single-column pk) and, when an invalidator reads them, the hook's rows as column values. */
  readonly rows: readonly (readonly [pk: Pk | null, before: readonly Readonly<Record<string, unknown>>[]])[]
}

/** A changed row: its pk, and the rows the hook gave for it (as it is and as it was), which its invalidator also runs on. */
type ChangedRow = readonly [pk: Pk | undefined, before: readonly unknown[]]

interface VersionFunctions {
  readonly version: string
  readonly functions: ResolvedFunctions
}

/**
 * The refresh path of the instance cache: after a change, claim the row's keys, reload it,
 * compare its new representation with the cached one, write it when it differs, and run the
 * invalidators, whose follow-ups cascade.
 */
export class InstanceRefresher {
  readonly #registry: ModelRegistry
  readonly #storage: InstanceStorage
  readonly #scheduler: Scheduler | undefined
  /** Told of every change of a registered model: refreshes the rows' instances once it is committed, then cascades (now, or through the scheduler). */
  readonly onChange: ChangeListener<InstanceJob>

  /** `name` names this cache's jobs in the outbox. */
  constructor(registry: ModelRegistry, storage: InstanceStorage, scheduler: Scheduler | undefined, name: string) {
    this.#registry = registry
    this.#storage = storage
    this.#scheduler = scheduler
    this.onChange = {
      name,
      changed: (model, rows) => {
        const changed = changedRows(model, rows)
        return { job: () => this.#jobOf(model, changed), run: () => this.#refreshChanged(model, changed) }
      },
      deliver: (model, job) =>
        this.#refreshChanged(
          model,
          job.rows.map(([pk, before]) => [pk ?? undefined, before.map(values => rowFromValues(model, values))]),
        ),
    }
  }

  /**
   * Refreshes one instance in every version (or one) and returns its follow-ups; `model` and `pk`
   * as `ModelRegistry.identify` spells them. `pk` undefined: a row that is not cached itself (no
   * single-column pk); only its invalidator runs, on `before`.
   */
  async refresh(model: string, pk: Pk | undefined, options: RefreshOptions): Promise<FollowUp[]> {
    const current = this.#storage.runtime()
    if (!current.enabled) return []
    const versions = this.#versions(model, options.version === undefined ? this.#registry.allVersions() : [this.#registry.version(options.version, 'updateInstance()')])
    const full = (key: string) => current.layout.prefix + key
    // The versions that hold an instance of this row; the claim refuses fills that loaded it before this change.
    const held = this.#held(versions, model, pk)
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

    // The old representation must not outlive the change: what cannot be rewritten is deleted (a
    // deletion the store cannot take now waits for replay).
    const unwritten = (failed: readonly ManyWrite[]) => failed.forEach(write => deletions.add(current.layout.userKey(write.key)))
    if (!claim) unwritten(writes)
    else if (writes.length > 0) {
      try {
        await current.store.writeMany(writes, claim.seq)
      } catch (error) {
        current.report(error, { operation: 'write', key: writes[0].key })
        unwritten(writes)
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

  /** The versions of a model that have functions. */
  #versions(model: string, versions: readonly string[]): VersionFunctions[] {
    return versions.flatMap(version => {
      const functions = this.#registry.functions(model, version, false)
      return functions ? [{ version, functions }] : []
    })
  }

  /** The keys a row's instance has in the versions that serialize it. */
  #held(versions: readonly VersionFunctions[], model: string, pk: Pk | undefined): { version: string; key: string }[] {
    if (pk === undefined) return []
    return versions.filter(({ functions }) => functions.serializer).map(({ version }) => ({ version, key: this.#storage.keyFor(version, model, pk) }))
  }

  /** A change's refresh as plain JSON: the rows' keys, and the rows themselves only when an invalidator reads them. */
  #jobOf(model: ModelStatic<Model>, changed: readonly ChangedRow[]): InstanceJob {
    const name = storedModelName(model)
    const versions = this.#versions(name, this.#registry.allVersions())
    const invalidated = versions.some(({ functions }) => functions.invalidator)
    return {
      instances: changed.flatMap(([pk]) => this.#held(versions, name, pk).map(({ key }) => key)),
      rows: changed.map(([pk, before]) => [pk ?? null, invalidated ? before.map(row => rowValues(model, row as Model)) : []]),
    }
  }

  /** A change committed: refresh the rows' instances, then cascade (now, or through the scheduler). False when the store has invalidations waiting. */
  async #refreshChanged(model: ModelStatic<Model>, changed: readonly ChangedRow[]): Promise<boolean> {
    const name = storedModelName(model)
    const followUps: FollowUp[] = []
    const visited: string[] = []
    for (const [pk, before] of changed) {
      if (pk !== undefined) visited.push(...this.#registry.allVersions().map(version => visitId(name, pk, version)))
      try {
        // Not the hook's row: loading it after the claim makes the last change win even when hooks run out of order.
        followUps.push(...(await this.refresh(name, pk, { updateOnly: false, before })))
      } catch (error) {
        // `Vote:undefined` for a row without a single-column pk.
        this.#storage.runtime().report(error, { operation: 'invalidate', key: instanceId(modelName(model), String(pk)) })
      }
    }
    if (followUps.length > 0) {
      const job: CascadeJob = { followUps, visited }
      if (this.#scheduler) await this.#scheduler(job)
      else await this.cascade(job)
    }
    return nothingWaiting(this.#storage.runtime())
  }
}

/** The rows a hook gave, grouped by pk; a row without a single-column pk (a through model's link) is not cached itself, and its invalidator still runs. */
function changedRows(model: ModelStatic<Model>, rows: readonly Model[]): ChangedRow[] {
  const kind = pkKindOf(model)
  // Spelt as keys spell it (an instance may hold the UUID it was created with in upper case); a
  // value its type cannot hold is kept as it is, since no entry can be keyed by it.
  const pkOf = (row: unknown): Pk | undefined => {
    const pk = rowPk(row)
    return pk === undefined ? undefined : (pkOfKind(kind, pk) ?? pk)
  }
  return [...groupBy(rows, (row, i) => String(pkOf(row) ?? `#${i}`)).values()].map(before => [pkOf(before[0]), before])
}
