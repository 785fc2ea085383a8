import { storeConformance } from './conformance'
import { redisStores } from './redis-stores'

const stores = redisStores()

storeConformance('RedisStore', stores.create, stores.cleanup)
