// Packs cacheme as npm would publish it, installs the tarball into an empty project without
// sequelize, and compiles and runs a consumer under `strict` with legacy and with TC39 decorators.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'chai'

const root = path.join(__dirname, '..', '..')
const fixture = path.join(__dirname, 'consumer')
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const run = promisify(execFile)

// The children must not inherit this npm run's package context, nor write coverage for npm itself.
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle)_|^npm_config_(local_prefix|prefix|global_prefix)$|^NODE_V8_COVERAGE$|^INIT_CWD$/i.test(name)) continue
    env[name] = value
  }
  return env
}

async function exec(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env: childEnv(), timeout: 120_000, maxBuffer: 32 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`.trim(), { cause: error })
  }
}

/** The version this repository installed, so that npm finds it in its cache. */
const installedVersion = (name: string): string => JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version

describe('the npm package', function () {
  this.timeout(180_000)

  let work: string
  let consumer: string
  let packed: string[]

  before(async function () {
    this.timeout(180_000)
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cacheme-package-'))
    // `npm test` builds first; build here only when the test runs on its own.
    if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) await exec('npm', ['run', 'build'], root)
    // --ignore-scripts: `prepare` would rebuild what was just built.
    const [pack] = JSON.parse(await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as {
      filename: string
      files: { path: string }[]
    }[]
    packed = pack.files.map(file => file.path)

    consumer = path.join(work, 'consumer')
    fs.cpSync(fixture, consumer, { recursive: true })
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'cacheme-consumer', version: '1.0.0', private: true }, null, 2))
    await exec(
      'npm',
      [
        'install',
        path.join(work, pack.filename),
        `@types/node@${installedVersion('@types/node')}`,
        `reflect-metadata@${installedVersion('reflect-metadata')}`,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
      ],
      consumer,
    )
  })

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  it('holds the compiled library, its declarations and Lua scripts, and no sources', () => {
    expect(packed).to.include.members(['package.json', 'dist/index.js', 'dist/index.d.ts'])
    expect(packed.some(file => /^dist\/store\/scripts\/.+\.lua$/.test(file))).to.equal(true, 'Lua scripts')
    expect(packed.filter(file => /^(src|test|tools|examples)\//.test(file) || /(?<!\.d)\.ts$/.test(file))).to.deep.equal([])
  })

  it('packs the file of every entry point, cacheme/instance-cache included', () => {
    const { exports } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
    const targets = Object.values(exports).flatMap(target => (typeof target === 'string' ? [target] : Object.values(target)))
    expect(targets).to.include.members(['./dist/instance-cache/index.js', './dist/instance-cache/index.d.ts'])
    expect(targets.map(target => target.replace(/^\.\//, '')).filter(file => !packed.includes(file))).to.deep.equal([])
  })

  it('installs without sequelize, whose types the declarations do not need', () => {
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'cacheme', 'dist', 'index.d.ts'))).to.equal(true)
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'sequelize'))).to.equal(false)
  })

  for (const mode of ['legacy', 'tc39']) {
    it(`compiles under strict with ${mode === 'legacy' ? 'legacy decorators and reflect-metadata' : 'TC39 decorators'}, and runs`, async () => {
      // The consumer's own @ts-expect-error lines make wrong uses fail this compilation.
      await exec(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], consumer)
      const output = await exec(process.execPath, [path.join('out', mode, `${mode}.js`)], consumer)
      expect(output).to.match(/cacheme package works with (legacy|TC39) decorators/)
    })
  }
})
