// Node gives an ES module the named exports of a CommonJS file that cjs-module-lexer finds in its
// source: every entry point's are compared here with what require() returns.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** Checks each entry point of cacheme's package.json `exports`, so that a new one is checked too. */
export async function checkNamedExports(): Promise<string[]> {
  const { exports } = require('cacheme/package.json') as { exports: Record<string, unknown> }
  const specifiers = Object.keys(exports)
    .filter(subpath => subpath !== './package.json')
    .map(subpath => (subpath === '.' ? 'cacheme' : `cacheme/${subpath.slice('./'.length)}`))
  for (const specifier of specifiers) {
    const required = Object.keys(require(specifier) as object)
    const imported = Object.keys((await import(specifier)) as object)
    assert.ok(required.length > 0, `${specifier} exports something`)
    assert.deepEqual(
      required.filter(name => !imported.includes(name)),
      [],
      `${specifier}: exports that an ES module cannot import by name`,
    )
  }
  return specifiers
}
