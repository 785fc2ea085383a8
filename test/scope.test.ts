import { expect } from 'chai'
import { cacheme, cachemeScope, invalidate } from '../src'
import { configureBackend, redisClient } from './support/backends'
import { spyOnCommands } from './support/command-spy'

describe('cachemeScope (a request scope, on the Redis store)', () => {
  let rows: Map<number, { title: string; tags: string[] }>
  let computed: number
  let readPost: (id: number) => Promise<{ title: string; tags: string[] }>

  beforeEach(async () => {
    configureBackend('redis')
    rows = new Map([
      [1, { title: 'first', tags: ['a'] }],
      [2, { title: 'second', tags: ['b'] }],
    ])
    computed = 0
    readPost = cacheme({ key: c => `Post:${c.args[0]}>body`, invalidKeys: c => [`Post:${c.args[0]}`] })(async (id: number) => {
      computed++
      return structuredClone(rows.get(id)!)
    })
    await redisClient().ping()
  })

  /** Runs `fn` while counting the commands cacheme sends to Redis. */
  async function counting<T>(fn: () => Promise<T>): Promise<{ value: T; commands: string[] }> {
    const spy = spyOnCommands(redisClient())
    try {
      const value = await fn()
      return { value, commands: spy.commands() }
    } finally {
      spy.restore()
    }
  }

  it('answers a repeated call of one key from memory, without Redis', async () => {
    await readPost(1) // cached in Redis
    const { value, commands } = await counting(() =>
      cachemeScope(async () => {
        const first = await readPost(1)
        const again = await readPost(1)
        return [first, again]
      }),
    )
    expect(value).to.deep.equal([rows.get(1), rows.get(1)])
    expect(commands.filter(name => name === 'hget')).to.have.length(1)
  })

  it('reads Redis for every call outside a scope', async () => {
    await readPost(1)
    const { commands } = await counting(async () => [await readPost(1), await readPost(1)])
    expect(commands.filter(name => name === 'hget')).to.have.length(2)
  })

  it('lets concurrent calls of one key wait for the first, and computes a cold key once', async () => {
    const { value, commands } = await counting(() => cachemeScope(() => Promise.all([readPost(2), readPost(2), readPost(2)])))
    expect(value).to.deep.equal([rows.get(2), rows.get(2), rows.get(2)])
    expect(computed).to.equal(1)
    expect(commands.filter(name => name === 'hget')).to.have.length(1)
  })

  it('gives each caller its own copy: a caller that mutates its result changes nothing for the next', async () => {
    await cachemeScope(async () => {
      const computedOne = await readPost(1) // a miss: computed, then kept
      computedOne.title = 'changed by a caller'
      computedOne.tags.push('x')
      const second = await readPost(1)
      expect(second).to.deep.equal({ title: 'first', tags: ['a'] })
      second.tags.push('y')
      expect(await readPost(1)).to.deep.equal({ title: 'first', tags: ['a'] })
    })
    await cachemeScope(async () => {
      const hit = await readPost(1) // from Redis
      hit.tags.length = 0
      expect(await readPost(1)).to.deep.equal({ title: 'first', tags: ['a'] })
    })
  })

  it('drops what it holds when an invalidation is made inside it', async () => {
    await cachemeScope(async () => {
      expect((await readPost(1)).title).to.equal('first')
      rows.set(1, { title: 'renamed', tags: [] })
      await invalidate({ invalidKey: 'Post:1' })
      expect((await readPost(1)).title).to.equal('renamed')
    })
    expect(computed).to.equal(2)
  })

  it('does not hand a waiting caller a value computed before an invalidation made meanwhile', async () => {
    await readPost(1)
    await cachemeScope(async () => {
      const first = readPost(1)
      const waiting = readPost(1)
      // The reads of this turn leave on the next tick: the change comes after them.
      await new Promise(resolve => process.nextTick(resolve))
      rows.set(1, { title: 'renamed', tags: [] })
      await invalidate({ invalidKey: 'Post:1' })
      expect((await first).title).to.equal('first') // read before the change
      expect((await waiting).title).to.equal('renamed')
    })
  })

  it('keeps scopes apart: each request has its own', async () => {
    await readPost(1)
    const request = () => cachemeScope(async () => [await readPost(1), await readPost(1)])
    const { commands } = await counting(async () => [await request(), await request()])
    expect(commands.filter(name => name === 'hget')).to.have.length(2)
  })

  it('shares the scope it is called in', async () => {
    await readPost(1)
    const { commands } = await counting(() => cachemeScope(async () => [await readPost(1), await cachemeScope(() => readPost(1))]))
    expect(commands.filter(name => name === 'hget')).to.have.length(1)
  })

  it('keeps nothing from a call that failed: the next one runs again', async () => {
    let fail = true
    const flaky = cacheme({ key: () => 'Flaky' })(async () => {
      computed++
      if (fail) throw new Error('down')
      return 'up'
    })
    await cachemeScope(async () => {
      let error: unknown
      await flaky().catch(caught => (error = caught))
      expect((error as Error).message).to.equal('down')
      fail = false
      expect(await flaky()).to.equal('up')
    })
    expect(computed).to.equal(2)
  })
})
