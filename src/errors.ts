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
