import { expect } from 'chai'
import calculateSlot from 'cluster-key-slot'
import { Cluster } from 'ioredis'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Sequelize } from 'sequelize'
import { cachemeSettled, configure, invalidate, shutdown } from '../../src'
import { startRedisCluster, type RedisCluster } from '../../tools/redis-cluster'
import { testRedisUrl } from '../support/fixtures'
import { cli, json, owner, report, type CliRun } from './support'

describe('cacheme on a Redis Cluster', function () {
  this.timeout(60_000)
  let cluster: RedisCluster
  let client: Cluster
  /** One node's URL, as a user would give it. */
  let nodeUrl: string
  let prefixes = 0

  before(async () => {
    cluster = await startRedisCluster()
    const [first] = cluster.startupNodes
    nodeUrl = `redis://${first.host}:${first.port}`
    client = new Cluster([...cluster.startupNodes])
  })

  after(async () => {
    await shutdown({ wait: 0 })
    client.disconnect()
    await cluster.stop()
  })

  /** cacheme configured on the Cluster under a prefix of its own. */
  function configureCluster(options: Parameters<typeof configure>[0] = {}): string {
    const prefix = `cluster${process.pid}_${++prefixes}:`
    // A new prefix's first write waits for the store to create its slot guards: more than the default 250 ms under load.
    configure({ redis: client, prefix, onError: () => {}, timeout: 5, ...options })
    return prefix
  }

  /** Book:1..3>owner (users 7, 7, 8) and report:2023, report:2024, as in the standalone suites. */
  async function seeded(): Promise<string> {
    const prefix = configureCluster()
    await Promise.all([owner(1, 7), owner(2, 7), owner(3, 8), report(2023), report(2024)])
    await cachemeSettled()
    return prefix
  }

  const at = (prefix: string, args: readonly string[], flags: readonly string[] = []): Promise<CliRun> => cli(['--redis', nodeUrl, ...flags, '--prefix', prefix, ...args])

  /** The masters serving the names: a seed spread over several proves the commands walk them all. */
  async function mastersOf(names: readonly string[]): Promise<number> {
    const shards = (await client.cluster('SHARDS')) as unknown[][]
    const ranges = shards.map(shard => (shard[1] as number[]).reduce<[number, number][]>((all, n, i, list) => (i % 2 === 0 ? [...all, [n, list[i + 1]]] : all), []))
    const owners = names.map(name => ranges.findIndex(owned => owned.some(([from, to]) => calculateSlot(name) >= from && calculateSlot(name) <= to)))
    return new Set(owners).size
  }

  it('detects the Cluster from one node and lists the tags and their keys on every master', async () => {
    const prefix = await seeded()
    expect(await mastersOf([`${prefix}Book:1`, `${prefix}Book:2`, `${prefix}Book:3`, `${prefix}report:2023`, `${prefix}report:2024`])).to.be.greaterThan(1)
    expect(json(await at(prefix, ['tags', '--json']))).to.deep.equal({
      prefix,
      tags: [
        { tag: 'cli.owner', members: 3 },
        { tag: 'cli.report', members: 2 },
      ],
    })
    expect(await at(prefix, ['keys', 'cli.owner'])).to.include({ code: 0, stdout: 'Book:1>owner\nBook:2>owner\nBook:3>owner\n' })
    expect(await at(prefix, ['keys', 'cli.report'], ['--cluster'])).to.include({ code: 0, stdout: 'report:2023\nreport:2024\n' })
  })

  it('inspects an entry, finding the sets that list it on every master', async () => {
    const prefix = await seeded()
    const inspected = json(await at(prefix, ['inspect', 'Book:1>owner', '--json']))
    expect(inspected).to.include({ key: 'Book:1>owner', redisKey: `${prefix}Book:1`, field: 'owner', status: 'fresh' })
    expect(inspected.value).to.deep.equal({ id: 1, userId: 7 })
    expect(inspected.dependsOn).to.deep.equal(['Book:1', 'User:7'])
    expect(inspected.tags).to.deep.equal(['cli.owner'])
  })

  it('invalidates by key, invalid key, tag and pattern, counting first on a dry run', async () => {
    const prefix = await seeded()
    expect(json(await at(prefix, ['invalidate', '--key', 'Book:3>owner', '--dry-run', '--json']))).to.include({ count: 1 })
    expect(json(await at(prefix, ['invalidate', '--key', 'Book:3>owner', '--json']))).to.include({ count: 1 })
    expect(json(await at(prefix, ['invalidate', '--invalid-key', 'User:7', '--dry-run', '--json']))).to.include({ count: 2 })
    expect(json(await at(prefix, ['invalidate', '--invalid-key', 'User:7', '--no-grace', '--json']))).to.include({ count: 2 })
    expect(await at(prefix, ['inspect', 'Book:1>owner'])).to.include({ code: 1 })
    expect(json(await at(prefix, ['invalidate', '--pattern', 'report:*', '--dry-run', '--json']))).to.include({ count: 2 })
    expect(json(await at(prefix, ['invalidate', '--pattern', 'report:*', '--json']))).to.include({ count: 2 })
    expect(await at(prefix, ['inspect', 'report:2024'])).to.include({ code: 1 })

    const again = await seeded()
    expect(json(await at(again, ['invalidate', '--tag', 'cli.owner', '--no-grace', '--json']))).to.include({ count: 3 })
    // Emptied, the tag's set is gone, as on one Redis: the tag is unknown now.
    const emptied = await at(again, ['keys', 'cli.owner'])
    expect(emptied).to.include({ code: 1, stdout: '' })
    expect(emptied.stderr).to.match(/^cacheme: unknown tag "cli\.owner"/)
  })

  it('sums the statistics hashes of every master', async () => {
    const prefix = configureCluster()
    const tags = ['stats.a', 'stats.b', 'stats.c', 'stats.d', 'stats.e', 'stats.f']
    await Promise.all(tags.map(tag => client.hset(`${prefix}__stats:${tag}`, { hits: 3, misses: 1, stores: 1 })))
    expect(await mastersOf(tags.map(tag => `${prefix}__stats:${tag}`))).to.be.greaterThan(1)
    const { tags: rows } = json<{ tags: { tag: string; hits: number; hitRate: number }[] }>(await at(prefix, ['stats', '--json']))
    expect(rows.filter(row => tags.includes(row.tag)).map(({ tag, hits, hitRate }) => ({ tag, hits, hitRate }))).to.deep.equal(tags.map(tag => ({ tag, hits: 3, hitRate: 0.75 })))
  })

  it('runs gc() over every master', async () => {
    const prefix = await seeded()
    // A pattern deletes the entry and leaves its members in the sets: Book:1's set, User:7's and the tag's.
    await invalidate({ pattern: 'Book:1' })
    expect(await at(prefix, ['gc'])).to.include({ code: 0, stdout: 'examined 8 sets; removed 3 dead members and 0 expired hash fields\n' })
    expect(json(await at(prefix, ['gc', '--json']))).to.deep.equal({ sets: 7, membersRemoved: 0, fieldsRemoved: 0 })
  })

  it('relays what the outbox holds onto the Cluster', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cacheme-cluster-relay-'))
    const database = `sqlite:${path.join(directory, 'app.sqlite')}`
    const sequelize = new Sequelize({ dialect: 'sqlite', storage: path.join(directory, 'app.sqlite'), logging: false })
    try {
      const prefix = configureCluster({ outbox: { sequelize, relayAfter: 0.1 } })
      await sequelize.sync()
      await Promise.all([owner(1, 7), owner(2, 7), owner(3, 8)])
      await sequelize.models.cacheme_outbox.create({ model: 'Gone', jobs: JSON.stringify({ dependencies: { invalidKeys: ['User:7'], grace: false } }), recordedAt: 0 })
      const relayed = await at(prefix, ['relay', '--once', '--database', database, '--relay-after', '0.1'])
      expect(relayed, relayed.stderr).to.include({ code: 0, stdout: 'delivered 1 change; 0 left in cacheme_outbox\n' })
      expect(await at(prefix, ['inspect', 'Book:2>owner'])).to.include({ code: 1 })
      expect(await at(prefix, ['inspect', 'Book:3>owner'])).to.include({ code: 0 })
    } finally {
      await sequelize.close()
      fs.rmSync(directory, { recursive: true, force: true })
    }
  })

  it('refuses --cluster on a Redis that is not part of a Cluster', async () => {
    const result = await cli(['--redis', testRedisUrl(), '--cluster', 'tags'])
    expect(result.code).to.equal(3)
    expect(result.stderr).to.match(/^cacheme: cannot reach the Redis Cluster at redis:\/\/127\.0\.0\.1:\d+: Failed to refresh slots cache\. \(.*cluster support disabled\)\n$/)
  })
})
