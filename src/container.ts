/**
 * The argument container handed to `key`, `invalidKeys`, `skip`, `hit` and `miss`: `c.self` is
 * `this`, `c.args` the argument list, every declared parameter is there by name (a rest parameter
 * as its array), and `c.result` / `c.cachemeResult` hold the computed value for `invalidKeys`.
 *
 * A decorator cannot tell TypeScript which method it decorates, so by default `self`, `result` and
 * the parameters read by name are loosely typed. Declare the container to type them, e.g.
 * `interface OwnerCall extends Container<BookSerializer, [book: Book], Person> { book: Book }` and
 * `cacheme<OwnerCall>({ key: c => ... })`; the decorator then checks the method against it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- undeclared, self and result are whatever the method has
export interface Container<Self = any, Args extends readonly unknown[] = unknown[], Result = any> {
  self: Self
  args: Args
  result?: Result
  cachemeResult?: Result
  /** Parameters by name: their names exist only at run time, so only a declared container types them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: untyped unless declared
  [parameter: string]: any
}

/** Any container: the constraint of the type parameters that take one. */
export type AnyContainer = Container<unknown, readonly unknown[], unknown>

/** The computed value's type that a container declares. */
export type ResultOf<C extends AnyContainer> = C extends { result?: infer R } ? R : unknown

/** The declared parameters of a function: names by position (undefined when destructured), and the rest parameter. */
export interface ParameterNames {
  readonly names: readonly (string | undefined)[]
  readonly rest: string | undefined
}

/** A parameter of one of these names stays out of the container: the field is cacheme's. */
const OWN_FIELDS = new Set(['self', 'args', 'result', 'cachemeResult'])

/** Makes the container of one call of a function. */
export type ContainerFactory = (self: unknown, args: unknown[]) => Container

/** Builds containers for one function; its parameter names are read once, here. */
export function containerFactory(fn: Function): ContainerFactory {
  const { names, rest } = parameterNames(fn)
  const named = names.map((name, index) => [name, index] as const).filter((pair): pair is readonly [string, number] => pair[0] !== undefined && !OWN_FIELDS.has(pair[0]))
  const restName = rest !== undefined && !OWN_FIELDS.has(rest) ? rest : undefined
  const restFrom = names.length
  return (self, args) => {
    const container: Container = { self, args }
    for (const [name, index] of named) setParameter(container, name, args[index])
    if (restName !== undefined) setParameter(container, restName, args.slice(restFrom))
    return container
  }
}

/**
 * Assigning `__proto__` would set the container's prototype (and every call would read the same
 * `c.__proto__`): a parameter of that name is defined as an own property instead.
 */
function setParameter(container: Container, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(container, name, { value, writable: true, enumerable: true, configurable: true })
  else container[name] = value
}

/** Puts the computed value where `invalidKeys` reads it: `c.result` and its alias `c.cachemeResult`. */
export function holdResult(container: Container, result: unknown): void {
  container.result = container.cachemeResult = result
}

/** Reads parameter names from the function's source, as JavaScript prints it. */
export function parameterNames(fn: Function): ParameterNames {
  const source = Function.prototype.toString.call(fn)
  const single = /^\s*(?:async\s+)?([\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$]*)\s*=>/u.exec(source)
  if (single) return { names: [single[1]], rest: undefined }
  const open = source.indexOf('(')
  if (open === -1) return { names: [], rest: undefined }
  const names: (string | undefined)[] = []
  let rest: string | undefined
  for (const parameter of splitTopLevel(source, open + 1)) {
    const text = parameter.trim()
    if (text === '') continue
    if (text.startsWith('...')) {
      rest = identifierAt(text.slice(3))
      break
    }
    names.push(identifierAt(text))
  }
  return { names, rest }
}

/** The identifier a parameter declares; undefined for a destructuring pattern. */
function identifierAt(text: string): string | undefined {
  const match = /^\s*([\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$]*)/u.exec(text)
  return match ? match[1] : undefined
}

/** Splits the parameter list starting at `from` on commas outside brackets, strings and comments. */
function splitTopLevel(source: string, from: number): string[] {
  const parts: string[] = []
  let depth = 0
  let part = ''
  for (let i = from; i < source.length; i++) {
    const ch = source[i]
    if (ch === '/' && source[i + 1] === '/') {
      i = endOf(source, '\n', i + 2) - 1
      continue
    }
    if (ch === '/' && source[i + 1] === '*') {
      i = endOf(source, '*/', i + 2) + 1
      continue
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = closingQuote(source, ch, i + 1)
      part += source.slice(i, end + 1)
      i = end
      continue
    }
    if (ch === '(' || ch === '[' || ch === '{') depth++
    if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) break
      depth--
    }
    if (ch === ',' && depth === 0) {
      parts.push(part)
      part = ''
      continue
    }
    part += ch
  }
  parts.push(part)
  return parts
}

function endOf(source: string, token: string, from: number): number {
  const at = source.indexOf(token, from)
  return at === -1 ? source.length : at
}

function closingQuote(source: string, quote: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    if (source[i] === '\\') i++
    else if (source[i] === quote) return i
  }
  return source.length
}
