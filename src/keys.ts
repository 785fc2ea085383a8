import { CachemeError } from './errors'
import { slotOf, slotTag } from './slots'

/** Where one cached value lives: a whole key, or one field of a hash. */
export interface EntryRef {
  /** The prefixed cache key as the key function made it (`CM:Book:100>owner`); set members use it. */
  readonly full: string
  /** The Redis key: the hash for a `>` key, else the entry itself. */
  readonly key: string
  /** The hash field, or undefined for a key of its own. */
  readonly field: string | undefined
}

/** What a pattern invalidation matches: the SCAN glob of its keys, and the glob of hash fields after a `>`. */
export interface PatternMatch {
  /** A glob of Redis keys, confined to the prefix. */
  readonly keys: string
  /** A glob of fields of the hashes `keys` matches, or undefined to match whole keys. */
  readonly field: string | undefined
}

const FIELD_SEPARATOR = '>'
/**
 * A prefix ends with one of these, so that it names a namespace: a prefix `app` would also match
 * `apple:cart`, another application's name, in patterns and gc.
 */
const PREFIX_SEPARATORS = [':', '/', '.', '|']
/**
 * Lone surrogates cannot be sent to Redis as UTF-8: each becomes U+FFFD, so names that differ only
 * in them would name one key. With the `u` flag a well-formed pair is one code point and does not match.
 */
const LONE_SURROGATE = /\p{Surrogate}/u
const INVALID_SUFFIX = ':invalid'
/** Names under `<prefix>__` belong to cacheme itself; user keys may not start with it. */
const RESERVED = '__'
const TAG_SET = `${RESERVED}tag:`
const STATS_HASH = `${RESERVED}stats:`
const MAX_KEY_LENGTH = 1024
const HASH_TAG_BRACES = /[{}]/

export interface LayoutOptions {
  /** The names are for a Redis Cluster: hash-tagged guards, and no braces in user names. Default false. */
  readonly cluster?: boolean
}

/**
 * The Redis layout, in one place. Every name cacheme writes starts with the prefix, which ends with
 * a separator so that everything starting with it is cacheme's:
 *   entries        <prefix><key>             (a `>` key: hash <prefix><left>, field <right>)
 *   dependencies   <prefix><invalidKey>:invalid  sets of full entry names
 *   tags           <prefix>__tag:<tag>       sets of full entry names
 *   guards         <prefix>__gen:<name>      last invalidation sequence of a set or entry (stale write-back guard)
 *   sequence       <prefix>__seq             invalidation counter
 *   everything     <prefix>__everything      guard raised by pattern invalidation
 *   leases         <prefix>__lease:<key>     token of the process computing an entry
 *   statistics     <prefix>__stats:<tag>     counters of a tag over all processes (hash)
 *   canaries       <prefix>__local:<id>      heartbeat key of one process's in-process tier
 * On a Cluster (`{ cluster: true }`) a name is kept in the slot of what it belongs to by a hash
 * tag: `<tag>` is the slot tag (slots.ts) of the name's own slot, so the rule holds whatever the
 * name holds (the instance cache's keys carry primary keys). `{` `}` are refused in the prefix,
 * user keys, invalid keys and tags, which would otherwise gather in one slot unseen:
 *   guards         <prefix>__gen:{<tag>}<name>, for a field <prefix>__gen:{<tag of hash>}<hash>><field>
 *   popped members <prefix>__popped:{<tag>}<set>  members of a set being invalidated (crash-safe)
 *   slot guards    <prefix>__slot:{<tag>}       one per slot: raised by pattern invalidation, and
 *                                               absent when the shard lost its data
 *   everything     (unused: the slot guards replace it)
 * (<name>, <hash>, <set> without the prefix.)
 */
export class KeyLayout {
  readonly seq: string
  /** The guard raised by pattern invalidation, which touches entries no set names. */
  readonly everythingGuard: string

  readonly cluster: boolean

  constructor(
    readonly prefix: string,
    { cluster = false }: LayoutOptions = {},
  ) {
    this.cluster = cluster
    if (typeof prefix !== 'string' || prefix === '' || prefix.includes(FIELD_SEPARATOR)) {
      throw new CachemeError('INVALID_CONFIG', `prefix must be a non-empty string without '>', got ${JSON.stringify(prefix)}`)
    }
    refuseLoneSurrogates(prefix, 'INVALID_CONFIG', `prefix ${JSON.stringify(prefix)}`)
    if (!PREFIX_SEPARATORS.includes(prefix.slice(-1))) {
      throw new CachemeError(
        'INVALID_CONFIG',
        `prefix must end with one of ${PREFIX_SEPARATORS.join(' ')}, or its patterns and gc would reach the names of other applications that merely start with it, got ${JSON.stringify(prefix)}`,
      )
    }
    this.#refuseBraces(prefix, 'INVALID_CONFIG', `prefix ${JSON.stringify(prefix)}`)
    this.seq = `${prefix}${RESERVED}seq`
    this.everythingGuard = `${prefix}${RESERVED}everything`
  }

  /** Splits a user key into its Redis place, refusing keys that would leave the user namespace. */
  entry(key: unknown, owner: string): EntryRef {
    if (typeof key !== 'string' || key.length === 0) {
      throw new CachemeError('INVALID_KEY', `${owner}: the key function must return a non-empty string, got ${shownValue(key)}`)
    }
    if (key.length > MAX_KEY_LENGTH) {
      throw new CachemeError('INVALID_KEY', `${owner}: key is ${key.length} characters long, the limit is ${MAX_KEY_LENGTH}`)
    }
    if (key.startsWith(RESERVED)) {
      throw new CachemeError('INVALID_KEY', `${owner}: key ${JSON.stringify(key)} starts with '${RESERVED}', which cacheme reserves`)
    }
    refuseLoneSurrogates(key, 'INVALID_KEY', `${owner}: key ${JSON.stringify(key)}`)
    this.#refuseBraces(key, 'INVALID_KEY', `${owner}: key ${JSON.stringify(key)}`)
    const at = key.indexOf(FIELD_SEPARATOR)
    const redisKey = at === -1 ? key : key.slice(0, at)
    if (redisKey.endsWith(INVALID_SUFFIX)) {
      throw new CachemeError('INVALID_KEY', `${owner}: key ${JSON.stringify(key)} names a Redis key ending with '${INVALID_SUFFIX}', which names dependency sets`)
    }
    if (at === -1) {
      const full = this.prefix + key
      return { full, key: full, field: undefined }
    }
    if (key.indexOf(FIELD_SEPARATOR, at + 1) !== -1) {
      throw new CachemeError('INVALID_KEY', `${owner}: key ${JSON.stringify(key)} has more than one '${FIELD_SEPARATOR}'`)
    }
    if (at === 0 || at === key.length - 1) {
      throw new CachemeError('INVALID_KEY', `${owner}: key ${JSON.stringify(key)} needs text on both sides of '${FIELD_SEPARATOR}'`)
    }
    return { full: this.prefix + key, key: this.prefix + redisKey, field: key.slice(at + 1) }
  }

  /** The entry a set member (a full name) stands for. */
  entryOfMember(full: string): EntryRef {
    const at = full.indexOf(FIELD_SEPARATOR, this.prefix.length)
    return at === -1 ? { full, key: full, field: undefined } : { full, key: full.slice(0, at), field: full.slice(at + 1) }
  }

  /** The key as the key function made it. */
  userKey(full: string): string {
    return full.slice(this.prefix.length)
  }

  /** The dependency set of an invalid key; a reserved name would collide with cacheme's own keys. */
  invalidSet(invalidKey: string, owner = 'invalid key'): string {
    if (invalidKey.startsWith(RESERVED)) {
      throw new CachemeError('INVALID_KEY', `${owner}: ${JSON.stringify(invalidKey)} starts with '${RESERVED}', which cacheme reserves`)
    }
    refuseLoneSurrogates(invalidKey, 'INVALID_KEY', `${owner}: ${JSON.stringify(invalidKey)}`)
    this.#refuseBraces(invalidKey, 'INVALID_KEY', `${owner}: ${JSON.stringify(invalidKey)}`)
    return `${this.prefix}${invalidKey}${INVALID_SUFFIX}`
  }

  /** The invalid key a dependency set stands for (the inverse of invalidSet), or undefined for any other name. */
  invalidKeyOfSet(set: string): string | undefined {
    const isDependencySet = set.startsWith(this.prefix) && set.endsWith(INVALID_SUFFIX) && this.tagOfSet(set) === undefined
    return isDependencySet ? set.slice(this.prefix.length, -INVALID_SUFFIX.length) : undefined
  }

  tagSet(tag: string): string {
    refuseLoneSurrogates(tag, 'INVALID_KEY', `tag ${JSON.stringify(tag)}`)
    this.#refuseBraces(tag, 'INVALID_KEY', `tag ${JSON.stringify(tag)}`)
    return `${this.prefix}${TAG_SET}${tag}`
  }

  /** The tag a tag set stands for (the inverse of tagSet), or undefined for any other name. */
  tagOfSet(set: string): string | undefined {
    const start = this.prefix + TAG_SET
    return set.startsWith(start) ? set.slice(start.length) : undefined
  }

  /** Counters of a tag added up over every process (`cacheme stats`). */
  statsHash(tag: string): string {
    return `${this.prefix}${STATS_HASH}${tag}`
  }

  /** The tag whose counters a stats hash holds, or undefined for another name. */
  tagOfStatsHash(hash: string): string | undefined {
    const start = this.prefix + STATS_HASH
    return hash.startsWith(start) ? hash.slice(start.length) : undefined
  }

  /** The lease that lets one process compute an entry while the others wait for it. */
  lease(entry: EntryRef): string {
    return `${this.prefix}${RESERVED}lease:${entry.full.slice(this.prefix.length)}`
  }

  /** The key one process's in-process tier changes to prove that Redis's invalidation messages reach it. */
  localCanary(id: string): string {
    return `${this.prefix}${RESERVED}local:${id}`
  }

  /** The guard of everything stored under `name` (a set or an entry): the sequence of its last invalidation. */
  guard(name: string): string {
    return this.cluster ? this.#besides(`${RESERVED}gen:`, name) : `${this.prefix}${RESERVED}gen:${name.slice(this.prefix.length)}`
  }

  /** The guard of an entry; on a Cluster, in the slot of its key (the hash, for a field). */
  entryGuard(entry: EntryRef): string {
    if (!this.cluster || entry.field === undefined) return this.guard(entry.full)
    return `${this.#besides(`${RESERVED}gen:`, entry.key)}${FIELD_SEPARATOR}${entry.field}`
  }

  /** On a Cluster, where a set's members wait while an invalidation deletes their entries (same slot as the set). */
  popped(set: string): string {
    return this.#besides(`${RESERVED}popped:`, set)
  }

  /** The set whose popped members a name holds (the inverse of popped), or undefined for any other name. */
  setOfPopped(name: string): string | undefined {
    const start = `${this.prefix}${RESERVED}popped:{`
    const end = name.indexOf('}', start.length)
    return name.startsWith(start) && end !== -1 ? this.prefix + name.slice(end + 1) : undefined
  }

  /** On a Cluster, the guard of one slot, named by a hash tag of that slot (slots.ts). */
  slotGuard(tag: string): string {
    return `${this.prefix}${RESERVED}slot:{${tag}}`
  }

  /** A SCAN pattern confined to the prefix: the prefix's own glob characters are escaped. */
  pattern(userPattern: string): string {
    return escapeGlob(this.prefix) + userPattern
  }

  /**
   * What a pattern invalidation matches. Without `>`, a Redis glob of whole keys (a hash with all
   * its fields); with one, `<hash glob>><field glob>`, split at the first `>`: the fields matching
   * the right side in the hashes matching the left. No Redis key under the prefix holds a `>`, and
   * no field does, so a pattern with a second `>` or nothing on one side matches nothing.
   */
  match(userPattern: string, owner: string): PatternMatch {
    refuseLoneSurrogates(userPattern, 'INVALID_KEY', `${owner}: pattern ${JSON.stringify(userPattern)}`)
    const at = userPattern.indexOf(FIELD_SEPARATOR)
    if (at === -1) return { keys: this.pattern(userPattern), field: undefined }
    return { keys: this.pattern(userPattern.slice(0, at)), field: userPattern.slice(at + 1) }
  }

  /** `<prefix><kind>{<slot tag of name>}<name without the prefix>`: a name of cacheme's in the slot of `name`. */
  #besides(kind: string, name: string): string {
    return `${this.prefix}${kind}{${slotTag(slotOf(name))}}${name.slice(this.prefix.length)}`
  }

  /** On a Cluster, a brace would move the name's slot away from its guard's. */
  #refuseBraces(text: string, code: 'INVALID_KEY' | 'INVALID_CONFIG', subject: string): void {
    if (this.cluster && HASH_TAG_BRACES.test(text)) {
      throw new CachemeError(code, `${subject} has '{' or '}', which a Redis Cluster reads as a hash tag: it would move the name away from the slot of its guard`)
    }
  }

  /** Dependency and tag sets: the sets whose members name entries. */
  isIndexSet(name: string): boolean {
    return this.tagOfSet(name) !== undefined || this.invalidKeyOfSet(name) !== undefined
  }

  /** Keys a pattern invalidation must never delete: cacheme's own bookkeeping and dependency sets. */
  isEntryName(name: string): boolean {
    return name.startsWith(this.prefix) && !name.startsWith(this.prefix + RESERVED) && !name.endsWith(INVALID_SUFFIX)
  }
}

/** Throws when `text` has a lone surrogate; `subject` names it in the message (`BookSerializer.owner: key "..."`). */
export function refuseLoneSurrogates(text: string, code: 'INVALID_KEY' | 'INVALID_CONFIG', subject: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw new CachemeError(code, `${subject} has a lone surrogate, which Redis would store as U+FFFD like any other: names that differ only there would be one`)
  }
}

export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, ch => '\\' + ch)
}

function shownValue(value: unknown): string {
  if (value === '') return 'an empty string'
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  return `${typeof value} ${String(value).slice(0, 40)}`
}
