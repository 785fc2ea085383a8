/**
 * Redis glob patterns (as in SCAN MATCH and KEYS) as a regular expression, so the memory store
 * matches exactly the names Redis would: `*` any run, `?` one character, `[abc]`, `[^a]`, `[a-z]`
 * (reversed ranges allowed), `\x` a literal x. The class parser follows Redis's `stringmatchlen`,
 * quirks included: an unterminated `[` takes the rest of the pattern as its class.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = ''
  let i = 0
  while (i < pattern.length) {
    const ch = pattern[i]
    if (ch === '*') {
      source += '.*'
      i++
    } else if (ch === '?') {
      source += '.'
      i++
    } else if (ch === '[') {
      const [cls, next] = charClass(pattern, i + 1)
      source += cls
      i = next
    } else if (ch === '\\' && i + 1 < pattern.length) {
      source += literal(pattern[i + 1])
      i += 2
    } else {
      source += literal(ch)
      i++
    }
  }
  // `s`: Redis matches newlines like any other byte.
  return new RegExp(`^${source}$`, 's')
}

/** Parses a class starting after its `[`; returns the regex class and the index after its `]`. */
function charClass(pattern: string, start: number): [string, number] {
  let i = start
  const negate = pattern[i] === '^'
  if (negate) i++
  let body = ''
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\' && i + 1 < pattern.length) {
      body += literal(pattern[i + 1])
      i += 2
    } else if (i + 2 < pattern.length && pattern[i + 1] === '-') {
      const [low, high] = pattern[i] <= pattern[i + 2] ? [pattern[i], pattern[i + 2]] : [pattern[i + 2], pattern[i]]
      body += `${literal(low)}-${literal(high)}`
      i += 3
    } else {
      body += literal(pattern[i])
      i++
    }
  }
  // An empty class matches no character; negated, it matches any.
  if (body === '') return [negate ? '[\\s\\S]' : '[^\\s\\S]', i + 1]
  return [`[${negate ? '^' : ''}${body}]`, i + 1]
}

function literal(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
}
