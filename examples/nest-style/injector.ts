import 'reflect-metadata'

type Class<T = unknown> = new (...args: never[]) => T

const INJECTABLE = Symbol('injectable')

/**
 * Marks a class as a provider, as NestJS's `@Injectable()` does. Any class decorator makes
 * TypeScript (with emitDecoratorMetadata) record the constructor's parameter types as
 * `design:paramtypes`; the injector reads them.
 */
export function Injectable(): ClassDecorator {
  return target => Reflect.defineMetadata(INJECTABLE, true, target)
}

/** A minimal dependency injector: one instance per class, constructor parameters resolved by type. */
export class Injector {
  readonly #instances = new Map<Class, unknown>()

  get<T>(type: Class<T>): T {
    if (this.#instances.has(type)) return this.#instances.get(type) as T
    if (!Reflect.getMetadata(INJECTABLE, type)) throw new Error(`${type.name} is not @Injectable()`)
    const parameters: Class[] = Reflect.getMetadata('design:paramtypes', type) ?? []
    const instance = new type(...(parameters.map(parameter => this.get(parameter)) as never[]))
    this.#instances.set(type, instance)
    return instance
  }
}
