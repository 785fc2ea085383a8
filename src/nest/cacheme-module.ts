import type { DynamicModule, Provider } from '@nestjs/common'
import { OptionChecks } from '../option-checks'
import type { ModelClass } from '../options'
import { registerInvalidModels } from '../sequelize/invalid-models'
import { CachemeService } from './cacheme-service'
import { checkedAsyncOptions, checkedFactoryResult, checkedModels, checkedRootOptions, type CachemeAsyncOptions, type CachemeRootOptions } from './module-options'

const FEATURE_MODELS = Symbol('cacheme feature models')

/**
 * cacheme in a Nest application: `CachemeModule.forRoot(options)` or `forRootAsync({ inject,
 * useFactory })` configures it and provides `CachemeService`; `CachemeModule.forFeature(models)`
 * registers a feature module's models, beside `SequelizeModule.forFeature(models)`.
 */
export class CachemeModule {
  static forRoot(options: CachemeRootOptions = {}): DynamicModule {
    const { isGlobal, ...moduleOptions } = checkedRootOptions(options)
    return root(isGlobal, { provide: CachemeService, useFactory: () => new CachemeService(moduleOptions) })
  }

  static forRootAsync(options: CachemeAsyncOptions): DynamicModule {
    const { imports = [], inject = [], useFactory, isGlobal } = checkedAsyncOptions(options)
    const provider: Provider = {
      provide: CachemeService,
      inject,
      useFactory: async (...injected: unknown[]) => new CachemeService(checkedFactoryResult(await useFactory(...(injected as never[])))),
    }
    return { ...root(isGlobal, provider), imports }
  }

  /** Registers the models once every provider exists, so that the Sequelize connection has initialized them. */
  static forFeature(models: readonly ModelClass[]): DynamicModule {
    checkedModels(models, new OptionChecks('CachemeModule.forFeature()'))
    return { module: CachemeModule, providers: [{ provide: FEATURE_MODELS, useValue: { models, onModuleInit: () => registerInvalidModels(models) } }] }
  }
}

function root(isGlobal: boolean | undefined, provider: Provider): DynamicModule {
  return { module: CachemeModule, global: isGlobal ?? false, providers: [provider], exports: [CachemeService] }
}
