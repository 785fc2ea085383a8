// A require hook for TypeScript that keeps each file's transpiled output on disk, keyed by its
// source, the project's tsconfig and the compiler's version: a process started many times over
// (the torture test's writer processes, killed and replaced) then starts in a fraction of the
// time ts-node takes to transpile every file again. Transpiles only, like ts-node's
// transpile-only mode: no type check. Use with `node -r ./tools/transpile-cached.js file.ts`.
const { createHash } = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')

const PROJECT = path.join(__dirname, '..', 'tsconfig.json')
const CACHE = path.join(os.tmpdir(), 'cacheme-transpiled')
const projectText = fs.readFileSync(PROJECT, 'utf8')
const compilerVersion = require('typescript/package.json').version
let compilerOptions

/** The project's compiler options, read once and only when a file must be transpiled. */
function options(ts) {
  if (!compilerOptions) {
    const { config } = ts.readConfigFile(PROJECT, ts.sys.readFile)
    compilerOptions = { ...ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(PROJECT)).options, sourceMap: false, inlineSourceMap: true, declaration: false }
  }
  return compilerOptions
}

function transpiled(source, filename) {
  const hash = createHash('sha256').update(`${compilerVersion}\0${projectText}\0${filename}\0${source}`).digest('hex')
  const cached = path.join(CACHE, `${hash}.js`)
  try {
    return fs.readFileSync(cached, 'utf8')
  } catch {
    // not transpiled yet
  }
  const ts = require('typescript')
  const output = ts.transpileModule(source, { compilerOptions: options(ts), fileName: filename }).outputText
  fs.mkdirSync(CACHE, { recursive: true })
  // Written aside and renamed: processes starting together never read a half-written file.
  const aside = `${cached}.${process.pid}`
  fs.writeFileSync(aside, output)
  fs.renameSync(aside, cached)
  return output
}

require.extensions['.ts'] = (module, filename) => module._compile(transpiled(fs.readFileSync(filename, 'utf8'), filename), filename)
