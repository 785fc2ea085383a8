import { escapeXml } from './harness'
import { speedup, type HttpPoint } from './http-report'

const PANEL_WIDTH = 380
const PANEL_HEIGHT = 200
const PLOT = { left: 52, right: 12, top: 44, bottom: 26 }
const COLORS = { uncached: '#9a9a9a', warm: '#2a9d58' }

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1)))
  return [1, 2, 5, 10].map(step => step * power).find(candidate => candidate >= value)!
}

const unique = (values: string[]): string[] => [...new Set(values)]

/**
 * Requests per second by number of connections, uncached and warm side by side: one panel per app
 * and endpoint (rows) and database (columns), each on its own linear scale, the warm / uncached
 * ratio above each pair.
 */
export function httpChart(points: readonly HttpPoint[]): string {
  const rows = unique(points.map(p => `${p.app} ${p.endpoint}`))
  const columns = unique(points.map(p => p.database))
  const top = 50
  const width = columns.length * PANEL_WIDTH + 20
  const height = top + rows.length * PANEL_HEIGHT + 10
  const parts: string[] = []
  rows.forEach((row, r) =>
    columns.forEach((column, c) => {
      const panel = points.filter(p => `${p.app} ${p.endpoint}` === row && p.database === column)
      if (panel.length) parts.push(...drawPanel(panel, `${row}, ${column}`, 10 + c * PANEL_WIDTH, top + r * PANEL_HEIGHT))
    }),
  )
  const legend = (x: number, color: string, label: string) => [`<rect x="${x}" y="32" width="12" height="12" fill="${color}"/>`, `<text x="${x + 16}" y="42">${label}</text>`]
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Requests per second by connections, the examples served over HTTP (higher is better)</text>`,
    ...legend(10, COLORS.uncached, 'uncached (cacheme enabled: false)'),
    ...legend(230, COLORS.warm, 'warm (cacheme on, cache primed); above each pair: warm / uncached'),
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

function drawPanel(points: readonly HttpPoint[], title: string, x0: number, y0: number): string[] {
  const plotWidth = PANEL_WIDTH - PLOT.left - PLOT.right
  const plotHeight = PANEL_HEIGHT - PLOT.top - PLOT.bottom
  const bottom = y0 + PLOT.top + plotHeight
  const max = niceCeiling(Math.max(...points.flatMap(p => [p.uncached.requestsPerSecond, p.warm.requestsPerSecond])) * 1.1)
  const y = (value: number) => bottom - (value / max) * plotHeight
  const parts = [`<text x="${x0}" y="${y0 + 16}" font-size="12" font-weight="bold">${escapeXml(title)}</text>`]
  for (const tick of [0, 0.25, 0.5, 0.75, 1].map(share => share * max)) {
    parts.push(`<line x1="${x0 + PLOT.left}" y1="${y(tick).toFixed(1)}" x2="${x0 + PLOT.left + plotWidth}" y2="${y(tick).toFixed(1)}" stroke="#e4e4e4"/>`)
    parts.push(`<text x="${x0 + PLOT.left - 4}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${Math.round(tick).toLocaleString('en-US')}</text>`)
  }
  const group = plotWidth / points.length
  const bar = Math.min(44, group / 3)
  points.forEach((point, i) => {
    const center = x0 + PLOT.left + group * (i + 0.5)
    const bars = [
      { load: point.uncached, color: COLORS.uncached, x: center - bar - 1 },
      { load: point.warm, color: COLORS.warm, x: center + 1 },
    ]
    for (const { load, color, x } of bars) {
      const barTop = y(load.requestsPerSecond)
      parts.push(`<rect x="${x.toFixed(1)}" y="${barTop.toFixed(1)}" width="${bar.toFixed(1)}" height="${(bottom - barTop).toFixed(1)}" fill="${color}"/>`)
      parts.push(
        `<text x="${(x + bar / 2).toFixed(1)}" y="${(barTop - 3).toFixed(1)}" text-anchor="middle" font-size="10">${Math.round(load.requestsPerSecond).toLocaleString('en-US')}</text>`,
      )
    }
    const highest = y(Math.max(point.uncached.requestsPerSecond, point.warm.requestsPerSecond))
    parts.push(`<text x="${center.toFixed(1)}" y="${(highest - 16).toFixed(1)}" text-anchor="middle" font-weight="bold">${speedup(point).toFixed(1)}×</text>`)
    parts.push(`<text x="${center.toFixed(1)}" y="${bottom + 15}" text-anchor="middle">${point.connections} conn.</text>`)
  })
  parts.push(`<line x1="${x0 + PLOT.left}" y1="${bottom}" x2="${x0 + PLOT.left + plotWidth}" y2="${bottom}" stroke="#333"/>`)
  return parts
}
