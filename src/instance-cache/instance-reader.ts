import { CachemeError } from '../errors'
import { computationReads, recordDependencies, recordingReads } from '../recorded-dependencies'
import { insideWrittenTransaction, readsMayBeCached } from '../sequelize/transaction-reads'
import type { ManyRead, ManyWrite } from '../store/store'
import { decodeFields, type FieldTypes } from './fields'
import { groupBy } from './group-by'
import type { CachedInstance, InstanceSpec } from './instance-source'
import { parseStored, serialize, type InstanceStorage, type Stored } from './instance-storage'
import type { ResolvedFunctions } from './model-functions'
import type { ModelRegistry } from './model-registry'
import { instanceId, type Pk, type RowIdentity } from './row-identity'

/** One instance asked for: its row as the cache names it, the row itself if given, and its cache key. */
interface Wanted {
  readonly row: RowIdentity
  readonly instance: unknown
  readonly key: string
}

/** The specs checked: the instances by cache key (one per row), and the cache key of each name the specs used. */
interface Asked {
  readonly wanted: Map<string, Wanted>
  /** By `instanceId(model, pk)` as each spec spelt them, in the order of the specs. */
  readonly names: Map<string, string>
}

/**
 * The read path of the instance cache: one MGET for every instance asked for; the misses come
 * from the rows given, or the batch loader (one call per model), or the loader, and are stored
 * in one more round trip.
 */
export class InstanceReader {
  readonly #registry: ModelRegistry
  readonly #storage: InstanceStorage
  readonly #fieldTypes: FieldTypes

  constructor(registry: ModelRegistry, storage: InstanceStorage, fieldTypes: FieldTypes) {
    this.#registry = registry
    this.#storage = storage
    this.#fieldTypes = fieldTypes
  }

  /**
   * The instances by `instanceId` of the model and pk as each spec gave them, in the order asked;
   * names of one row share its instance. Rows that do not exist are left out.
   */
  async read(specs: Iterable<InstanceSpec>, version: string | undefined): Promise<Map<string, CachedInstance>> {
    const chosen = this.#registry.version(version, 'getInstances()')
    const { wanted, names } = this.#asked(specs, chosen)
    const items = [...wanted.values()]
    recordDependencies(items.map(item => item.key))

    const current = this.#storage.runtime()
    const full = (key: string) => current.layout.prefix + key
    let read: ManyRead | undefined
    // Inside a transaction that has written (CLS), rows are read from it, and its writes are seen.
    if (current.enabled && items.length > 0 && !insideWrittenTransaction()) {
      try {
        read = await current.store.readMany(
          items.map(item => full(item.key)),
          this.#storage.readOptions,
        )
      } catch (error) {
        current.report(error, { operation: 'read', key: items[0].key })
      }
    }

    // By cache key.
    const stored = new Map<string, Stored>()
    const misses: Wanted[] = []
    items.forEach((item, i) => {
      const found = parseStored(read?.values[i])
      if (found === undefined) misses.push(item)
      else stored.set(item.key, found)
    })

    const loaded = new Map<string, unknown>()
    const writes: ManyWrite[] = []
    const { missingTtlMs } = this.#storage
    // Rows loaded in a transaction that has written, or from an older snapshot, are not stored.
    const reads = computationReads()
    for (const [model, group] of groupBy(misses, miss => miss.row.storedModel)) {
      const functions = this.#registry.functions(model, chosen)
      const rows = await recordingReads(reads, () => load(functions, group))
      for (const miss of group) {
        const row = rows.get(String(miss.row.pk)) ?? null
        const data = row === null ? null : await serialize(functions, model, chosen, row)
        stored.set(miss.key, data)
        if (data !== null) loaded.set(miss.key, row)
        const value = data === null ? (missingTtlMs > 0 ? 'null' : undefined) : JSON.stringify(data)
        if (value !== undefined) writes.push({ key: full(miss.key), value, ttlMs: data === null ? missingTtlMs : this.#storage.ttlMs(current) })
      }
    }
    // Without a read there is no sequence to write against: the misses are served uncached.
    if (read && writes.length > 0 && readsMayBeCached(reads.transactions)) {
      try {
        await current.store.writeMany(writes, read.seq)
      } catch (error) {
        current.report(error, { operation: 'write', key: writes[0].key })
      }
    }

    const found = new Map<string, CachedInstance>()
    for (const item of items) {
      const data = stored.get(item.key)
      if (data) found.set(item.key, [decodeFields(this.#fieldTypes, data), item.key, item.instance ?? loaded.get(item.key)])
    }
    const instances = new Map<string, CachedInstance>()
    for (const [name, key] of names) {
      const instance = found.get(key)
      if (instance) instances.set(name, instance)
    }
    return instances
  }

  /** The specs checked: a row asked for twice (under any spelling) is read once, the spec that gives its row winning. */
  #asked(specs: Iterable<InstanceSpec>, version: string): Asked {
    const wanted = new Map<string, Wanted>()
    const names = new Map<string, string>()
    let index = 0
    for (const spec of specs) {
      if (!Array.isArray(spec)) throw new CachemeError('INVALID_OPTIONS', `getInstances(): spec ${index} must be [model, pk, instance?]`)
      const [model, pk, instance] = spec as InstanceSpec
      const row = this.#registry.identify(model, pk, `getInstances(): spec ${index}`)
      const key = this.#storage.keyFor(version, row.storedModel, row.pk)
      if (!wanted.has(key) || instance !== undefined) wanted.set(key, { row, instance, key })
      names.set(instanceId(row.model, pk), key)
      index++
    }
    return { wanted, names }
  }
}

/** The rows of the misses of one model: given ones, then one batch load, or one load per pk. */
async function load(functions: ResolvedFunctions, misses: readonly Wanted[]): Promise<Map<string, unknown>> {
  const rows = new Map<string, unknown>()
  const toLoad: Pk[] = []
  for (const { row, instance } of misses) {
    if (instance !== undefined && instance !== null) rows.set(String(row.pk), instance)
    else toLoad.push(row.pk)
  }
  if (toLoad.length === 0) return rows
  if (functions.batchLoader) {
    for (const [pk, row] of await functions.batchLoader(toLoad)) rows.set(pk, row)
  } else {
    const loaded = await Promise.all(toLoad.map(pk => functions.loader(pk)))
    toLoad.forEach((pk, i) => rows.set(String(pk), loaded[i]))
  }
  return rows
}
