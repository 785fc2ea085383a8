/** A value as the instance cache's error messages show it: `string "x"`, `number 42`, `null`. */
export function shown(value: unknown): string {
  return value === null ? 'null' : typeof value === 'string' ? `string ${JSON.stringify(value)}` : `${typeof value} ${String(value)}`
}
