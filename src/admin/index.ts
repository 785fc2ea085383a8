export { cachemeAdmin } from './router'
export { type AdminOptions, type Authorize } from './admin-options'
export {
  defineInvalidationModel,
  type Invalidation,
  type InvalidationAttributes,
  type InvalidationCreationAttributes,
  type InvalidationModel,
  type InvalidationModelOptions,
} from './invalidation-model'
