import { CachemeError, type CachemeErrorCode } from './errors'

/**
 * The checks every public boundary (configure(), @cacheme, BaseCache, cachedRouter(), the admin,
 * gc()) makes of the options it is given, so that each problem is worded and converted the same
 * way everywhere: `${boundary}: ${problem}`, seconds to milliseconds, defaults applied after checks.
 */
export class OptionChecks {
  readonly #boundary: string
  readonly #code: CachemeErrorCode

  /** `boundary` starts every message, e.g. `configure()` or `@cacheme on Books.owner`. */
  constructor(boundary: string, code: CachemeErrorCode = 'INVALID_OPTIONS') {
    this.#boundary = boundary
    this.#code = code
  }

  fail(problem: string): never {
    throw new CachemeError(this.#code, `${this.#boundary}: ${problem}`)
  }

  /** The options as a record, refusing a non-object and names that are not in `known`. */
  object<T extends object>(options: T | null | undefined, known: Iterable<string>, notAnObject = 'options must be an object'): T {
    if (options === null || typeof options !== 'object') this.fail(`${notAnObject}, got ${options === null ? 'null' : typeof options}`)
    const names = new Set(known)
    for (const name of Object.keys(options)) {
      if (!names.has(name)) this.fail(`unknown option '${name}' (known: ${[...names].join(', ')})`)
    }
    return options
  }

  /** Seconds >= 0 (> 0 with `positive`) as whole milliseconds; `undefined` stays undefined. */
  milliseconds(name: string, seconds: unknown, { positive = false } = {}): number | undefined {
    if (seconds === undefined) return undefined
    const valid = typeof seconds === 'number' && Number.isFinite(seconds) && (positive ? seconds > 0 : seconds >= 0)
    if (!valid) this.fail(`${name} must be a number of seconds ${positive ? '>' : '>='} 0, got ${String(seconds)}`)
    return Math.round(seconds * 1000)
  }

  /** A safe integer >= `min`; `unit` words the message ("bytes"). */
  wholeNumber(name: string, value: unknown, min: number, unit = ''): number {
    if (!(Number.isSafeInteger(value) && (value as number) >= min)) {
      this.fail(`${name} must be a whole number${unit ? ` of ${unit}` : ''} >= ${min}, got ${String(value)}`)
    }
    return value as number
  }

  /** A function, or undefined; `shape` words the message ("(req) => boolean"). */
  optionalFunction<F extends Function>(name: string, value: F | undefined, shape = ''): F | undefined {
    if (value !== undefined && typeof value !== 'function') this.fail(`${name} must be a function${shape ? ` ${shape}` : ''}, got ${typeof value}`)
    return value
  }

  optionalBoolean(name: string, value: unknown): boolean | undefined {
    if (value !== undefined && typeof value !== 'boolean') this.fail(`${name} must be a boolean, got ${typeof value}`)
    return value as boolean | undefined
  }

  optionalString(name: string, value: unknown): string | undefined {
    if (value !== undefined && (typeof value !== 'string' || value === '')) this.fail(`${name} must be a non-empty string`)
    return value as string | undefined
  }
}
