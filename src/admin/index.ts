export { cachemeAdmin, type AdminOptions, type Authorize } from './router'
export {
  defineInvalidationModel,
  type Invalidation,
  type InvalidationAttributes,
  type InvalidationCreationAttributes,
  type InvalidationModel,
  type InvalidationModelOptions,
} from './invalidation-model'
