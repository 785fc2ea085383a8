import { decode, encode } from './codec'
import { runtime, type Runtime } from './config'
import { cachemeEvents } from './events'
import { metrics } from './metrics'
import { containerFactory, holdResult, type Container, type ContainerFactory } from './container'
import { CachemeError, type ErrorContext } from './errors'
import type { EntryRef } from './keys'
import type { CachemeOptions, InvalidKeys } from './options'
import { localInvalidations } from './invalidation'
import { underLease, type LeaseTerms } from './lease'
import { requestScope } from './scope'
import { type Computation } from './single-flight'
import { localPolicy } from './local/local-options'
import { OptionChecks } from './option-checks'
import { GUARD_TTL_MS, UNAVAILABLE, type ReadOptions, type ReadResult, type WriteRequest } from './store/store'
import { tagNamed } from './tags'
import { computationReads, recordingReads } from './recorded-dependencies'
import { insideWrittenTransaction, readsMayBeCached } from './sequelize/transaction-reads'

/**
 * One call of a memoized function, from its key on: every step of the call path reads it. It is
 * built before the read, which fills in `stale` and `seq`, so that a fresh hit allocates nothing more.
 */
interface Call {
  readonly runtime: Runtime
  readonly self: unknown
  readonly args: unknown[]
  readonly container: Container
  /** As the key function made it. */
  readonly key: string
  readonly entry: EntryRef
  /** The value read is past its ttl, within its grace: it is served and recomputed in the background. */
  stale: boolean
  /** The invalidation sequence the read returned, for the write; undefined when the store could not tell. */
  seq: number | undefined
  /** The payload read, or the promise of what a miss stores, for a request scope; undefined: nothing cached. */
  payload: string | undefined | Promise<string | undefined>
  /**
   * The entry's computation in flight when the read was sent. A miss joins it even if it has ended
   * since: its store may have been answered while the read was on its way, so the read missed it.
   */
  inFlight: Promise<Computation> | undefined
}

/** What one computation of a call produced, as far as its write needs it. */
interface Computed {
  readonly result: unknown
  /** When it began: a computation older than the guard's memory is not cached. */
  readonly started: number
  /** The invalid keys of the instances it read through the instance cache. */
  readonly recorded: ReadonlySet<string>
}

/** The name of a memoized function: settled, or provisional until the first call tells its class. */
export type MemoizedName = { readonly settled: string } | { readonly provisional: string }

/**
 * The call path of one decorated function: read, and on a miss compute, then store the result with
 * its dependency and tag sets in one atomic write guarded against invalidations that happened
 * while it was being computed.
 */
export class Memoized {
  readonly #fn: Function
  readonly #options: CachemeOptions
  readonly #container: ContainerFactory
  /** `skip` settled once: true runs every call uncached; a function decides per call. */
  readonly #skip: boolean | ((c: Container) => boolean)
  /** The option's time to live; undefined for the configured default. */
  readonly #ttlMs: number | undefined
  readonly #graceMs: number
  /** undefined: no lease. */
  readonly #leaseMs: number | undefined
  /** How reads use the in-process tier; undefined: as configured. */
  readonly #readOptions: ReadOptions | undefined
  /** `ClassName.methodName` (or the function's name): errors name it, and it is the default tag. */
  #name: string
  #nameSettled = false
  #tag: string | undefined

  /** A provisional name: the class is learnt from the first call's `this` (standard decorators are not told it). */
  constructor(fn: Function, options: CachemeOptions, name: MemoizedName) {
    this.#fn = fn
    this.#options = options
    this.#container = containerFactory(fn)
    this.#skip = options.skip ?? false
    this.#ttlMs = options.ttl === undefined ? undefined : Math.round(options.ttl * 1000)
    this.#graceMs = Math.round((options.grace ?? 0) * 1000)
    this.#leaseMs = options.lease ? options.lease * 1000 : undefined
    this.#readOptions = options.local === undefined ? undefined : { local: localPolicy(new OptionChecks('@cacheme'), options.local) }
    this.#name = 'settled' in name ? name.settled : name.provisional
    if (options.tag !== undefined) this.#useTag(options.tag)
    if ('settled' in name) this.settleName(this.#name)
  }

  /** Settles the name used in errors and the default tag, once. */
  settleName(name: string): void {
    if (this.#nameSettled) return
    this.#nameSettled = true
    this.#name = name
    if (this.#tag === undefined) this.#useTag(name)
  }

  #useTag(name: string): void {
    this.#tag = name
    tagNamed(name)
  }

  /** Not async: a hit pays no promise for this frame; whatever throws comes back as a rejection. */
  call(self: unknown, args: unknown[]): Promise<unknown> {
    try {
      const call = this.#callOf(self, args)
      if (call === undefined) return Promise.resolve(this.#fn.apply(self, args))
      const scope = requestScope()
      if (scope === undefined) return this.#serve(call)
      const served = () => this.#serve(call).then(result => ({ result, payload: call.payload }))
      return scope.serve(call.entry.full, served, payload => this.#hit(call, decode(payload)))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The call as the cache serves it; undefined when it runs uncached (skipped, disabled, or inside a transaction that has written). */
  #callOf(self: unknown, args: unknown[]): Call | undefined {
    const skip = this.#skip
    if (skip === true) return undefined
    const active = runtime()
    // Inside a transaction that has written (known with CLS), a call reads its own writes: no cache.
    if (!active.enabled || insideWrittenTransaction()) return undefined
    const container = this.#container(self, args)
    if (skip && skip(container)) return undefined
    if (!this.#nameSettled) this.settleName(qualifiedName(self, this.#name))
    const key = this.#keyOf(container)
    return { runtime: active, self, args, container, key, entry: active.layout.entry(key, this.#name), stale: false, seq: undefined, payload: undefined, inFlight: undefined }
  }

  /**
   * From the store, or computed and stored. Not async, like its callers: a value this process holds
   * is served at once, a read costs one `then`.
   */
  #serve(call: Call): Promise<unknown> {
    const { store } = call.runtime
    let reading: Promise<ReadResult>
    try {
      const held = store.peek?.(call.entry, this.#readOptions)
      if (held !== undefined) return Promise.resolve(this.#served(call, held))
      call.inFlight = call.runtime.flights.running(call.entry.full)
      reading = store.read(call.entry, this.#readOptions)
    } catch (error) {
      reading = Promise.reject(error)
    }
    return reading.then(
      read => this.#served(call, read),
      error => this.#unread(call, error),
    )
  }

  /** The value read, or its computation; fills in the call's `stale` and `seq`. */
  #served(call: Call, { value, stale, seq, local }: ReadResult): unknown {
    if (value === undefined) {
      call.seq = seq
      return this.#computed(call)
    }
    let result: unknown
    try {
      result = this.#hit(call, decode(value), local)
    } catch (error) {
      return this.#unread(call, error)
    }
    call.stale = stale
    call.seq = seq
    call.payload = value
    if (stale) this.#refresh(call)
    return result
  }

  /** A fault of the read is reported; without the sequence nothing can be written safely: computed and returned uncached. */
  #unread(call: Call, error: unknown): Promise<unknown> {
    this.#report(call, error, 'read')
    return this.#computed(call)
  }

  /** A miss: computed once for every caller of the entry in this process, and stored. */
  async #computed(call: Call): Promise<unknown> {
    metrics.add(this.#tag!, 'misses')
    cachemeEvents.emit('miss', call.key, this.#tag!)
    let onResult!: (result: unknown) => void
    const result = new Promise<unknown>(resolve => (onResult = resolve))
    const flight = call.runtime.flights.run(call.entry.full, () => this.#leased(call, onResult), call.inFlight)
    if (!flight.joined) {
      // The caller that computes has its result as soon as it is computed: the store goes on behind it.
      return Promise.race([result, flight.computation.then(shared => shared.result)])
    }
    // One that joined waits for the store's answer: a computation joined late may have read rows that changed before this call began.
    const shared = await flight.computation
    return shared.inputsChanged ? (await this.#leased(call)).result : shared.result
  }

  #keyOf(container: Container): string {
    try {
      return this.#options.key(container)
    } catch (error) {
      throw new CachemeError('KEY_FUNCTION_FAILED', `${this.#name}: the key function threw: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    }
  }

  /** Counts and announces a call served from the cache. */
  #hit(call: Call, result: unknown, local = false): unknown {
    metrics.add(this.#tag!, 'hits')
    if (local) metrics.add(this.#tag!, 'localHits')
    cachemeEvents.emit('hit', call.key, this.#tag!)
    this.#options.hit?.(call.key, result, call.container)
    return result
  }

  /** A stale value was served: one caller recomputes it in the background; its failure is reported. */
  #refresh(call: Call): void {
    const { computation, joined } = call.runtime.flights.run(call.entry.full, () => this.#leased(call))
    if (!joined) computation.catch(error => this.#report(call, error, 'refresh'))
  }

  /** With the `lease` option and a store that answers, one process computes and the others wait for its value. */
  #leased(call: Call, onResult?: (result: unknown) => void): Promise<Computation> {
    if (this.#leaseMs === undefined || call.seq === undefined) return this.#compute(call, onResult)
    const terms: LeaseTerms = { store: call.runtime.store, entry: call.entry, ms: this.#leaseMs, onFault: error => this.#report(call, error, 'read') }
    return underLease(terms, () => this.#compute(call, onResult))
  }

  /**
   * Computes, then stores; `onResult` hears the result once its write is under way, before its answer.
   * `inputsChanged` when an invalidation came while it ran (the store refused it, or one was seen
   * here), or when it read in a transaction whose rows others may not see yet: that value is its
   * caller's alone, not stored, and a caller that joined computes its own.
   */
  async #compute(call: Call, onResult?: (result: unknown) => void): Promise<Computation> {
    this.#options.miss?.(call.key, call.container)
    const invalidationsBefore = localInvalidations()
    const started = Date.now()
    const reads = computationReads()
    const result = await recordingReads(reads, () => this.#fn.apply(call.self, call.args))
    metrics.add(this.#tag!, 'computeMs', Date.now() - started)
    if (!readsMayBeCached(reads.transactions)) return { result, inputsChanged: true }
    const request = this.#writeRequest(call, { result, started, recorded: reads.dependencies })
    const written = request === undefined ? 'skipped' : this.#store(call, request)
    onResult?.(result)
    return { result, inputsChanged: (await written) === 'refused' || localInvalidations() !== invalidationsBefore }
  }

  /**
   * The guarded write of the entry with its dependency and tag sets; undefined when the sequence is
   * unknown or the result cannot be stored. Throws when `invalidKeys` does: the caller is told.
   */
  #writeRequest(call: Call, computed: Computed): WriteRequest | undefined {
    const { seq } = call
    if (seq === undefined) return undefined
    const dependencies = new Set([...this.#invalidKeysOf(call.container, computed.result), ...computed.recorded])
    const value = this.#encode(call, computed)
    if (value instanceof CachemeError) {
      this.#report(call, value, 'write')
      return undefined
    }
    const { layout, ttlMs } = call.runtime
    const sets = [...dependencies].map(dependency => layout.invalidSet(dependency, this.#name))
    sets.push(layout.tagSet(this.#tag!))
    return { entry: call.entry, value, ttlMs: this.#ttlMs ?? ttlMs, graceMs: this.#graceMs, sets, seq }
  }

  /** Sends the write; the call's payload is the promise of what it stored, for a request scope. */
  #store(call: Call, request: WriteRequest): Promise<'stored' | 'refused' | 'skipped'> {
    const outcome = this.#stored(call, request)
    call.payload = outcome.then(written => (written === 'stored' ? request.value : undefined))
    return outcome
  }

  async #stored(call: Call, request: WriteRequest): Promise<'stored' | 'refused' | 'skipped'> {
    try {
      const stored = await call.runtime.store.write(request)
      metrics.add(this.#tag!, stored ? 'stores' : 'refused')
      if (stored) cachemeEvents.emit('store', call.key, this.#tag!)
      return stored ? 'stored' : 'refused'
    } catch (error) {
      this.#report(call, error, 'write')
      return 'skipped'
    }
  }

  /**
   * `invalidKeys` flattened, without nulls, deduplicated. It reads the result from the container:
   * `c.result` and `c.cachemeResult` are set here, and only here.
   */
  #invalidKeysOf(container: Container, result: unknown): string[] {
    holdResult(container, result)
    if (!this.#options.invalidKeys) return []
    let returned: InvalidKeys
    try {
      returned = this.#options.invalidKeys(container)
    } catch (error) {
      throw new CachemeError('INVALID_KEYS_FUNCTION_FAILED', `${this.#name}: invalidKeys threw: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    }
    const keys = new Set<string>()
    const visit = (item: unknown): void => {
      if (item === null || item === undefined) return
      if (Array.isArray(item)) return item.forEach(visit)
      if (typeof item !== 'string' || item === '') {
        throw new CachemeError('INVALID_KEY', `${this.#name}: invalidKeys must give non-empty strings, got ${item === '' ? 'an empty string' : typeof item}`)
      }
      keys.add(item)
    }
    visit(returned)
    return [...keys]
  }

  /**
   * The result as stored, or the error that keeps it uncached: it has no JSON form, it is over
   * `maxValueBytes`, or it took longer than the guard remembers invalidations.
   */
  #encode(call: Call, { result, started }: Computed): string | CachemeError {
    const { key } = call
    const { maxValueBytes } = call.runtime
    let value: string
    try {
      value = encode(result)
    } catch (error) {
      return new CachemeError('UNSERIALIZABLE_RESULT', `${this.#name}: the result for key ${JSON.stringify(key)} cannot be cached: ${(error as Error).message}`, { cause: error })
    }
    if (maxValueBytes > 0 && Buffer.byteLength(value) > maxValueBytes) {
      return new CachemeError(
        'VALUE_TOO_LARGE',
        `${this.#name}: the result for key ${JSON.stringify(key)} is ${Buffer.byteLength(value)} bytes, over maxValueBytes ${maxValueBytes}`,
      )
    }
    if (Date.now() - started >= GUARD_TTL_MS) {
      return new CachemeError('COMPUTE_TOO_SLOW', `${this.#name}: computing ${JSON.stringify(key)} took longer than ${GUARD_TTL_MS / 1000} s, so it was not cached`)
    }
    return value
  }

  /** Reports a fault of this call, counting it for its tag. */
  #report(call: Call, error: unknown, operation: ErrorContext['operation']): void {
    if (error !== UNAVAILABLE) metrics.add(this.#tag!, 'errors')
    call.runtime.report(error, { operation, key: call.key, method: this.#name })
  }
}

/** `ClassName.method`: a prototype's or instance's class is its constructor; a static member's `this` is the class. */
export function qualifiedName(self: unknown, method: string): string {
  const owner = typeof self === 'function' ? self : (self as { constructor?: Function } | null)?.constructor
  return owner?.name ? `${owner.name}.${method}` : method
}
