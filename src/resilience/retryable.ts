import { CachemeError } from '../errors'

/** What Redis answers while it cannot serve for a while: loading, a busy script, a failover, a full memory. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM|NOREPLICAS|MOVED|ASK)\b/

/** Errors of the program itself, raised before anything is sent: a request too large to build. */
const PROGRAM_ERRORS = [RangeError, TypeError, SyntaxError, ReferenceError]

/**
 * Whether sending the same request again later may succeed. A timeout or a lost connection may.
 * An error Redis answered (a script error, CROSSSLOT, WRONGTYPE, a request too large) will be
 * answered again, unless it is one of the replies of a server that is busy or failing over; an
 * error of the program will be raised again.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof CachemeError) return error.code === 'STORE_TIMEOUT' || error.code === 'STORE_UNAVAILABLE'
  if (!(error instanceof Error)) return false
  if (error.name === 'ReplyError') return TRANSIENT_REPLY.test(error.message)
  return !PROGRAM_ERRORS.some(kind => error instanceof kind)
}
