import type { Load } from './http-load'

/** One concurrency level of one endpoint on one database: the same app uncached and warm. */
export interface HttpPoint {
  readonly app: string
  readonly endpoint: string
  readonly database: string
  readonly connections: number
  readonly uncached: Load
  readonly warm: Load
}

/** BENCHMARKS.md's section of `npm run bench:http`, which `npm run bench` keeps as it finds it. */
export const HTTP_HEADING = '## HTTP end to end'

export const speedup = (point: HttpPoint): number => point.warm.requestsPerSecond / point.uncached.requestsPerSecond

const perSecond = (load: Load): string => Math.round(load.requestsPerSecond).toLocaleString('en-US')
const p99 = (load: Load): string => `${load.p99Ms} ms`

export function httpTable(points: readonly HttpPoint[]): string {
  const rows = points.map(p =>
    [p.app, `\`${p.endpoint}\``, p.database, p.connections, perSecond(p.uncached), p99(p.uncached), perSecond(p.warm), p99(p.warm), `${speedup(p).toFixed(1)}×`].join(' | '),
  )
  return [
    '| app | endpoint | database | connections | uncached req/s | uncached p99 | warm req/s | warm p99 | warm / uncached req/s |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(row => `| ${row} |`),
  ].join('\n')
}

/** The section of BENCHMARKS.md that starts at HTTP_HEADING, up to the next `## ` heading; undefined when there is none. */
export function httpSectionOf(markdown: string): string | undefined {
  const start = markdown.indexOf(`\n${HTTP_HEADING}\n`)
  if (start < 0) return undefined
  const end = markdown.indexOf('\n## ', start + 1)
  return markdown.slice(start + 1, end < 0 ? undefined : end + 1).trimEnd()
}

/** `markdown` with its HTTP section replaced by `section`, or `section` put before "## Not measured yet" (else at the end). */
export function withHttpSection(markdown: string, section: string): string {
  const previous = httpSectionOf(markdown)
  if (previous !== undefined) return markdown.replace(previous, () => section)
  const notMeasured = markdown.indexOf('\n## Not measured yet')
  if (notMeasured < 0) return `${markdown.trimEnd()}\n\n${section}\n`
  return `${markdown.slice(0, notMeasured + 1)}${section}\n\n${markdown.slice(notMeasured + 1)}`
}
