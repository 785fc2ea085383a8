/** Markup that is already safe: built by `html`, never from raw input. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' }

/** Text made safe for element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, char => ENTITIES[char])
}

type Interpolation = SafeHtml | string | number | null | undefined | readonly Interpolation[]

/**
 * A template tag that escapes every interpolated value unless it is `SafeHtml` (the result of
 * another `html` template), so that no value can reach the page unescaped by omission.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let text = strings[0]
  values.forEach((value, index) => {
    text += render(value) + strings[index + 1]
  })
  return new SafeHtml(text)
}

function render(value: Interpolation): string {
  if (value === null || value === undefined) return ''
  if (value instanceof SafeHtml) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(value)
}
