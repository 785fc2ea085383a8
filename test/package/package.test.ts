// Packs cacheme as npm would publish it and installs the tarball into two projects, each compiled
// under `strict` with legacy and with TC39 decorators, and run: a CommonJS one without sequelize,
// and an ES module one (`"type": "module"`, `module: nodenext`) that imports every entry point.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'chai'
import { testRedisUrl } from '../support/fixtures'

const root = path.join(__dirname, '..', '..')
const fixtures = path.join(__dirname, 'consumer')
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

async function exec(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env: { ...childEnv(), ...env }, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const { stdout, stderr, message } = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`.trim(), { cause: error })
  }
}

/** The version this repository installed, so that npm finds it in its cache. */
const installedVersion = (name: string): string => JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version

/** What each consumer installs beside the tarball: the ES module one is an Express app on Sequelize. */
const CONSUMER_PACKAGES = {
  commonjs: ['@types/node', 'reflect-metadata'],
  esm: ['@types/node', 'reflect-metadata', 'express', '@types/express', 'sequelize', '@nestjs/common', '@nestjs/core', 'rxjs'],
} as const
type Consumer = keyof typeof CONSUMER_PACKAGES

describe('the npm package', function () {
  this.timeout(180_000)

  let work: string
  let packed: string[]
  const consumerDir = (consumer: Consumer) => path.join(work, consumer)

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

    const install = async (consumer: Consumer) => {
      const dir = consumerDir(consumer)
      fs.cpSync(path.join(fixtures, consumer), dir, { recursive: true })
      if (!fs.existsSync(path.join(dir, 'package.json'))) {
        fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `cacheme-${consumer}-consumer`, version: '1.0.0', private: true }, null, 2))
      }
      const packages = CONSUMER_PACKAGES[consumer].map(name => `${name}@${installedVersion(name)}`)
      await exec('npm', ['install', path.join(work, pack.filename), ...packages, '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'], dir)
    }
    await Promise.all((Object.keys(CONSUMER_PACKAGES) as Consumer[]).map(install))
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
    const consumer = consumerDir('commonjs')
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'cacheme', 'dist', 'index.d.ts'))).to.equal(true)
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'sequelize'))).to.equal(false)
  })

  for (const mode of ['legacy', 'tc39']) {
    const decorators = mode === 'legacy' ? 'legacy decorators and reflect-metadata' : 'TC39 decorators'

    it(`compiles under strict with ${decorators}, and runs`, async () => {
      const consumer = consumerDir('commonjs')
      // The consumer's own @ts-expect-error lines make wrong uses fail this compilation.
      await exec(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], consumer)
      const output = await exec(process.execPath, [path.join('out', mode, `${mode}.js`)], consumer)
      expect(output).to.match(/cacheme package works with (legacy|TC39) decorators/)
    })

    it(`imports every entry point by name from an ES module compiled with ${decorators}, and runs on Redis`, async () => {
      const consumer = consumerDir('esm')
      await exec(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`], consumer)
      const output = await exec(process.execPath, [path.join('out', mode, `${mode}.js`)], consumer, { CACHEME_REDIS_URL: testRedisUrl() })
      expect(output).to.match(/cacheme package works from ES modules with (legacy|TC39) decorators \(cacheme, cacheme\/admin, cacheme\/express\b.*\) on Redis/)
    })
  }
})
