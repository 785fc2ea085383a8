import type { Model, ModelStatic } from 'sequelize'
import { nothingWaiting, report } from '../config'
import { CachemeError } from '../errors'
import { invalidateDependencies } from '../invalidation'
import type { ModelClass } from '../options'
import { changeKeys } from './change-keys'
import type { ChangeListener } from './change-listener'
import { onModelChange } from './model-change'

/** Registers models whose changes empty the dependency sets named by their rows' `cacheKey` (and a through model's `m2mCacheKeys`). */
export function registerInvalidModels(models: readonly ModelClass[]): void {
  if (!Array.isArray(models)) throw new CachemeError('INVALID_OPTIONS', 'registerInvalidModels() takes an array of Sequelize models')
  for (const model of models) onModelChange(model, invalidateChangeKeys, 'registerInvalidModels()')
}

/** A dependency job is all portable: any process can deliver it. */
interface DependencyJob {
  readonly invalidKeys: readonly string[]
  readonly grace: boolean
}

const invalidateChangeKeys: ChangeListener<DependencyJob> = {
  name: 'dependencies',
  changed(model, rows) {
    const job: DependencyJob = { invalidKeys: [...new Set(keysOf(model, rows))], grace: graceAllowed(model) }
    if (job.invalidKeys.length === 0) return undefined
    return { job: () => job, run: () => invalidateChangeKeys.deliver(model, job) }
  },
  async deliver(_model, { invalidKeys, grace }) {
    await invalidateDependencies(invalidKeys, { grace })
    return nothingWaiting()
  },
}

function keysOf(model: ModelStatic<Model>, rows: readonly Model[]): string[] {
  try {
    return changeKeys(model, rows)
  } catch (error) {
    report(error, { operation: 'invalidate', key: model.name })
    return []
  }
}

/** A model whose changes must never be served stale (permissions, prices) forbids grace. */
function graceAllowed(model: ModelStatic<Model>): boolean {
  return (model as { cachemeGrace?: boolean }).cachemeGrace !== false
}
