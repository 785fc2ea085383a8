import type { FactoryProvider, ModuleMetadata } from '@nestjs/common'
import type { ConfigureOptions } from '../config'
import { OptionChecks } from '../option-checks'
import type { ModelClass } from '../options'

/** What `CachemeModule` configures: `configure()`'s options, and the models whose changes invalidate. */
export interface CachemeModuleOptions extends ConfigureOptions {
  /**
   * Models whose changes empty the dependency sets their rows' `cacheKey` (and a through model's
   * `m2mCacheKeys`) name: the models given to `SequelizeModule.forRoot({ models })`, say.
   */
  readonly models?: readonly ModelClass[]
}

export interface CachemeRootOptions extends CachemeModuleOptions {
  /** true: `CachemeService` can be injected in every module without importing this one. Default false. */
  readonly isGlobal?: boolean
}

export interface CachemeAsyncOptions {
  /** Modules whose providers `inject` names (`ConfigModule`, a module that provides an ioredis client). */
  readonly imports?: ModuleMetadata['imports']
  /** Providers handed to `useFactory`, in order (`ConfigService`, a client's token). */
  readonly inject?: FactoryProvider['inject']
  /** The options, from the injected providers. */
  readonly useFactory: (...injected: never[]) => CachemeModuleOptions | Promise<CachemeModuleOptions>
  readonly isGlobal?: boolean
}

// Typed by ConfigureOptions, so that an option configure() gains must be listed here too.
const CONFIGURE_OPTIONS: Record<keyof ConfigureOptions, true> = {
  redis: true,
  store: true,
  prefix: true,
  enabled: true,
  ttl: true,
  onError: true,
  timeout: true,
  replayQueueSize: true,
  maxValueBytes: true,
  outbox: true,
  local: true,
}
const MODULE_OPTIONS = [...Object.keys(CONFIGURE_OPTIONS), 'models']

export function checkedRootOptions(options: CachemeRootOptions): CachemeRootOptions {
  const checks = new OptionChecks('CachemeModule.forRoot()')
  checkModuleOptions(options, checks, ['isGlobal'])
  checks.optionalBoolean('isGlobal', options.isGlobal)
  return options
}

/** What a forRootAsync() factory resolved to; configure() checks the values of its own options. */
export function checkedFactoryResult(options: CachemeModuleOptions): CachemeModuleOptions {
  checkModuleOptions(options, new OptionChecks('CachemeModule.forRootAsync(): useFactory'), [], 'it must resolve to an options object')
  return options
}

export function checkedAsyncOptions(options: CachemeAsyncOptions): CachemeAsyncOptions {
  const checks = new OptionChecks('CachemeModule.forRootAsync()')
  checks.object(options, ['imports', 'inject', 'useFactory', 'isGlobal'])
  if (typeof options.useFactory !== 'function') checks.fail('useFactory must be a function returning the options')
  if (options.inject !== undefined && !Array.isArray(options.inject)) checks.fail('inject must be an array of providers')
  if (options.imports !== undefined && !Array.isArray(options.imports)) checks.fail('imports must be an array of modules')
  checks.optionalBoolean('isGlobal', options.isGlobal)
  return options
}

function checkModuleOptions(options: CachemeModuleOptions, checks: OptionChecks, extra: readonly string[], notAnObject?: string): void {
  checks.object(options, [...MODULE_OPTIONS, ...extra], notAnObject)
  if (options.models !== undefined) checkedModels(options.models, checks)
}

export function checkedModels(models: unknown, checks: OptionChecks): readonly ModelClass[] {
  if (!Array.isArray(models)) checks.fail('models must be an array of Sequelize models')
  for (const model of models as unknown[]) {
    if (typeof model !== 'function' || typeof (model as Partial<ModelClass>).addHook !== 'function') {
      checks.fail(`models must contain Sequelize model classes, got ${model === null ? 'null' : typeof model}`)
    }
  }
  return models as readonly ModelClass[]
}
