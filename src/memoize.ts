import { decode, encode } from './codec'
import { runtime, type Runtime } from './config'
import { cachemeEvents } from './events'
import { metrics } from './metrics'
import { containerFactory, type Container } from './container'
import { CachemeError, type ErrorContext } from './errors'
import type { EntryRef } from './keys'
import type { CachemeOptions, InvalidKeys } from './options'
import { localInvalidations } from './invalidation'
import { underLease } from './lease'
import { type Computation } from './single-flight'
import { GUARD_TTL_MS, UNAVAILABLE } from './store/store'
import { tagNamed } from './tags'
import { recordingDependencies } from './recorded-dependencies'

/** What a read found; `seq` (undefined when the store could not tell) goes with a later write. */
type Lookup = { hit: true; value: unknown; stale: boolean; seq: number | undefined } | { hit: false; seq: number | undefined }

/**
 * The call path of one decorated function: read, and on a miss compute, then store the result with
 * its dependency and tag sets in one atomic write guarded against invalidations that happened
 * while it was being computed.
 */
export class Memoized {
  readonly #fn: Function
  readonly #options: CachemeOptions
  readonly #container: (self: unknown, args: unknown[]) => Container
  #owner: string
  #ownerKnown = false
  #tag: string | undefined

  /**
   * `ownerKnown` false: the class is learnt from the first call's `this` (standard decorators are
   * not told their class), and with it the default tag `ClassName.methodName`.
   */
  constructor(fn: Function, options: CachemeOptions, owner: string, ownerKnown: boolean) {
    this.#fn = fn
    this.#options = options
    this.#owner = owner
    this.#container = containerFactory(fn)
    if (options.tag !== undefined) this.#useTag(options.tag)
    if (ownerKnown) this.nameOwner(owner)
  }

  /** Settles the name used in errors and the default tag, once. */
  nameOwner(owner: string): void {
    if (this.#ownerKnown) return
    this.#ownerKnown = true
    this.#owner = owner
    if (this.#tag === undefined) this.#useTag(owner)
  }

  #useTag(name: string): void {
    this.#tag = name
    tagNamed(name)
  }

  async call(self: unknown, args: unknown[]): Promise<unknown> {
    const current = runtime()
    if (!current.enabled) return this.#fn.apply(self, args)
    const c = this.#container(self, args)
    if (this.#options.skip?.(c)) return this.#fn.apply(self, args)
    if (!this.#ownerKnown) this.nameOwner(ownerName(self, this.#owner))

    const key = this.#keyOf(c)
    const entry = current.layout.entry(key, this.#owner)
    const read = await this.#read(current, key, entry, c)
    if (read.hit && !read.stale) return read.value
    const compute = () => this.#leased(current, key, entry, () => this.#compute(current, self, args, c, key, entry, read.seq), read.seq)
    if (read.hit) {
      this.#refresh(current, key, entry, compute)
      return read.value
    }

    metrics.add(this.#tag!, 'misses')
    cachemeEvents.emit('miss', key, this.#tag!)
    const flight = current.flights.run(entry.full, compute)
    const shared = await flight.computation
    // A computation joined late may have read rows that changed before this call began.
    return flight.joined && shared.stale ? (await compute()).result : shared.result
  }

  /** A stale value was served: one caller recomputes it in the background; its failure is reported. */
  #refresh(current: Runtime, key: string, entry: EntryRef, compute: () => Promise<Computation>): void {
    const { computation, joined } = current.flights.run(entry.full, compute)
    if (!joined) computation.catch(error => this.#report(current, error, { operation: 'refresh', key }))
  }

  async #read(current: Runtime, key: string, entry: EntryRef, c: Container): Promise<Lookup> {
    try {
      const { value, stale, seq } = await current.store.read(entry)
      if (value === undefined) return { hit: false, seq }
      const result = decode(value)
      metrics.add(this.#tag!, 'hits')
      cachemeEvents.emit('hit', key, this.#tag!)
      this.#options.hit?.(key, result, c)
      return { hit: true, value: result, stale, seq }
    } catch (error) {
      // Without the sequence nothing can be written safely: compute and return uncached.
      this.#report(current, error, { operation: 'read', key })
      return { hit: false, seq: undefined }
    }
  }

  /** With the `lease` option and a store that answers, one process computes and the others wait for its value. */
  #leased(current: Runtime, key: string, entry: EntryRef, compute: () => Promise<Computation>, seq: number | undefined): Promise<Computation> {
    const lease = this.#options.lease
    if (!lease || seq === undefined) return compute()
    return underLease(current.store, entry, lease * 1000, compute, error => this.#report(current, error, { operation: 'read', key }))
  }

  /** Computes, then stores unless the sequence is unknown; stale when its inputs changed meanwhile. */
  async #compute(current: Runtime, self: unknown, args: unknown[], c: Container, key: string, entry: EntryRef, seq: number | undefined): Promise<Computation> {
    this.#options.miss?.(key, c)
    const invalidationsBefore = localInvalidations()
    const started = Date.now()
    const recorded = new Set<string>()
    const result = await recordingDependencies(recorded, () => this.#fn.apply(self, args))
    metrics.add(this.#tag!, 'computeMs', Date.now() - started)
    const written = seq === undefined ? 'skipped' : await this.#write(current, c, key, entry, result, seq, started, recorded)
    return { result, stale: written === 'refused' || localInvalidations() !== invalidationsBefore }
  }

  /** `recorded`: the invalid keys of the instances the computation read through the instance cache. */
  async #write(
    current: Runtime,
    c: Container,
    key: string,
    entry: EntryRef,
    result: unknown,
    seq: number,
    started: number,
    recorded: ReadonlySet<string>,
  ): Promise<'stored' | 'refused' | 'skipped'> {
    c.result = c.cachemeResult = result
    const dependencies = new Set([...this.#dependenciesOf(c), ...recorded])
    const context = { operation: 'write', key } as const
    let value: string
    try {
      value = encode(result)
    } catch (error) {
      this.#report(
        current,
        new CachemeError('UNSERIALIZABLE_RESULT', `${this.#owner}: the result for key ${JSON.stringify(key)} cannot be cached: ${(error as Error).message}`, { cause: error }),
        context,
      )
      return 'skipped'
    }
    if (current.maxValueBytes > 0 && Buffer.byteLength(value) > current.maxValueBytes) {
      this.#report(
        current,
        new CachemeError(
          'VALUE_TOO_LARGE',
          `${this.#owner}: the result for key ${JSON.stringify(key)} is ${Buffer.byteLength(value)} bytes, over maxValueBytes ${current.maxValueBytes}`,
        ),
        context,
      )
      return 'skipped'
    }
    if (Date.now() - started >= GUARD_TTL_MS) {
      this.#report(
        current,
        new CachemeError('COMPUTE_TOO_SLOW', `${this.#owner}: computing ${JSON.stringify(key)} took longer than ${GUARD_TTL_MS / 1000} s, so it was not cached`),
        context,
      )
      return 'skipped'
    }
    const { layout, store } = current
    const sets = [...dependencies].map(dependency => layout.invalidSet(dependency, this.#owner))
    sets.push(layout.tagSet(this.#tag!))
    const ttl = this.#options.ttl
    const ttlMs = ttl === undefined ? current.ttlMs : Math.round(ttl * 1000)
    const graceMs = Math.round((this.#options.grace ?? 0) * 1000)
    try {
      const stored = await store.write({ entry, value, ttlMs, graceMs, sets, seq })
      metrics.add(this.#tag!, stored ? 'stores' : 'refused')
      if (stored) cachemeEvents.emit('store', key, this.#tag!)
      return stored ? 'stored' : 'refused'
    } catch (error) {
      this.#report(current, error, context)
      return 'skipped'
    }
  }

  /** Reports a fault of this method's call, counting it for its tag. */
  #report(current: Runtime, error: unknown, context: { operation: ErrorContext['operation']; key: string }): void {
    if (error !== UNAVAILABLE) metrics.add(this.#tag!, 'errors')
    current.report(error, { ...context, method: this.#owner })
  }

  #keyOf(c: Container): string {
    try {
      return this.#options.key(c)
    } catch (error) {
      throw new CachemeError('KEY_FUNCTION_FAILED', `${this.#owner}: the key function threw: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    }
  }

  /** `invalidKeys` flattened, without nulls, deduplicated. */
  #dependenciesOf(c: Container): string[] {
    if (!this.#options.invalidKeys) return []
    let returned: InvalidKeys
    try {
      returned = this.#options.invalidKeys(c)
    } catch (error) {
      throw new CachemeError('INVALID_KEYS_FUNCTION_FAILED', `${this.#owner}: invalidKeys threw: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    }
    const keys = new Set<string>()
    const visit = (item: unknown): void => {
      if (item === null || item === undefined) return
      if (Array.isArray(item)) return item.forEach(visit)
      if (typeof item !== 'string' || item === '') {
        throw new CachemeError('INVALID_KEY', `${this.#owner}: invalidKeys must give non-empty strings, got ${item === '' ? 'an empty string' : typeof item}`)
      }
      keys.add(item)
    }
    visit(returned)
    return [...keys]
  }
}

/** `ClassName.method`: a prototype's or instance's class is its constructor; a static member's `this` is the class. */
export function ownerName(self: unknown, method: string): string {
  const owner = typeof self === 'function' ? self : (self as { constructor?: Function } | null)?.constructor
  return owner?.name ? `${owner.name}.${method}` : method
}
