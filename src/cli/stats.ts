import { SHARED_COUNTERS } from '../metrics'
import { EXIT } from './exit'
import { perKey } from './per-key'
import { scan, startingWith } from './scan'
import { table, type Output } from './output'
import type { Session } from './session'

interface TagTotals {
  readonly tag: string
  readonly counters: Readonly<Record<string, number>>
  /** hits / (hits + misses); null before any call. */
  readonly hitRate: number | null
  /** computeMs / misses: a miss is what computes. Null without misses. */
  readonly meanComputeMs: number | null
}

/** `cacheme stats`: per-tag counters added up over every process that flushed them. */
export async function stats(session: Session, out: Output): Promise<number> {
  const { client, layout } = session
  const totals: TagTotals[] = []
  for await (const { names } of scan(client, startingWith(layout.statsHash('')), 'hash')) {
    const hashes = await perKey(client, names, (pipeline, name) => pipeline.hgetall(name))
    hashes.forEach((fields, i) => totals.push(totalsOf(layout.tagOfStatsHash(names[i])!, fields as Record<string, string>)))
  }
  totals.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
  const document = totals.map(({ tag, counters, hitRate, meanComputeMs }) => ({ tag, ...counters, hitRate, meanComputeMs }))
  out.result({ prefix: layout.prefix, tags: document }, () => statsTable(totals, layout.prefix))
  return EXIT.ok
}

/**
 * The counters every process adds to `layout.statsHash(tag)`, each 0 until counted. Every numeric
 * field is kept (processes of another version may count more than this one knows).
 */
function totalsOf(tag: string, fields: Record<string, string>): TagTotals {
  const counters: Record<string, number> = Object.fromEntries(SHARED_COUNTERS.map(name => [name, 0]))
  for (const [name, text] of Object.entries(fields)) {
    const value = Number(text)
    if (Number.isFinite(value)) counters[name] = value
  }
  const { hits, misses, computeMs } = counters
  return {
    tag,
    counters,
    hitRate: hits + misses > 0 ? hits / (hits + misses) : null,
    meanComputeMs: misses > 0 ? computeMs / misses : null,
  }
}

function statsTable(totals: readonly TagTotals[], prefix: string): string {
  if (totals.length === 0) return `no statistics under prefix ${prefix}\n`
  const rows = totals.map(({ tag, counters, hitRate, meanComputeMs }) => [
    tag,
    String(counters.hits),
    String(counters.misses),
    hitRate === null ? '-' : `${(hitRate * 100).toFixed(1)}%`,
    String(counters.stores),
    String(counters.invalidations),
    String(counters.errors),
    meanComputeMs === null ? '-' : meanComputeMs.toFixed(1),
  ])
  return table(['TAG', 'HITS', 'MISSES', 'HIT RATE', 'STORES', 'INVALIDATIONS', 'ERRORS', 'MEAN COMPUTE MS'], rows, [
    'left',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
    'right',
  ])
}
