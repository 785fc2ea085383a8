export { cachedRouter } from './cached-router'
export { toResponse } from './responses'
export { type CachedRouterOptions, type ListOptions } from './router-options'
export { cachemeScopeMiddleware } from './scope-middleware'
