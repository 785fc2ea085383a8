import { expect } from 'chai'
import { cacheme, invalidate } from '../../src'
import { configureBackend, redisClient, sleep } from '../support/backends'
import { cliAt, json, reconfigure, report, seeded } from './support'

describe('cacheme inspect', () => {
  it('shows a hash field: value, freshness, deadlines, dependency sets and tag', async () => {
    const prefix = await seeded()
    const before = Date.now()
    const doc = json<{ freshUntil: string; redisTtlMs: number }>(await cliAt(prefix, ['inspect', 'Book:1>owner', '--json']))
    expect(doc).to.deep.include({
      key: 'Book:1>owner',
      redisKey: `${prefix}Book:1`,
      field: 'owner',
      status: 'fresh',
      value: { id: 1, userId: 7 },
      graceMs: 30_000,
      dependsOn: ['Book:1', 'User:7'],
      tags: ['cli.owner'],
    })
    expect(Date.parse(doc.freshUntil) - before).to.be.within(50_000, 60_000)
    expect(doc.redisTtlMs).to.be.within(80_000, 90_000)

    const text = await cliAt(prefix, ['inspect', 'Book:1>owner'])
    expect(text.code).to.equal(0)
    expect(text.stdout).to.match(/^redis\s+hash \S+Book:1, field owner$/m)
    expect(text.stdout).to.match(/^status\s+fresh$/m)
    expect(text.stdout).to.match(/^fresh until\s+\S+Z \(in \d+\.\d s\)$/m)
    expect(text.stdout).to.match(/^grace\s+30\.0 s$/m)
    expect(text.stdout).to.match(/^hash ttl\s+\d+\.\d s$/m)
    expect(text.stdout).to.match(/^depends on\s+Book:1, User:7$/m)
    expect(text.stdout).to.match(/^tags\s+cli\.owner$/m)
    expect(text.stdout).to.match(/^value\s+\{\n\s+"id": 1,\n\s+"userId": 7\n\s+\}$/m)
  })

  it('shows a key of its own without ttl, and a cached undefined', async () => {
    const prefix = await seeded()
    expect(json(await cliAt(prefix, ['inspect', 'report:2024', '--json']))).to.deep.equal({
      key: 'report:2024',
      redisKey: `${prefix}report:2024`,
      field: null,
      status: 'fresh',
      value: { year: 2024, total: 20240 },
      freshUntil: null,
      graceMs: 0,
      redisTtlMs: null,
      dependsOn: ['Report'],
      tags: ['cli.report'],
    })
    reconfigure(prefix)
    await report(0)
    const text = await cliAt(prefix, ['inspect', 'report:0'])
    expect(text.stdout).to.match(/^fresh until\s+invalidated \(no ttl\)$/m)
    expect(text.stdout).to.match(/^redis ttl\s+none$/m)
    expect(text.stdout).to.match(/^value\s+undefined$/m)
  })

  it('tells stale within the grace and expired from fresh', async () => {
    const prefix = await seeded()
    await invalidate({ invalidKey: 'User:8' })
    const kept = cacheme({ key: () => 'Shelf:1>kept', tag: 'cli.shelf' })(async () => 'kept')
    const brief = cacheme({ key: () => 'Shelf:1>brief', tag: 'cli.shelf', ttl: 0.05 })(async () => 'brief')
    await kept()
    await brief()
    // The hash keeps `kept` without expiry, so the expired `brief` stays in it.
    await sleep(100)

    expect(json(await cliAt(prefix, ['inspect', 'Book:3>owner', '--json']))).to.include({ status: 'stale' })
    const expired = json(await cliAt(prefix, ['inspect', 'Shelf:1>brief', '--json']))
    expect(expired).to.include({ status: 'expired', redisTtlMs: null })
    expect(expired).not.to.have.property('value')
  })

  it('exits with 1 when the entry is absent, saying what the name holds', async () => {
    const prefix = await seeded()
    const absent = await cliAt(prefix, ['inspect', 'Book:9>owner'])
    expect(absent).to.include({ code: 1, stdout: '', stderr: `cacheme: no entry "Book:9>owner": ${prefix}Book:9 does not exist\n` })
    const field = await cliAt(prefix, ['inspect', 'Book:1>title'])
    expect(field).to.include({ code: 1, stderr: `cacheme: no entry "Book:1>title": hash ${prefix}Book:1 has no field "title"\n` })
    const hash = await cliAt(prefix, ['inspect', 'Book:1'])
    expect(hash).to.include({ code: 1, stderr: `cacheme: no entry "Book:1": ${prefix}Book:1 is a hash of 1 entry; name one as Book:1><field>\n` })
  })

  it('refuses a key the library would refuse, as a usage error', async () => {
    const prefix = configureBackend('redis')
    const result = await cliAt(prefix, ['inspect', 'a>b>c'])
    expect(result.code).to.equal(2)
    expect(result.stderr).to.equal(`cacheme: inspect: key "a>b>c" has more than one '>'\n`)
    expect(await redisClient().exists(`${prefix}a`)).to.equal(0)
  })
})
