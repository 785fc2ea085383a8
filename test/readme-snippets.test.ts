// Every ```ts block of README.md compiles under strict, with legacy and with standard decorators.
import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'chai'
import ts from 'typescript'

const root = path.join(__dirname, '..')

interface Snippet {
  /** `<section heading> #<position in the section>`, as PRELUDES names it. */
  readonly name: string
  /** The line of README.md the code starts on. */
  readonly line: number
  readonly code: string
}

/** The ```ts blocks of README.md, named by their `##` section and their position in it. */
function readmeSnippets(): Snippet[] {
  const lines = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n')
  const snippets: Snippet[] = []
  let section = ''
  let inSection = 0
  for (let i = 0; i < lines.length; i++) {
    const heading = /^##\s+(.*?)\s*$/.exec(lines[i])
    if (heading) [section, inSection] = [heading[1], 0]
    if (lines[i].trim() !== '```ts') continue
    const end = lines.findIndex((line, j) => j > i && line.trim() === '```')
    snippets.push({ name: `${section} #${++inSection}`, line: i + 2, code: lines.slice(i + 1, end).join('\n') })
    i = end
  }
  return snippets
}

/** The application a snippet is written in: models with the columns the README's examples read. */
const MODELS = `
import { Model } from 'sequelize'
declare class User extends Model { id: number; name: string; get cacheKey(): string }
declare class Chapter extends Model { id: number; title: string; bookId: number }
declare class Book extends Model { id: number; title: string; ownerId: number; publishedAt: Date; chapters: Chapter[] }
`
/** The application's logger and metrics client. */
const LOGGING = `
declare const log: { debug(...data: unknown[]): void; info(...data: unknown[]): void; warn(...data: unknown[]): void }
declare const metrics: { increment(name: string): void }
`
/** The application's own files that snippets import by relative path: sequelize-typescript classes. */
const APP_FILES: Record<string, string> = {
  'book.model.ts': `import { Model } from 'sequelize-typescript'\nexport class Book extends Model {}\n`,
  'models.ts': `import { Model } from 'sequelize-typescript'\nexport class Author extends Model {}\nexport class Reader extends Model {}\n`,
}
/** The Express application, and the user an authentication middleware puts on each request. */
const EXPRESS = `
import type { Express as Application } from 'express'
declare const app: Application
declare global {
  namespace Express {
    interface Request { user?: { role: string; email: string } }
  }
}
`

/**
 * What each snippet assumes from the text around it and from the snippets before it, and nothing
 * more: a snippet that stands alone has an empty prelude.
 */
const PRELUDES: Record<string, string> = {
  'Quick start #1': '',
  'ESM and CommonJS #1': '',
  'Tags and manual invalidation #1': '',
  'Grace #1': `import { Model } from 'sequelize'\nimport { cachemeTags, invalidate } from 'cacheme'`,
  'Request scope #1': '',
  'Guarantees #1': '',
  'Instance cache #1': MODELS,
  'When Redis fails #1': LOGGING,
  'Redis Cluster #1': '',
  'Durable invalidation #1': '',
  'In-process tier #1': '',
  'Metrics #1': LOGGING + EXPRESS,
  'Metrics #2': `import type { MeterProvider } from '@opentelemetry/api'\ndeclare const meterProvider: MeterProvider`,
  'Redis memory and eviction #1': LOGGING,
  'NestJS #1': '',
  'sequelize-typescript #1': '',
  'Invalidation admin #1': EXPRESS + `import type { Sequelize } from 'sequelize'\ndeclare const sequelize: Sequelize`,
  'Invalidation admin #2': `import { defineInvalidationModel } from 'cacheme/admin'\ndeclare const Invalidation: ReturnType<typeof defineInvalidationModel>`,
}

/** The package's entry points, as a consumer imports them, mapped to their sources. */
const ENTRY_POINTS: Record<string, string[]> = {
  cacheme: [path.join(root, 'src', 'index.ts')],
  'cacheme/*': [path.join(root, 'src', '*', 'index.ts')],
}

/** Compiles the snippets, each with its prelude, as modules of one program; returns each one's diagnostics as text. */
function compile(snippets: readonly Snippet[], experimentalDecorators: boolean): Map<string, string[]> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    experimentalDecorators,
    paths: ENTRY_POINTS,
  }
  const files = new Map<string, { snippet: Snippet; text: string; preludeLines: number }>()
  snippets.forEach((snippet, i) => {
    const prelude = PRELUDES[snippet.name]
    // `export {}` makes every snippet a module: its names are its own, and it may await at top level.
    const text = `${prelude}\n${snippet.code}\nexport {}\n`
    files.set(path.join(root, 'test', `readme-snippet-${i + 1}.ts`), { snippet, text, preludeLines: prelude.split('\n').length })
  })
  const appFiles = new Map(Object.entries(APP_FILES).map(([name, text]) => [path.join(root, 'test', name), text]))
  const virtual = (file: string) => files.get(file)?.text ?? appFiles.get(file)
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = file => virtual(file) !== undefined || fileExists.call(host, file)
  host.readFile = file => virtual(file) ?? readFile.call(host, file)
  host.getSourceFile = (file, language, ...rest) => {
    const text = virtual(file)
    return text !== undefined ? ts.createSourceFile(file, text, language) : getSourceFile.call(host, file, language, ...rest)
  }
  const program = ts.createProgram([...files.keys()], options, host)
  const problems = new Map<string, string[]>()
  for (const [file, { snippet, preludeLines }] of files) {
    const source = program.getSourceFile(file)!
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    problems.set(
      snippet.name,
      diagnostics.map(diagnostic => {
        const { line } = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
        const where = line < preludeLines ? 'prelude' : `README.md:${snippet.line + line - preludeLines}`
        return `${where}: TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`
      }),
    )
  }
  return problems
}

const LEGACY_ONLY = new Set(['NestJS #1', 'sequelize-typescript #1'])

describe('README.md snippets', function () {
  // Each program reads the sources and the Node, ioredis, Sequelize and Express declarations.
  this.timeout(120_000)

  const snippets = readmeSnippets()

  it('has a prelude for every snippet, and every prelude has its snippet', () => {
    expect(snippets.map(snippet => snippet.name)).to.have.members(Object.keys(PRELUDES))
  })

  for (const [mode, experimentalDecorators] of [
    ['legacy (experimentalDecorators)', true],
    ['standard (TC39)', false],
  ] as const) {
    it(`compile under strict with ${mode} decorators`, () => {
      // NestJS and sequelize-typescript decorate parameters and properties: legacy decorators only.
      const compiled = experimentalDecorators ? snippets : snippets.filter(snippet => !LEGACY_ONLY.has(snippet.name))
      const problems = compile(compiled, experimentalDecorators)
      expect(
        [...problems].filter(([, found]) => found.length > 0),
        'snippets that do not compile',
      ).to.deep.equal([])
      expect(problems.size).to.equal(compiled.length)
    })
  }
})
