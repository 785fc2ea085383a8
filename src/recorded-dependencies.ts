import { AsyncLocalStorage } from 'node:async_hooks'

/** What one memoized computation read, as the instance cache and the query hooks tell it while it runs. */
export interface ComputationReads {
  /** The invalid keys of the instances it read through the instance cache: dependencies without `invalidKeys`. */
  readonly dependencies: Set<string>
  /**
   * The transactions its queries ran in (each by its outermost transaction), each with whether the
   * transaction's first statement was one of the computation's own.
   */
  readonly transactions: Map<object, boolean>
}

/** A computation in progress, and the one that called it, if any. */
interface Frame {
  readonly reads: ComputationReads
  readonly caller: Frame | undefined
}

const recording = new AsyncLocalStorage<Frame>()

export function computationReads(): ComputationReads {
  return { dependencies: new Set(), transactions: new Map() }
}

/** Runs a memoized computation while collecting what it reads into `reads`. */
export function recordingReads<T>(reads: ComputationReads, compute: () => T): T {
  return recording.run({ reads, caller: recording.getStore() }, compute)
}

/**
 * Adds invalid keys to the computation in progress, if any. A nested computation records its own:
 * a caller that gets its value from the cache would not have them either.
 */
export function recordDependencies(invalidKeys: Iterable<string>): void {
  const frame = recording.getStore()
  if (frame) for (const key of invalidKeys) frame.reads.dependencies.add(key)
}

/**
 * A query of the computation in progress ran in `transaction` (`firstStatement`: it was the
 * transaction's first). Its callers read it too: their values are built from the nested one.
 */
export function recordTransaction(transaction: object, firstStatement: boolean): void {
  for (let frame = recording.getStore(); frame; frame = frame.caller) {
    if (!frame.reads.transactions.has(transaction)) frame.reads.transactions.set(transaction, firstStatement)
  }
}
