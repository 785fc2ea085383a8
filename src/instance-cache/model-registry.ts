import { CachemeError } from '../errors'
import type { ModelClass } from '../options'
import { resolveFunctions, type ModelCacheFunctions, type ResolvedFunctions } from './model-functions'
import { pkOfModel } from './pk-type'
import { isQueryableModel, type QueryableModel } from './queryable-model'
import { checkedPk, modelName, storedModelName, type ModelRef, type RowIdentity } from './row-identity'

/**
 * What the registry reads of the cache it serves: the versions, which a subclass sets as fields,
 * and (by name) the methods of the naming convention, `question_default_serializer` ...
 */
export interface VersionedCache {
  readonly versions: readonly string[]
  readonly defaultVersion: string
}

/**
 * The functions of each model in each version (registered, or methods named by the convention),
 * the Sequelize models known by name (in any case), and the versions they are kept in.
 */
export class ModelRegistry {
  readonly #cache: VersionedCache
  /** By `${stored model name}\n${version}`. */
  readonly #registered = new Map<string, ModelCacheFunctions>()
  readonly #models = new Map<string, QueryableModel>()
  #versionsChecked = false

  constructor(cache: VersionedCache) {
    this.#cache = cache
  }

  register(model: ModelRef, functions: ModelCacheFunctions, version?: string): void {
    if (functions === null || typeof functions !== 'object') throw new CachemeError('INVALID_OPTIONS', 'register() takes an object of serializer, loader, batchLoader, invalidator')
    const name = storedModelName(model)
    this.#registered.set(`${name}\n${this.version(version, 'register()')}`, functions)
    this.addModel(model)
  }

  /** Remembers a Sequelize model by name, so that a name finds it and its rows get default loaders. */
  addModel(model: ModelRef | ModelClass): void {
    if (isQueryableModel(model)) this.#models.set(storedModelName(model), model)
  }

  /** The Sequelize model registered under this name (in any case), if any. */
  modelNamed(model: ModelRef): QueryableModel | undefined {
    return isQueryableModel(model) ? model : this.#models.get(storedModelName(model))
  }

  /**
   * A row as the cache names it: the model as given and in lower case, the pk spelt by the key
   * type of the Sequelize model known under that name (a model known by name only keeps the pk as
   * given). `caller` names the method in the error for a pk that is not one of that type.
   */
  identify(model: ModelRef, pk: unknown, caller: string): RowIdentity {
    const checked = checkedPk(pk, caller)
    const known = this.modelNamed(model)
    return { model: modelName(model), storedModel: storedModelName(model), pk: known ? pkOfModel(known, checked, caller) : checked }
  }

  /** A model's functions in a version (`model` as `storedModelName` spells it); a model with none is an error unless `required` is false. */
  functions(model: string, version: string): ResolvedFunctions
  functions(model: string, version: string, required: false): ResolvedFunctions | undefined
  functions(model: string, version: string, required = true): ResolvedFunctions | undefined {
    const functions = resolveFunctions(this.#cache, this.#registered.get(`${model}\n${version}`), this.#models.get(model), model, version)
    if (!functions && required) {
      throw new CachemeError(
        'INVALID_OPTIONS',
        `the instance cache knows no model ${JSON.stringify(model)} in version ${version}: define ${model}_${version}_serializer and _loader, or register it`,
      )
    }
    return functions
  }

  /** The versions, checked once: a subclass sets them as fields, after the cache's constructor ran. */
  allVersions(): readonly string[] {
    const { versions, defaultVersion } = this.#cache
    if (!this.#versionsChecked) {
      const owner = this.#cache.constructor.name
      if (!Array.isArray(versions) || versions.length === 0 || !versions.every(version => typeof version === 'string' && version !== '')) {
        throw new CachemeError('INVALID_OPTIONS', `${owner}: versions must be a non-empty array of names`)
      }
      if (!versions.includes(defaultVersion)) {
        throw new CachemeError('INVALID_OPTIONS', `${owner}: defaultVersion ${JSON.stringify(defaultVersion)} is not one of versions ${JSON.stringify(versions)}`)
      }
      this.#versionsChecked = true
    }
    return versions
  }

  /** The version asked for, or the default one; `caller` names the method in the error for an unknown one. */
  version(version: string | undefined, caller: string): string {
    const versions = this.allVersions()
    if (version === undefined) return this.#cache.defaultVersion
    if (!versions.includes(version)) throw new CachemeError('INVALID_OPTIONS', `${caller}: unknown version ${JSON.stringify(version)} (versions: ${versions.join(', ')})`)
    return version
  }
}
