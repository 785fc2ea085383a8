import { expect } from 'chai'
import Redis from 'ioredis'
import { KeyLayout } from '../../src/keys'
import { RedisStore } from '../../src/store/redis-store'
import { commandStats } from '../support/command-spy'
import { testRedisUrl } from '../support/fixtures'

describe('the store script of RedisStore', () => {
  let client: Redis
  let store: RedisStore
  let layout: KeyLayout

  beforeEach(async () => {
    client = new Redis(testRedisUrl())
    layout = new KeyLayout(`ws${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`)
    store = new RedisStore(client, layout)
  })

  afterEach(async () => {
    for await (const keys of client.scanStream({ match: `${layout.prefix}*`, count: 1000 }) as AsyncIterable<string[]>) if (keys.length > 0) await client.unlink(...keys)
    await client.quit()
  })

  const entry = (key: string) => layout.entry(key, 'test')

  it('reads every guard and the sequence with one MGET, and stores a first entry with 6 commands', async () => {
    const seq = (await store.read(entry('Warm'))).seq!
    // Once, so that the script is loaded and the measured write is one EVALSHA.
    await store.write({ entry: entry('Warm'), value: 'v', ttlMs: 0, sets: [layout.invalidSet('Warm')], seq })

    const before = await commandStats(client)
    const written = await store.write({ entry: entry('Book:1'), value: 'v', ttlMs: 0, sets: [layout.invalidSet('Book:1'), layout.tagSet('Books')], seq })
    const after = await commandStats(client)
    expect(written).to.equal(true)
    const inside = [...after].filter(([name]) => !name.startsWith('eval') && name !== 'info').map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const)
    // MGET of the sequence and 4 guards, SET, then per new set SCARD and SADD.
    expect(Object.fromEntries(inside.filter(([, calls]) => calls > 0))).to.deep.equal({ mget: 1, set: 1, scard: 2, sadd: 2 })
  })

  it('stores an entry with more dependencies than one Lua unpack() can carry, and refuses it when one of them changed', async () => {
    const sets = Array.from({ length: 9000 }, (_, i) => layout.invalidSet(`Dep:${i}`))
    const seq = (await store.read(entry('Many'))).seq!
    expect(await store.write({ entry: entry('Many'), value: 'v', ttlMs: 0, sets, seq })).to.equal(true)
    expect(await client.sismember(sets[8999], entry('Many').full)).to.equal(1)

    await store.invalidateSets([sets[8998]])
    expect(await store.write({ entry: entry('Many'), value: 'v2', ttlMs: 0, sets, seq })).to.equal(false)
  })
})
