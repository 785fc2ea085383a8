// docs/api.md is kept by hand: this keeps it and the exports of every entry point naming the same things.
import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'chai'
import ts from 'typescript'
import * as cacheme from '../src'

const root = path.join(__dirname, '..')
const ROOT_ENTRY = 'cacheme'

/** Each entry point of package.json `exports` (`cacheme`, `cacheme/admin`, ...) and the source it is built from. */
function entryPoints(): Map<string, string> {
  const { exports } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { default?: string }> }
  const entries = new Map<string, string>()
  for (const [subpath, target] of Object.entries(exports)) {
    const built = typeof target === 'string' ? target : target.default
    if (!built?.endsWith('.js')) continue
    const source = path.join(root, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))
    entries.set(subpath === '.' ? ROOT_ENTRY : `${ROOT_ENTRY}/${subpath.replace(/^\.\//, '')}`, source)
  }
  return entries
}

/** Every name each entry point exports, values and types, as the compiler resolves them. */
function exportedNames(entries: Map<string, string>): Map<string, string[]> {
  const program = ts.createProgram([...entries.values()], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
    ignoreDeprecations: '6.0',
  })
  const checker = program.getTypeChecker()
  const names = new Map<string, string[]>()
  for (const [entry, file] of entries) {
    const source = program.getSourceFile(file)
    const module = source && checker.getSymbolAtLocation(source)
    if (!module) throw new Error(`${path.relative(root, file)} (entry point ${entry}) is not a module`)
    names.set(
      entry,
      checker.getExportsOfModule(module).map(symbol => symbol.name),
    )
  }
  return names
}

/**
 * The names docs/api.md documents, one `### \`name\`` heading each, per entry point: a heading
 * belongs to the entry point of the last `## \`cacheme/...\`` heading above it, else to `cacheme`.
 */
function documentedNames(): Map<string, string[]> {
  const names = new Map<string, string[]>()
  let entry = ROOT_ENTRY
  for (const line of fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8').split('\n')) {
    const group = /^##\s+(.*?)\s*$/.exec(line)
    if (group) entry = /^`(cacheme\/[^`]+)`$/.exec(group[1])?.[1] ?? ROOT_ENTRY
    const name = /^###\s+`([^`]+)`\s*$/.exec(line)?.[1]
    if (name) names.set(entry, [...(names.get(entry) ?? []), name])
  }
  return names
}

const flatten = (names: Map<string, string[]>): string[] => [...names].flatMap(([entry, list]) => list.map(name => `${entry}: ${name}`))

describe('docs/api.md', function () {
  // Building the program reads the sources and the Node, ioredis, Sequelize and Express declarations.
  this.timeout(60_000)

  let exported: string[]
  let documented: string[]
  before(() => {
    exported = flatten(exportedNames(entryPoints()))
    documented = flatten(documentedNames())
  })

  it('documents every export of every entry point', () => {
    expect(
      exported.filter(name => !documented.includes(name)),
      'exported but not documented',
    ).to.deep.equal([])
  })

  it('documents nothing that is not exported', () => {
    expect(
      documented.filter(name => !exported.includes(name)),
      'documented but not exported',
    ).to.deep.equal([])
  })

  it('documents each export once', () => {
    expect(documented.filter((name, at) => documented.indexOf(name) !== at)).to.deep.equal([])
  })

  it('agrees with the runtime exports of the package root', () => {
    // The compiler's list adds the type-only exports to the values a require() sees.
    const values = Object.keys(cacheme).map(name => `${ROOT_ENTRY}: ${name}`)
    expect(values.length).to.be.greaterThan(0)
    expect(values.filter(name => !exported.includes(name))).to.deep.equal([])
  })
})
