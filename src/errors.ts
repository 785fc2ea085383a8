/** Machine-readable reasons a `CachemeError` is raised or reported. */
export type CachemeErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_KEY'
  | 'KEY_FUNCTION_FAILED'
  | 'INVALID_KEYS_FUNCTION_FAILED'
  | 'UNSERIALIZABLE_RESULT'
  | 'STORE_FAILED'
  | 'STORE_TIMEOUT'
  | 'STORE_UNAVAILABLE'
  | 'VALUE_TOO_LARGE'
  | 'COMPUTE_TOO_SLOW'
  | 'INVALID_CONFIG'
  | 'NOT_FOUND'
  | 'INVALIDATIONS_DROPPED'

/** Every error cacheme raises or reports is one of these; `code` says which problem it is. */
export class CachemeError extends Error {
  override readonly name = 'CachemeError'

  constructor(
    readonly code: CachemeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** What cacheme was doing when a store fault happened; handed to `onError`. */
export interface ErrorContext {
  /** `refresh`: recomputing a value served stale within its grace failed. */
  readonly operation: 'read' | 'write' | 'refresh' | 'invalidate' | 'close'
  /** The cache key or dependency keys concerned, when there are any. */
  readonly key?: string | readonly string[]
  /** `ClassName.method` (or the function name) whose call met the fault. */
  readonly method?: string
}

/** Where faults go: `configure({ onError })`, and each store's own reporting. */
export type ErrorHandler = (error: unknown, context: ErrorContext) => void
