import { decode } from '../codec'
import type { EntryRef } from '../keys'
import { deadlines as deadlinesOf, open } from '../store/envelope'
import { CliError, EXIT } from './exit'
import { perKey } from './per-key'
import { scan } from './scan'
import { plural, type Output } from './output'
import type { Session } from './session'

/** `expired`: a hash field past its deadline, still stored until a write to the hash or gc() removes it. */
type Status = 'fresh' | 'stale' | 'expired' | 'unreadable'

interface Inspection {
  readonly key: string
  readonly redisKey: string
  readonly field: string | null
  readonly status: Status
  /** Absent when the value is expired or unreadable (and for a cached `undefined`). */
  readonly value?: unknown
  /** ISO time the value stops being fresh; null: fresh until invalidated. */
  readonly freshUntil: string | null
  /** How long past freshUntil it may be served stale. */
  readonly graceMs: number
  /** Time to live of the Redis key (for a field, of its whole hash); null: no expiry. */
  readonly redisTtlMs: number | null
  /** The invalid keys whose dependency sets list the entry. */
  readonly dependsOn: string[]
  readonly tags: string[]
}

/**
 * `cacheme inspect <key>`: the value, its deadlines, and the dependency and tag sets that list it.
 * Finding the sets scans every set under the prefix: fine for an admin tool, not for a hot path.
 */
export async function inspect(session: Session, out: Output, key: string): Promise<number> {
  const entry = session.layout.entry(key, 'inspect')
  const stored = await readStored(session, entry)
  const deadlines = deadlinesOf(stored)
  const pttl = await session.client.pttl(entry.key)
  const { dependsOn, tags } = await setsListing(session, entry.full)
  const inspection: Inspection = {
    key,
    redisKey: entry.key,
    field: entry.field ?? null,
    ...valueOf(stored, deadlines !== undefined),
    freshUntil: deadlines && deadlines.freshUntil > 0 ? new Date(deadlines.freshUntil).toISOString() : null,
    graceMs: deadlines?.graceMs ?? 0,
    redisTtlMs: pttl >= 0 ? pttl : null,
    dependsOn,
    tags,
  }
  out.result(inspection, () => inspectionText(inspection))
  return EXIT.ok
}

/** The stored envelope, or a not-found error that says what the name holds instead. */
async function readStored(session: Session, entry: EntryRef): Promise<string> {
  const { client } = session
  const type = await client.type(entry.key)
  const absent = (why: string) => new CliError(EXIT.notFound, `no entry ${JSON.stringify(session.layout.userKey(entry.full))}: ${why}`)
  if (type === 'none') throw absent(`${entry.key} does not exist`)
  if (entry.field !== undefined) {
    if (type !== 'hash') throw absent(`${entry.key} is a ${type}, not a hash of entries`)
    const stored = await client.hget(entry.key, entry.field)
    if (stored === null) throw absent(`hash ${entry.key} has no field ${JSON.stringify(entry.field)}`)
    return stored
  }
  if (type === 'hash') {
    const fields = await client.hlen(entry.key)
    throw absent(`${entry.key} is a hash of ${plural(fields, 'entry', 'entries')}; name one as ${session.layout.userKey(entry.full)}><field>`)
  }
  if (type !== 'string') throw absent(`${entry.key} is a ${type}, not a cached value`)
  const stored = await client.get(entry.key)
  // It may have expired since TYPE.
  if (stored === null) throw absent(`${entry.key} does not exist`)
  return stored
}

/** The decoded value and its status; a cached `undefined` has no `value`, as in JSON. */
function valueOf(stored: string, sealed: boolean): { status: Status; value?: unknown } {
  const opened = open(stored)
  if (!opened) return { status: sealed ? 'expired' : 'unreadable' }
  const status = opened.stale ? 'stale' : 'fresh'
  if (opened.payload === '') return { status }
  try {
    return { status, value: decode(opened.payload) }
  } catch {
    return { status: 'unreadable' }
  }
}

/** Every dependency and tag set under the prefix that lists `member`. */
async function setsListing(session: Session, member: string): Promise<{ dependsOn: string[]; tags: string[] }> {
  const { client, layout } = session
  const dependsOn: string[] = []
  const tags: string[] = []
  for await (const { names } of scan(client, layout.pattern('*'), 'set')) {
    const indexSets = names.filter(name => layout.isIndexSet(name))
    if (indexSets.length === 0) continue
    const listed = await perKey(client, indexSets, (pipeline, set) => pipeline.sismember(set, member))
    listed.forEach((isListed, i) => {
      if (isListed !== 1) return
      const tag = layout.tagOfSet(indexSets[i])
      if (tag !== undefined) tags.push(tag)
      else dependsOn.push(layout.invalidKeyOfSet(indexSets[i])!)
    })
  }
  return { dependsOn: dependsOn.sort(), tags: tags.sort() }
}

function inspectionText(inspection: Inspection): string {
  const { key, redisKey, field, status, freshUntil, graceMs, redisTtlMs, dependsOn, tags } = inspection
  const rows: [string, string][] = [
    ['key', key],
    ['redis', field === null ? `string ${redisKey}` : `hash ${redisKey}, field ${field}`],
    ['status', status],
  ]
  if (status !== 'unreadable') {
    rows.push(['fresh until', freshUntil === null ? 'invalidated (no ttl)' : `${freshUntil} (${relative(Date.parse(freshUntil) - Date.now())})`])
  }
  if (graceMs > 0) rows.push(['grace', seconds(graceMs)])
  rows.push(
    [field === null ? 'redis ttl' : 'hash ttl', redisTtlMs === null ? 'none' : seconds(redisTtlMs)],
    ['depends on', dependsOn.join(', ') || '(no dependency set lists it)'],
    ['tags', tags.join(', ') || '(no tag set lists it)'],
  )
  if ('value' in inspection) rows.push(['value', JSON.stringify(inspection.value, null, 2)])
  else if (status === 'fresh' || status === 'stale') rows.push(['value', 'undefined'])
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, text]) => `${label.padEnd(width)}  ${text.replace(/\n/g, `\n${' '.repeat(width + 2)}`)}\n`).join('')
}

function relative(ms: number): string {
  return ms >= 0 ? `in ${seconds(ms)}` : `${seconds(-ms)} ago`
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}
