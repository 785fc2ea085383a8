import { expect } from 'chai'
import { configureBackend, redisClient } from '../support/backends'
import { cliAt, json, owner, reconfigure, report, seeded } from './support'

describe('cacheme invalidate', () => {
  it('--key: counts one entry on a dry run, then deletes it', async () => {
    const prefix = await seeded()
    const dry = await cliAt(prefix, ['invalidate', '--key', 'Book:1>owner', '--dry-run'])
    expect(dry).to.include({ code: 0, stdout: 'would invalidate 1 entry (key Book:1>owner) (dry run: nothing was removed)\n' })
    expect(await redisClient().hexists(`${prefix}Book:1`, 'owner')).to.equal(1)

    const done = await cliAt(prefix, ['invalidate', '--key', 'Book:1>owner', '--json'])
    expect(done.code).to.equal(0)
    expect(json(done)).to.deep.equal({ target: { key: 'Book:1>owner' }, dryRun: false, count: 1 })
    expect(await redisClient().hexists(`${prefix}Book:1`, 'owner')).to.equal(0)
  })

  it('--key: exits with 1 when the entry is absent', async () => {
    const prefix = await seeded()
    for (const args of [
      ['--key', 'Book:9>owner'],
      ['--key', 'Book:9>owner', '--dry-run'],
    ]) {
      const result = await cliAt(prefix, ['invalidate', ...args])
      expect(result).to.include({ code: 1, stdout: '', stderr: 'cacheme: no entry "Book:9>owner": nothing to invalidate\n' })
    }
  })

  it('--invalid-key: counts the live dependents, then invalidates them (with grace, or without)', async () => {
    const prefix = await seeded()
    const dry = await cliAt(prefix, ['invalidate', '--invalid-key', 'User:7', '--dry-run', '--json'])
    expect(json(dry)).to.deep.equal({ target: { invalidKey: 'User:7' }, dryRun: true, count: 2 })
    expect(await redisClient().scard(`${prefix}User:7:invalid`)).to.equal(2)

    const text = await cliAt(prefix, ['invalidate', '--invalid-key', 'User:7'])
    expect(text).to.include({ code: 0, stdout: 'invalidated 2 entries depending on User:7\n' })
    // With grace, the entries stay as stale copies; --no-grace deletes them outright.
    expect(json(await cliAt(prefix, ['inspect', 'Book:1>owner', '--json']))).to.include({ status: 'stale' })
    const noGrace = await cliAt(prefix, ['invalidate', '--invalid-key', 'User:8', '--no-grace'])
    expect(noGrace.stdout).to.equal('invalidated 1 entry depending on User:8\n')
    expect(await redisClient().hexists(`${prefix}Book:3`, 'owner')).to.equal(0)
  })

  it('--invalid-key: nothing depending on it is not an error', async () => {
    const prefix = await seeded()
    expect(await cliAt(prefix, ['invalidate', '--invalid-key', 'User:99'])).to.include({ code: 0, stdout: 'invalidated 0 entries depending on User:99\n' })
  })

  it('--tag: counts, then invalidates the entries of a tag; an unknown tag exits with 1', async () => {
    const prefix = await seeded()
    const dry = await cliAt(prefix, ['invalidate', '--tag', 'cli.report', '--dry-run'])
    expect(dry).to.include({ code: 0, stdout: 'would invalidate 2 entries tagged cli.report (dry run: nothing was removed)\n' })
    expect(json(await cliAt(prefix, ['keys', 'cli.report', '--json']))).to.deep.equal({ tag: 'cli.report', keys: ['report:2023', 'report:2024'] })

    const done = await cliAt(prefix, ['invalidate', '--tag', 'cli.report', '--json'])
    expect(json(done)).to.deep.equal({ target: { tag: 'cli.report' }, dryRun: false, count: 2 })
    expect(await redisClient().exists(`${prefix}report:2023`, `${prefix}report:2024`)).to.equal(0)

    for (const args of [
      ['--tag', 'nope'],
      ['--tag', 'nope', '--dry-run'],
    ]) {
      const unknown = await cliAt(prefix, ['invalidate', ...args])
      expect(unknown.code).to.equal(1)
      expect(unknown.stderr).to.match(/^cacheme: unknown tag "nope"/)
    }
  })

  it('--pattern: matches inside the prefix only, even a prefix with glob characters', async () => {
    const base = configureBackend('redis')
    const globbed = `${base}[ab]:`
    const plain = `${base}a:`
    for (const prefix of [globbed, plain]) {
      reconfigure(prefix)
      await Promise.all([owner(1, 7), owner(2, 7), report(2024)])
    }

    const dry = await cliAt(globbed, ['invalidate', '--pattern', '*', '--dry-run', '--json'])
    // Entry keys only: the hashes Book:1 and Book:2 and report:2024, not the dependency and tag sets.
    expect(json(dry)).to.deep.equal({ target: { pattern: '*' }, dryRun: true, count: 3 })
    expect(await redisClient().exists(`${globbed}Book:1`)).to.equal(1)

    const done = await cliAt(globbed, ['invalidate', '--pattern', '*'])
    expect(done).to.include({ code: 0, stdout: 'invalidated 3 keys matching *\n' })
    expect(await redisClient().exists(`${globbed}Book:1`, `${globbed}Book:2`, `${globbed}report:2024`)).to.equal(0)
    expect(await redisClient().exists(`${plain}Book:1`, `${plain}Book:2`, `${plain}report:2024`)).to.equal(3)
  })

  it('--pattern: shows progress on a terminal only', async () => {
    const prefix = await seeded()
    const quiet = await cliAt(prefix, ['invalidate', '--pattern', 'report:*', '--dry-run'])
    expect(quiet).to.include({ code: 0, stderr: '' })

    const dry = await cliAt(prefix, ['invalidate', '--pattern', 'report:*', '--dry-run'], { isTTY: true })
    expect(dry.stderr).to.include('\r[########################] 100% 2 keys match report:*')
    expect(dry.stderr.endsWith('\r\x1b[K')).to.equal(true)
    expect(dry.stdout).to.equal('would invalidate 2 keys matching report:* (dry run: nothing was removed)\n')

    const done = await cliAt(prefix, ['invalidate', '--pattern', 'Book:*'], { isTTY: true })
    expect(done.stderr).to.include('3 keys match Book:*')
    expect(done.stderr).to.include('\rdeleting 3 keys matching Book:*...')
    expect(done.stderr.endsWith('\r\x1b[K')).to.equal(true)
    expect(done.stdout).to.equal('invalidated 3 keys matching Book:*\n')

    // Progress is for patterns; other targets print their result only.
    expect((await cliAt(prefix, ['invalidate', '--tag', 'cli.report'], { isTTY: true })).stderr).to.equal('')
  })

  it('takes exactly one target', async () => {
    const prefix = configureBackend('redis')
    const none = await cliAt(prefix, ['invalidate', '--dry-run'])
    expect(none.code).to.equal(2)
    expect(none.stderr).to.include('invalidate needs one of --key, --invalid-key, --tag, --pattern')
    const two = await cliAt(prefix, ['invalidate', '--tag', 'a', '--pattern', '*'])
    expect(two.code).to.equal(2)
    expect(two.stderr).to.include("option '--tag <tag>' cannot be used with option '--pattern <glob>'")
  })
})
