import { AsyncLocalStorage } from 'node:async_hooks'

const recording = new AsyncLocalStorage<Set<string>>()

/**
 * Runs a memoized computation while collecting the invalid keys of what it reads through the
 * instance cache, so that the value is stored in their dependency sets without `invalidKeys`.
 */
export function recordingDependencies<T>(dependencies: Set<string>, compute: () => T): T {
  return recording.run(dependencies, compute)
}

/** Adds invalid keys to the computation in progress, if any (a nested computation records its own). */
export function recordDependencies(invalidKeys: Iterable<string>): void {
  const dependencies = recording.getStore()
  if (dependencies) for (const key of invalidKeys) dependencies.add(key)
}
