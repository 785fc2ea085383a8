import { CachemeError } from '../errors'
import { recordDependencies } from '../recorded-dependencies'
import type { ManyRead, ManyWrite } from '../store/store'
import { decodeFields, type FieldTypes } from './fields'
import { groupBy } from './group-by'
import type { CachedInstance, InstanceSpec } from './instance-source'
import { parseStored, serialize, type InstanceStorage, type Stored } from './instance-storage'
import type { ResolvedFunctions } from './model-functions'
import type { ModelRegistry } from './model-registry'
import { checkedPk, instanceId, modelName, type Pk } from './row-identity'

/** One instance asked for: its model (lower case), pk, the row if given, and its cache key. */
interface Wanted {
  readonly model: string
  readonly pk: Pk
  readonly instance: unknown
  readonly key: string
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

  /** The instances by `instanceId`, in the order asked; rows that do not exist are left out. */
  async read(specs: Iterable<InstanceSpec>, version: string | undefined): Promise<Map<string, CachedInstance>> {
    const chosen = this.#registry.version(version, 'getInstances()')
    const items = [...this.#wanted(specs, chosen)]
    recordDependencies(items.map(([, item]) => item.key))

    const current = this.#storage.runtime()
    const full = (key: string) => current.layout.prefix + key
    let read: ManyRead | undefined
    if (current.enabled && items.length > 0) {
      try {
        read = await current.store.readMany(items.map(([, item]) => full(item.key)))
      } catch (error) {
        current.report(error, { operation: 'read', key: items[0][1].key })
      }
    }

    const stored = new Map<string, Stored>()
    const misses: (Wanted & { id: string })[] = []
    items.forEach(([id, item], i) => {
      const found = parseStored(read?.values[i])
      if (found === undefined) misses.push({ id, ...item })
      else stored.set(id, found)
    })

    const loaded = new Map<string, unknown>()
    const writes: ManyWrite[] = []
    const { missingTtlMs } = this.#storage
    for (const [model, group] of groupBy(misses, miss => miss.model)) {
      const functions = this.#registry.functions(model, chosen)
      const rows = await load(functions, group)
      for (const miss of group) {
        const row = rows.get(String(miss.pk)) ?? null
        const data = row === null ? null : await serialize(functions, model, chosen, row)
        stored.set(miss.id, data)
        if (data !== null) loaded.set(miss.id, row)
        const value = data === null ? (missingTtlMs > 0 ? 'null' : undefined) : JSON.stringify(data)
        if (value !== undefined) writes.push({ key: full(miss.key), value, ttlMs: data === null ? missingTtlMs : this.#storage.ttlMs(current) })
      }
    }
    // Without a read there is no sequence to write against: the misses are served uncached.
    if (read && writes.length > 0) {
      try {
        await current.store.writeMany(writes, read.seq)
      } catch (error) {
        current.report(error, { operation: 'write', key: writes[0].key })
      }
    }

    const instances = new Map<string, CachedInstance>()
    for (const [id, item] of items) {
      const data = stored.get(id)
      if (data) instances.set(id, [decodeFields(this.#fieldTypes, data), item.key, item.instance ?? loaded.get(id)])
    }
    return instances
  }

  /** The specs checked, by instance id: a spec that repeats an instance counts once, the one that gives its row winning. */
  #wanted(specs: Iterable<InstanceSpec>, version: string): Map<string, Wanted> {
    const wanted = new Map<string, Wanted>()
    let index = 0
    for (const spec of specs) {
      if (!Array.isArray(spec)) throw new CachemeError('INVALID_OPTIONS', `getInstances(): spec ${index} must be [model, pk, instance?]`)
      const [model, pk, instance] = spec as InstanceSpec
      const name = modelName(model)
      const key = this.#storage.keyFor(version, name, checkedPk(pk, `getInstances(): spec ${index}`))
      const id = instanceId(name, pk)
      if (!wanted.has(id) || instance !== undefined) wanted.set(id, { model: name, pk, instance, key })
      index++
    }
    return wanted
  }
}

/** The rows of the misses of one model: given ones, then one batch load, or one load per pk. */
async function load(functions: ResolvedFunctions, misses: readonly { pk: Pk; instance: unknown }[]): Promise<Map<string, unknown>> {
  const rows = new Map<string, unknown>()
  const toLoad: Pk[] = []
  for (const { pk, instance } of misses) {
    if (instance !== undefined && instance !== null) rows.set(String(pk), instance)
    else toLoad.push(pk)
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
