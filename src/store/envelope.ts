/**
 * Redis 7.0 has no per-field expiry, so every stored value carries its own deadlines:
 * `<fresh until, ms since epoch, 0 for never>[+<grace ms>]|<payload>`. Past its fresh deadline a
 * value with grace may still be served, stale, until `fresh until + grace`; then it is dead.
 * liveness.lua reads the same format on the server.
 */
export function seal(payload: string, ttlMs: number, graceMs: number, now = Date.now()): string {
  return `${header(ttlMs > 0 ? now + ttlMs : 0, graceMs)}|${payload}`
}

export interface Opened {
  readonly payload: string
  /** Past its fresh deadline, within its grace. */
  readonly stale: boolean
}

/** The payload, or undefined when the value is dead (or not an envelope). */
export function open(stored: string, now = Date.now()): Opened | undefined {
  const parsed = parse(stored)
  if (!parsed) return undefined
  const { freshUntil, graceMs, bar } = parsed
  if (freshUntil === 0 || freshUntil > now) return { payload: stored.slice(bar + 1), stale: false }
  if (freshUntil + graceMs > now) return { payload: stored.slice(bar + 1), stale: true }
  return undefined
}

/**
 * What an invalidation leaves of a fresh value that has grace: the same value, stale from now and
 * servable for its grace. Undefined when it must simply be deleted (no grace, or already stale:
 * its grace runs from its first deadline).
 */
export function staleFrom(stored: string, now = Date.now()): { sealed: string; graceMs: number } | undefined {
  const parsed = parse(stored)
  if (!parsed || parsed.graceMs === 0 || (parsed.freshUntil !== 0 && parsed.freshUntil <= now)) return undefined
  return { sealed: `${header(now, parsed.graceMs)}${stored.slice(parsed.bar)}`, graceMs: parsed.graceMs }
}

/** The deadlines a stored value carries, or undefined when it is not an envelope. */
export function deadlines(stored: string): { freshUntil: number; graceMs: number } | undefined {
  const parsed = parse(stored)
  return parsed && { freshUntil: parsed.freshUntil, graceMs: parsed.graceMs }
}

function header(freshUntil: number, graceMs: number): string {
  return graceMs > 0 ? `${freshUntil}+${graceMs}` : String(freshUntil)
}

function parse(stored: string): { freshUntil: number; graceMs: number; bar: number } | undefined {
  const bar = stored.indexOf('|')
  if (bar <= 0) return undefined
  const plus = stored.lastIndexOf('+', bar)
  const freshUntil = Number(stored.slice(0, plus === -1 ? bar : plus))
  const graceMs = plus === -1 ? 0 : Number(stored.slice(plus + 1, bar))
  return Number.isFinite(freshUntil) && Number.isFinite(graceMs) ? { freshUntil, graceMs, bar } : undefined
}
