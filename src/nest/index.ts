export { CachemeModule } from './cacheme-module'
export { CachemeScopeMiddleware } from './scope-middleware'
export { CachemeService, type CachemeHealth, type CachemeStatus } from './cacheme-service'
export type { CachemeAsyncOptions, CachemeModuleOptions, CachemeRootOptions } from './module-options'
