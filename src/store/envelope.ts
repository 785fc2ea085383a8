/**
 * Redis 7.0 has no per-field expiry, so every stored value carries its own deadline:
 * `<expires at, ms since epoch, 0 for never>|<payload>`. A hash lives at least as long as its
 * longest-lived field; a field past its deadline reads as a miss.
 */
export function seal(payload: string, ttlMs: number, now = Date.now()): string {
  return `${ttlMs > 0 ? now + ttlMs : 0}|${payload}`
}

/** The payload, or undefined when the value has expired or is not an envelope. */
export function open(stored: string, now = Date.now()): string | undefined {
  const bar = stored.indexOf('|')
  if (bar <= 0) return undefined
  const expires = Number(stored.slice(0, bar))
  if (expires !== 0 && !(expires > now)) return undefined
  return stored.slice(bar + 1)
}
