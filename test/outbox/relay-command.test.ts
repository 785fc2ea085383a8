import { expect } from 'chai'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { configureBackend, redisClient, sleep } from '../support/backends'
import { testDatabases, testRedisUrl } from '../support/fixtures'
import { cli, reconfigure, type CliRun } from '../cli/support'
import { openShelf, seedShelf, shelfUrl } from './shelf'
import { shelfSuite } from './shelf-suite'
import { Writer } from './writers'

const RELAY_AFTER = 0.2
const ROOT = join(__dirname, '..', '..')

for (const db of testDatabases()) {
  describe(`cacheme relay on ${db.dialect}`, function () {
    this.timeout(60_000)
    const suite = shelfSuite(db, RELAY_AFTER)
    const relay = (...args: string[]): Promise<CliRun> =>
      cli(['--redis', testRedisUrl(), '--prefix', suite.prefix, 'relay', '--database', suite.url, '--relay-after', String(RELAY_AFTER), ...args])

    it('delivers what a writer killed at its commit left: dependency sets emptied, instance entries deleted, no cascade', async () => {
      await suite.cached(true)
      const dying = await Writer.start({ database: suite.url, redis: testRedisUrl(), prefix: suite.prefix, outbox: true, stop: 'commit' })
      dying.go()
      await dying.reached('commit')
      await dying.kill()
      expect(await suite.outboxRows()).to.equal(3)

      expect(await relay('--once', '--relay-after', '60'), 'younger than --relay-after').to.include({ code: 0, stdout: 'delivered 0 changes; 3 left in cacheme_outbox\n' })
      await sleep(RELAY_AFTER * 1000 + 50)
      expect(await relay('--once')).to.include({ code: 0, stdout: 'delivered 3 changes; 0 left in cacheme_outbox\n', stderr: '' })
      expect(await suite.outboxRows()).to.equal(0)
      expect(await redisClient().exists(`${suite.prefix}drfc_default_shelfbook_1`), 'the instance entry is deleted, not refreshed').to.equal(0)

      // The command ended the configuration it ran with.
      reconfigure(suite.prefix)
      // @cacheme values and the changed rows' instances are read fresh; the owners' instances
      // would be refreshed by the cascade, which needs the application's own relay.
      expect(await suite.staleness()).to.deep.equal({ titles: 0, books: 0, owners: 2 })
    })

    it('prints one JSON document with --json', async () => {
      await suite.cached(true)
      const run = await relay('--once', '--json')
      expect(run.code).to.equal(0)
      expect(JSON.parse(run.stdout)).to.deep.equal({ delivered: 0, left: 0 })
    })
  })
}

describe('cacheme relay as a worker', function () {
  this.timeout(60_000)

  it('delivers every interval until SIGTERM, and exits 0', async () => {
    const url = shelfUrl(testDatabases()[0])
    const shelf = openShelf(url)
    const prefix = configureBackend('redis', { outbox: { sequelize: shelf.sequelize, relayAfter: 0.1 } })
    try {
      await shelf.sequelize.sync({ force: true })
      await seedShelf(shelf)
      await shelf.sequelize.models.cacheme_outbox.create({ model: 'Gone', jobs: JSON.stringify({ dependencies: { invalidKeys: ['Book:1'], grace: true } }), recordedAt: 0 })
      const worker = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', '--redis', testRedisUrl(), '--prefix', prefix, 'relay', '--database', url, '--interval', '0.1'],
        { cwd: ROOT },
      )
      let stdout = ''
      worker.stdout.on('data', chunk => (stdout += chunk))
      const exited = new Promise<number | null>(done => worker.once('exit', done))
      for (let tries = 0; tries < 300 && !stdout.includes('\n'); tries++) await sleep(50)
      expect(stdout).to.equal('delivered 1 change\n')
      worker.kill('SIGTERM')
      expect(await exited).to.equal(0)
      expect(await shelf.sequelize.models.cacheme_outbox.count()).to.equal(0)
    } finally {
      await shelf.sequelize.close()
    }
  })
})

describe('cacheme relay refuses', () => {
  it('to run without a database, and says when the database fails', async () => {
    const saved = process.env.DATABASE_URL
    delete process.env.DATABASE_URL
    try {
      expect(await cli(['--redis', testRedisUrl(), 'relay', '--once'])).to.include({
        code: 2,
        stderr: 'cacheme: relay: needs the application database: --database <url> or $DATABASE_URL\n',
      })
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved
    }
    const unreachable = await cli(['--redis', testRedisUrl(), 'relay', '--once', '--database', 'postgres://cacheme:secret@127.0.0.1:1/app'])
    expect(unreachable.code).to.equal(4)
    expect(unreachable.stderr).to.match(/^cacheme: the database at postgres:\/\/cacheme:\*\*\*@127\.0\.0\.1:1\/app failed: connect ECONNREFUSED/)
    expect(await cli(['--redis', testRedisUrl(), 'relay', '--once', '--database', 'sqlite::memory:', '--relay-after', '0'])).to.include({
      code: 2,
      stderr: 'cacheme: relay: --relay-after must be a number of seconds > 0, got 0\n',
    })
  })
})
