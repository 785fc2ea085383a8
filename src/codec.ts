/**
 * Cached results are stored as JSON. An empty payload stands for `undefined`, which JSON cannot
 * express, so a method that returns nothing is cached like any other.
 */
export function encode(value: unknown): string {
  if (value === undefined) return ''
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`a ${typeof value} cannot be stored as JSON`)
  }
  return JSON.stringify(value)
}

/** JSON.parse defines `__proto__` as an own property, so cached data cannot reach a prototype. */
export function decode(payload: string): unknown {
  return payload === '' ? undefined : JSON.parse(payload)
}
