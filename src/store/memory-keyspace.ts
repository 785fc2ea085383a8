import { CachemeError } from '../errors'

/** The deadline of a value that never expires, as a Redis key written without PX. */
const NEVER = Infinity

/** The deadline `ms` from `now`; 0 ms never expires. */
export function expiryAfter(ms: number, now: number): number {
  return ms > 0 ? now + ms : NEVER
}

/**
 * A hash field and its deadline. Redis 7.0 has no expiry per field (the envelope carries it, see
 * envelope.ts); kept beside the field here, it lets the keyspace drop dead fields as it meets them.
 */
interface Field {
  readonly value: string
  readonly expiresAt: number
}

interface Expiring {
  expiresAt: number
}

interface Slots {
  string: Expiring & { readonly kind: 'string'; readonly value: string }
  hash: Expiring & { readonly kind: 'hash'; readonly fields: Map<string, Field> }
  set: Expiring & { readonly kind: 'set'; readonly members: Set<string> }
}

type Kind = keyof Slots
type Slot = Slots[Kind]

/**
 * Redis's keyspace in process memory, as much of it as cacheme's commands and scripts use: one
 * namespace of strings, hashes and sets, each name with an expiry. Methods are named after the
 * Redis commands they stand for and behave alike: a name holding another kind than the command
 * expects is an error (WRONGTYPE), an expired name is absent, a hash or set goes with its last
 * field or member. Deadlines are absolute times in ms; `now` is passed in so that one operation of
 * the store sees one instant, as a script does.
 */
export class MemoryKeyspace {
  readonly #slots = new Map<string, Slot>()

  /** Values held (strings, hash fields, set members), counting expired ones not yet purged. */
  get size(): number {
    let size = 0
    for (const slot of this.#slots.values()) {
      size += slot.kind === 'hash' ? slot.fields.size : slot.kind === 'set' ? slot.members.size : 1
    }
    return size
  }

  get(key: string, now: number): string | undefined {
    return this.#slot(key, 'string', now)?.value
  }

  /** SET with PXAT: replaces whatever the name held. */
  set(key: string, value: string, expiresAt = NEVER): void {
    this.#slots.set(key, { kind: 'string', value, expiresAt })
  }

  /** DEL: whatever the name holds goes; 1 if it held something unexpired. */
  del(key: string, now: number): number {
    const slot = this.#slots.get(key)
    this.#slots.delete(key)
    return slot && slot.expiresAt > now ? 1 : 0
  }

  /** A field past its deadline reads as absent, and is dropped. */
  hget(key: string, field: string, now: number): string | undefined {
    const hash = this.#slot(key, 'hash', now)
    const stored = hash?.fields.get(field)
    if (!hash || !stored) return undefined
    if (stored.expiresAt > now) return stored.value
    this.#deleteField(key, hash, field)
    return undefined
  }

  /**
   * HSET, with the field's deadline. The hash is kept at least as long: a new one expires with the
   * field, an existing one is extended (what the scripts' `outlive` does with PEXPIRE).
   */
  hset(key: string, field: string, value: string, expiresAt: number, now: number): void {
    this.#container(key, 'hash', expiresAt, now).fields.set(field, { value, expiresAt })
  }

  /** HDEL; 1 if the field was stored and unexpired. */
  hdel(key: string, field: string, now: number): number {
    const hash = this.#slot(key, 'hash', now)
    const stored = hash?.fields.get(field)
    if (!hash || !stored) return 0
    this.#deleteField(key, hash, field)
    return stored.expiresAt > now ? 1 : 0
  }

  /** HINCRBYFLOAT on a field that never expires; a new hash never expires either. */
  hincrbyfloat(key: string, field: string, amount: number, now: number): void {
    const hash = this.#container(key, 'hash', NEVER, now)
    const total = Number(hash.fields.get(field)?.value ?? 0) + amount
    hash.fields.set(field, { value: String(total), expiresAt: NEVER })
  }

  /** HKEYS: fields past their deadline included until they are dropped, as in Redis. */
  hkeys(key: string, now: number): string[] {
    return [...(this.#slot(key, 'hash', now)?.fields.keys() ?? [])]
  }

  /** HLEN: fields past their deadline count until they are dropped, as in Redis. */
  hlen(key: string, now: number): number {
    return this.#slot(key, 'hash', now)?.fields.size ?? 0
  }

  /** SADD, keeping the set at least until `expiresAt`, as hset keeps a hash. */
  sadd(key: string, member: string, expiresAt: number, now: number): void {
    this.#container(key, 'set', expiresAt, now).members.add(member)
  }

  srem(key: string, member: string, now: number): void {
    const set = this.#slot(key, 'set', now)
    if (!set) return
    set.members.delete(member)
    if (set.members.size === 0) this.#slots.delete(key)
  }

  smembers(key: string, now: number): string[] {
    return [...(this.#slot(key, 'set', now)?.members ?? [])]
  }

  scard(key: string, now: number): number {
    return this.#slot(key, 'set', now)?.members.size ?? 0
  }

  /**
   * HRANDFIELD with a count, made deterministic: the fields sampled least recently. Maps iterate in
   * insertion order, so moving each sampled field to the back makes samples go round the hash.
   */
  sampleFields(key: string, count: number, now: number): string[] {
    const hash = this.#slot(key, 'hash', now)
    if (!hash) return []
    const sampled = first(hash.fields.keys(), count)
    for (const field of sampled) {
      const stored = hash.fields.get(field)!
      hash.fields.delete(field)
      hash.fields.set(field, stored)
    }
    return sampled
  }

  /** SRANDMEMBER with a count, made deterministic as sampleFields is. */
  sampleMembers(key: string, count: number, now: number): string[] {
    const set = this.#slot(key, 'set', now)
    if (!set) return []
    const sampled = first(set.members, count)
    for (const member of sampled) {
      set.members.delete(member)
      set.members.add(member)
    }
    return sampled
  }

  /**
   * Whether `key` holds an unexpired string (no field) or a hash with an unexpired `field`. A name
   * holding the other kind does not: no WRONGTYPE here, as the scripts read it with pcall.
   */
  holds(key: string, field: string | undefined, now: number): boolean {
    const slot = this.#slots.get(key)
    if (!slot || slot.expiresAt <= now) return false
    if (field === undefined) return slot.kind === 'string'
    return slot.kind === 'hash' && (slot.fields.get(field)?.expiresAt ?? 0) > now
  }

  /** SCAN over the whole keyspace (of one kind if given): the unexpired names; expired ones are purged on the way. */
  scan(now: number, kind?: Kind): string[] {
    const names: string[] = []
    for (const [name, slot] of this.#slots) {
      if (slot.expiresAt <= now) this.#slots.delete(name)
      else if (kind === undefined || slot.kind === kind) names.push(name)
    }
    return names
  }

  /**
   * Removes expired names and hash fields past their deadline, which nobody may read again.
   * Returns the fields removed: Redis expires names by itself, but not fields.
   */
  purgeExpired(now: number): number {
    let fieldsRemoved = 0
    for (const [key, slot] of this.#slots) {
      if (slot.expiresAt <= now) {
        this.#slots.delete(key)
      } else if (slot.kind === 'hash') {
        for (const [field, { expiresAt }] of slot.fields) {
          if (expiresAt > now) continue
          this.#deleteField(key, slot, field)
          fieldsRemoved++
        }
      }
    }
    return fieldsRemoved
  }

  /** FLUSHDB. */
  clear(): void {
    this.#slots.clear()
  }

  /** The live slot under `key`; a slot of another kind is an error, as WRONGTYPE is in Redis. */
  #slot<K extends Kind>(key: string, kind: K, now: number): Slots[K] | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt <= now) {
      this.#slots.delete(key)
      return undefined
    }
    if (slot.kind !== kind) {
      throw new CachemeError('STORE_FAILED', `${JSON.stringify(key)} holds a ${slot.kind}, not a ${kind}`)
    }
    return slot as Slots[K]
  }

  /** The hash or set under `key`, created if absent, kept at least until `expiresAt`. */
  #container<K extends 'hash' | 'set'>(key: string, kind: K, expiresAt: number, now: number): Slots[K] {
    const existing = this.#slot(key, kind, now)
    if (existing) {
      existing.expiresAt = Math.max(existing.expiresAt, expiresAt)
      return existing
    }
    const slot = (kind === 'hash' ? { kind, fields: new Map(), expiresAt } : { kind, members: new Set(), expiresAt }) as Slots[K]
    this.#slots.set(key, slot)
    return slot
  }

  #deleteField(key: string, hash: Slots['hash'], field: string): void {
    hash.fields.delete(field)
    if (hash.fields.size === 0) this.#slots.delete(key)
  }
}

/** The first `count` items, taken before the caller changes the collection. */
function first<T>(items: Iterable<T>, count: number): T[] {
  const taken: T[] = []
  for (const item of items) {
    if (taken.length === count) break
    taken.push(item)
  }
  return taken
}
