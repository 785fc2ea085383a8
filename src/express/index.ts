export { cachedRouter, toResponse, type CachedRouterOptions, type ListOptions } from './cached-router'
