import { createHash } from 'node:crypto'
import { html, SafeHtml } from './html'
import type { HistoryRow } from './history'
import type { TagSummary } from './tag-summary'

export interface PageView {
  /** Where the form posts. */
  readonly action: string
  readonly csrfField: string
  readonly csrfToken: string
  readonly prefix: string
  readonly tags: readonly TagSummary[]
  /** Undefined when the router keeps no history. */
  readonly history: readonly HistoryRow[] | undefined
  readonly notice?: string
  readonly error?: string
  /** What the refused form held, so it can be corrected. */
  readonly pattern?: string
  readonly chosenTags?: readonly string[]
}

const STYLE = `
:root { color-scheme: light; --line: #d8dde3; --muted: #5b6570; --accent: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f6f8fa; }
header { background: #1f2328; color: #fff; padding: 14px 32px; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header span { color: #aab3bd; font-size: 13px; }
header code { background: #32383f; color: #e6edf3; }
main { max-width: 1080px; margin: 0 auto; padding: 8px 32px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 4px 20px 16px; margin-top: 20px; overflow-x: auto; }
h2 { font-size: 16px; margin: 14px 0 10px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:last-child td { border-bottom: none; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: #eff2f5; padding: 1px 5px; border-radius: 4px; }
td code { overflow-wrap: break-word; }
td.when { white-space: nowrap; }
td label { cursor: pointer; }
.empty, .hint { color: var(--muted); }
.hint { font-size: 13px; margin: 4px 0 12px; }
.notice, .error { margin-top: 20px; padding: 10px 16px; border-radius: 6px; }
.notice { background: #dafbe1; border: 1px solid #8ddb9d; }
.error { background: #ffebe9; border: 1px solid #ff8182; }
label.pattern { display: block; font-weight: 600; margin-top: 12px; }
input[type=text] { width: 100%; max-width: 460px; padding: 6px 10px; font: 14px ui-monospace, monospace; border: 1px solid var(--line); border-radius: 6px; display: block; margin-top: 4px; }
button { background: var(--accent); color: #fff; border: 0; border-radius: 6px; padding: 8px 18px; font-weight: 600; font-size: 14px; cursor: pointer; }
`

/** The Content-Security-Policy source of the one inline style sheet: the page runs no script at all. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`

/** The whole page; every value from the store, the database or the request is escaped by `html`. */
export function renderPage(view: PageView): string {
  const chosen = new Set(view.chosenTags ?? [])
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cacheme admin</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<header><h1>cacheme — invalidation admin</h1><span>prefix <code>${view.prefix}</code></span></header>
<main>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
<form method="post" action="${view.action}">
<input type="hidden" name="${view.csrfField}" value="${view.csrfToken}">
<section>
<h2>Tags</h2>
${
  view.tags.length === 0
    ? html`<p class="empty">No tags yet: they appear when decorated methods are defined.</p>`
    : html`<table id="tags">
<thead><tr><th></th><th>Tag</th><th class="number">Keys</th><th class="number">Hits</th><th class="number">Misses</th><th class="number">Hit rate</th></tr></thead>
<tbody>
${view.tags.map(
  (tag, index) => html`<tr>
<td><input type="checkbox" id="tag-${index}" name="tags" value="${tag.name}"${chosen.has(tag.name) ? raw(' checked') : ''}></td>
<td><label for="tag-${index}"><code>${tag.name}</code></label></td>
<td class="number">${count(tag.keys)}</td>
<td class="number">${count(tag.hits)}</td>
<td class="number">${count(tag.misses)}</td>
<td class="number">${tag.hitRate === undefined ? '—' : `${(tag.hitRate * 100).toFixed(1)} %`}</td>
</tr>
`,
)}</tbody>
</table>`
}
</section>
<section>
<h2>Invalidate</h2>
<label class="pattern" for="pattern">Pattern</label>
<input type="text" id="pattern" name="pattern" placeholder="Book:*" value="${view.pattern ?? ''}" autocomplete="off">
<p class="hint">A Redis glob matched inside the prefix. Leave it empty to invalidate only the tags checked above; give both to invalidate both.</p>
<button type="submit">Invalidate</button>
</section>
</form>
<section>
<h2>History</h2>
${history(view.history)}
</section>
</main>
</body>
</html>
`.text
}

function history(rows: readonly HistoryRow[] | undefined): SafeHtml {
  if (rows === undefined) return html`<p class="empty">Not recorded: give <code>cachemeAdmin()</code> a <code>model</code> or a <code>sequelize</code>.</p>`
  if (rows.length === 0) return html`<p class="empty">No invalidations yet.</p>`
  return html`<table id="history">
<thead><tr><th>When</th><th>Who</th><th>Pattern</th><th>Tags</th><th class="number">Removed</th></tr></thead>
<tbody>
${rows.map(
  row => html`<tr>
<td class="when"><time datetime="${row.when.toISOString()}">${formatTime(row.when)}</time></td>
<td>${row.who}</td>
<td>${row.pattern === null ? '' : html`<code>${row.pattern}</code>`}</td>
<td>${row.tags.map((tag, index) => html`${index > 0 ? ', ' : ''}<code>${tag}</code>`)}</td>
<td class="number">${row.removed}</td>
</tr>
`,
)}</tbody>
</table>`
}

const count = (value: number | undefined): string => (value === undefined ? '—' : value.toLocaleString('en-US'))

/** `2024-05-01 12:34:56 UTC`: one zone for every reader of the history. */
const formatTime = (when: Date): string => `${when.toISOString().slice(0, 19).replace('T', ' ')} UTC`

/** Only for constants of this file. */
const raw = (text: string): SafeHtml => new SafeHtml(text)
