import type { AnyContainer, Container, ResultOf } from './container'
import { CachemeError } from './errors'
import { refuseLoneSurrogates } from './keys'
import { Memoized, qualifiedName } from './memoize'
import { validateOptions, type CachemeOptions } from './options'
import { registerInvalidModels } from './sequelize/invalid-models'

type AsyncFunction = (...args: unknown[]) => Promise<unknown>

/** The arguments a container admits: any when it leaves them undeclared (`unknown[]`). */
type Accepted<Args extends readonly unknown[]> = unknown[] extends Args ? never[] : Args

/**
 * Whether a class fits the container's `self`. A context is accepted where a subclass of its own
 * is expected, so a plain constraint on it would also pass an unrelated class with fewer members.
 */
type SelfFits<This, Self> = [This] extends [Self] ? unknown : { readonly selfMustBe: Self }

/** A function whose `this`, arguments and result fit the container `C`. */
export type FunctionFor<C extends AnyContainer> = (this: C['self'], ...args: Accepted<C['args']>) => ResultOf<C> | PromiseLike<ResultOf<C>>

/** A method whose `this`, arguments and result fit the container `C`; it must return a Promise. */
export type MethodFor<C extends AnyContainer> = (this: C['self'], ...args: Accepted<C['args']>) => Promise<ResultOf<C>>

/**
 * What `cacheme(options)` returns: a legacy (`experimentalDecorators`) method decorator, a standard
 * (TC39) method decorator, and a wrapper for a plain function, in one. The wrapped function always
 * returns a Promise, so decorated methods must be declared to return one. A declared container
 * (`cacheme<C>`) is checked against the method: its `self`, `args` and `result` must fit.
 */
export interface CachemeDecorator<C extends AnyContainer = Container> {
  // `decorator?: never` keeps decorator calls, which pass more arguments, off this signature.
  <F extends FunctionFor<C>>(fn: F, decorator?: never): (this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>
  <This, F extends MethodFor<C>>(method: F, context: ClassMethodDecoratorContext<This, F> & SelfFits<This, C['self']>): F
  <F extends MethodFor<C>>(target: C['self'] & object, propertyKey: string | symbol, descriptor: TypedPropertyDescriptor<F>): TypedPropertyDescriptor<F>
}

export function cacheme<C extends AnyContainer = Container>(options: CachemeOptions<C>): CachemeDecorator<C> {
  // The container type only guides the caller's key functions; the call path sees any container.
  const loose = options as unknown as CachemeOptions
  function decorate(...applied: unknown[]): unknown {
    const [first, second, third] = applied
    if (applied.length === 1) return wrapFunction(first, loose)
    if (isMethodContext(second)) return wrapStandardMethod(first, second, loose)
    if (applied.length === 3 && (typeof second === 'string' || typeof second === 'symbol')) {
      return wrapLegacyMethod(first as object, second, third as PropertyDescriptor | undefined, loose)
    }
    throw new CachemeError('INVALID_OPTIONS', '@cacheme applies to methods and functions only')
  }
  return decorate as CachemeDecorator<C>
}

function wrapFunction(fn: unknown, options: CachemeOptions): AsyncFunction {
  const name = typeof fn === 'function' && fn.name ? fn.name : 'anonymous function'
  if (typeof fn !== 'function') throw new CachemeError('INVALID_OPTIONS', `cacheme(options)(fn) needs a function, got ${typeof fn}`)
  const memo = new Memoized(fn, prepared(options, name), { settled: name })
  return wrap(fn, () => memo)
}

/**
 * A standard decorator is not told its class. A static member's initializers run while the class
 * is being defined, with the class as `this`: its checks run there, so that a problem names the
 * class and still stops the definition. An instance method's initializers wait for an instance,
 * too late to refuse the class: its checks run now and say that the class is unknown.
 */
function wrapStandardMethod(method: unknown, context: DecoratorContext, options: CachemeOptions): AsyncFunction | undefined {
  const name = String(context.name)
  if (isStaticMember(context)) {
    let memo: Memoized | undefined
    context.addInitializer(function (this: unknown) {
      const qualified = qualifiedName(this, name)
      memo = new Memoized(checkedMethod(method, context, qualified), prepared(options, qualified), { settled: qualified })
    })
    // Static initializers run before any code can call the method; anything else is refused there.
    return context.kind === 'method' && typeof method === 'function' ? wrap(method, () => memo!) : undefined
  }
  const checked = checkedMethod(method, context, name)
  const memo = new Memoized(checked, prepared(options, `${name} (an instance method: a standard decorator is not told its class)`), { provisional: name })
  // Learn the class when an instance is set up, before its first call.
  context.addInitializer(function (this: unknown) {
    memo.settleName(qualifiedName(this, name))
  })
  return wrap(checked, () => memo)
}

function checkedMethod(method: unknown, context: DecoratorContext, owner: string): Function {
  if (context.kind !== 'method' || typeof method !== 'function') {
    throw new CachemeError('INVALID_OPTIONS', `@cacheme on ${owner}: applies to methods, not to a ${context.kind}`)
  }
  return method
}

function wrapLegacyMethod(target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor | undefined, options: CachemeOptions): PropertyDescriptor {
  const name = qualifiedName(target, String(propertyKey))
  const method = descriptor?.value
  if (typeof method !== 'function') throw new CachemeError('INVALID_OPTIONS', `@cacheme on ${name}: applies to methods, not to accessors or fields`)
  const memo = new Memoized(method, prepared(options, name), { settled: name })
  return { ...descriptor, value: wrap(method, () => memo) }
}

/** Checks the options and installs the model hooks they ask for, when the decorator is applied. */
function prepared(options: CachemeOptions, name: string): CachemeOptions {
  validateOptions(options, name)
  // The tag names a Redis set and a stats hash: refused now, before any call counts under it.
  if (options.tag !== undefined) refuseLoneSurrogates(options.tag, 'INVALID_KEY', `@cacheme on ${name}: tag ${JSON.stringify(options.tag)}`)
  const models = [...(options.invalidModels ?? []), ...(options.invalidM2MModels ?? [])]
  if (models.length > 0) registerInvalidModels(models)
  return options
}

/** `memo` is asked on each call: a static method's is made once its class is known. */
function wrap(fn: Function, memo: () => Memoized): AsyncFunction {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    return memo().call(this, args)
  }
  Object.defineProperty(wrapped, 'name', { value: fn.name })
  keepMetadata(fn, wrapped)
  return wrapped
}

interface ReflectMetadata {
  getOwnMetadataKeys?(target: object): unknown[]
  getOwnMetadata(key: unknown, target: object): unknown
  defineMetadata(key: unknown, value: unknown, target: object): void
}

/**
 * Metadata that decorators applied before this one put on the method itself (NestJS's route,
 * HTTP method and guards, with reflect-metadata) moves to the wrapper, so the order of the
 * decorators does not matter.
 */
function keepMetadata(from: Function, to: Function): void {
  const reflect = Reflect as unknown as ReflectMetadata
  if (typeof reflect.getOwnMetadataKeys !== 'function') return
  for (const key of reflect.getOwnMetadataKeys(from)) reflect.defineMetadata(key, reflect.getOwnMetadata(key, from), to)
}

function isStaticMember(context: DecoratorContext): context is DecoratorContext & { static: true } {
  return 'static' in context && context.static === true
}

function isMethodContext(value: unknown): value is DecoratorContext {
  return typeof value === 'object' && value !== null && 'kind' in value && 'name' in value
}
