// The layers of src/ that docs/architecture.md draws: a file imports only from its own layer or
// the layers below it (type imports included), so the drawing and the code cannot drift apart.
import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'chai'

const src = path.join(__dirname, '..', 'src')

/** Bottom to top; a file's layer is the first whose pattern matches its path under src/. */
const LAYERS: readonly (readonly [name: string, pattern: RegExp])[] = [
  ['foundation', /^(errors|option-checks|keys|codec|container|metrics|single-flight|events|recorded-dependencies|slots)\.ts$/],
  ['stores', /^(store|resilience|local)\/|^outbox\/outbox\.ts$/],
  ['runtime', /^config\.ts$/],
  ['operations', /^(invalidation|tags|gc|lease|scope|prometheus|opentelemetry|options)\.ts$/],
  ['hooks', /^(sequelize|outbox)\//],
  ['caches', /^(memoize|decorator)\.ts$|^instance-cache\//],
  ['entry points', /^(index\.ts|express\/|admin\/|nest\/|http\/|cli\/)/],
]

function layerOf(file: string): number {
  const at = LAYERS.findIndex(([, pattern]) => pattern.test(file))
  if (at === -1) throw new Error(`src/${file} is in no layer of test/architecture.test.ts (and docs/architecture.md): place it`)
  return at
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [path.relative(src, full).split(path.sep).join('/')] : []
  })
}

/** The src/ files a file imports (static, dynamic and type imports, re-exports). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(src, file), 'utf8')
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']*)'/g)].map(match => match[1])
  return specifiers.map(specifier => {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier))
    const candidates = [`${base}.ts`, `${base}/index.ts`]
    const found = candidates.find(candidate => fs.existsSync(path.join(src, candidate)))
    if (!found) throw new Error(`src/${file} imports ${specifier}, which is no .ts file under src/`)
    return found
  })
}

describe('architecture', () => {
  it('every import of src/ goes to the same layer or one below', () => {
    const upward: string[] = []
    for (const file of sourceFiles(src)) {
      for (const imported of importsOf(file)) {
        if (layerOf(imported) > layerOf(file)) upward.push(`${file} (${LAYERS[layerOf(file)][0]}) imports ${imported} (${LAYERS[layerOf(imported)][0]})`)
      }
    }
    expect(upward).to.deep.equal([])
  })
})
