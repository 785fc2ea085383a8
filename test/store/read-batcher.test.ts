import { expect } from 'chai'
import Redis from 'ioredis'
import { cacheme, cachemeSettled, configure } from '../../src'
import { KeyLayout } from '../../src/keys'
import { RedisStore } from '../../src/store/redis-store'
import { commandStats, spyOnCommands as spyOn } from '../support/command-spy'
import { testRedisUrl } from '../support/fixtures'

const delta = (before: Map<string, number>, after: Map<string, number>, name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0)

interface Item {
  id: number
  authorId: number
}

for (const enableAutoPipelining of [false, true])
  describe(`reads batched per turn of the event loop (RedisStore on ${enableAutoPipelining ? 'an auto-pipelining' : 'a default'} ioredis client)`, () => {
    let client: Redis
    let admin: Redis
    let prefix: string

    beforeEach(async () => {
      // Without enableAutoPipelining every command would be a write of its own.
      client = new Redis(testRedisUrl(), { enableAutoPipelining })
      admin = new Redis(testRedisUrl())
      prefix = `rb${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`
      configure({ redis: client, prefix, onError: () => {} })
      await client.ping()
    })

    afterEach(async () => {
      configure({ store: 'memory' })
      const keys = await admin.keys(`${prefix}*`)
      if (keys.length > 0) await admin.del(...keys)
      await Promise.all([client.quit(), admin.quit()])
    })

    class ItemSerializer {
      computed = 0

      @cacheme({ key: c => `Item:${c.item.id}>title`, invalidKeys: c => [`Item:${c.item.id}`] })
      async title(item: Item) {
        this.computed++
        return { title: `title ${item.id}` }
      }

      @cacheme({ key: c => `Item:${c.item.id}>author`, invalidKeys: c => [`Author:${c.item.authorId}`] })
      async author(item: Item) {
        this.computed++
        return { name: `author ${item.authorId}` }
      }
    }

    const serializeList = (serializer: ItemSerializer, items: Item[]) =>
      Promise.all(items.map(async item => ({ id: item.id, title: await serializer.title(item), author: await serializer.author(item) })))

    it('serves a warm list of 100 items with two getters each in 2 round trips', async () => {
      const serializer = new ItemSerializer()
      const items = Array.from({ length: 100 }, (_, i) => ({ id: i, authorId: i % 7 }))
      const cold = await serializeList(serializer, items)
      expect(serializer.computed).to.equal(200)
      await cachemeSettled()

      const spy = spyOn(client)
      const warm = await serializeList(serializer, items)
      spy.restore()
      expect(warm).to.deep.equal(cold)
      expect(serializer.computed).to.equal(200)
      expect(spy.writes()).to.equal(2)
      // Each round trip reads 100 fields and the sequence.
      expect(spy.commands().filter(name => name === 'hget')).to.have.length(200)
    })

    it('reads the fields of one hash asked in one turn with one HMGET, and the sequence once', async () => {
      const read = (field: string) => cacheme({ key: () => `Book:1>${field}` })(async () => field)
      const [owner, chapters, readers] = [read('owner'), read('chapters'), read('readers')]
      await Promise.all([owner(), chapters(), readers()])

      const before = await commandStats(admin)
      expect(await Promise.all([owner(), chapters(), readers()])).to.deep.equal(['owner', 'chapters', 'readers'])
      const after = await commandStats(admin)
      expect(delta(before, after, 'hmget')).to.equal(1)
      expect(delta(before, after, 'hget')).to.equal(0)
      expect(delta(before, after, 'get')).to.equal(1)
    })

    it('costs a miss 2 round trips: the value with the sequence, then the store', async () => {
      let computed = 0
      const read = cacheme({ key: c => `Miss:${c.args[0]}`, invalidKeys: () => ['Dep:1'] })(async (n: number) => ++computed + n)
      await read(0) // loads the store script, so that the measured miss needs no NOSCRIPT retry
      const spy = spyOn(client)
      expect(await read(1)).to.equal(3)
      spy.restore()
      expect(spy.writes()).to.equal(2)
      expect(spy.commands()).to.deep.equal(['get', 'get', 'evalsha'])
    })

    it('fails only the reads of a key holding another kind, and serves the rest of the batch', async () => {
      const store = new RedisStore(client, new KeyLayout(prefix))
      const layout = store.layout
      await admin.set(`${prefix}Clash`, 'a string')
      const seq = (await store.read(layout.entry('Never', 'test'))).seq!
      expect(await store.write({ entry: layout.entry('Book:2>owner', 'test'), value: 'x', ttlMs: 0, sets: [], seq })).to.equal(true)

      const reads = await Promise.allSettled([
        store.read(layout.entry('Clash>field', 'test')),
        store.read(layout.entry('Book:2>owner', 'test')),
        store.read(layout.entry('Absent', 'test')),
      ])
      expect(reads[0].status).to.equal('rejected')
      expect((reads[0] as PromiseRejectedResult).reason.message).to.match(/WRONGTYPE/)
      expect(reads.slice(1).map(read => (read.status === 'fulfilled' ? read.value.value : 'rejected'))).to.deep.equal(['x', undefined])
      expect(reads.slice(1).map(read => (read.status === 'fulfilled' ? read.value.seq : 'rejected'))).to.deep.equal([seq, seq])
    })

    it('sends reads of different turns in different batches', async () => {
      const store = new RedisStore(client, new KeyLayout(prefix))
      const spy = spyOn(client)
      await store.read(store.layout.entry('A', 'test'))
      await store.read(store.layout.entry('B', 'test'))
      await Promise.all([store.read(store.layout.entry('C', 'test')), store.read(store.layout.entry('D', 'test'))])
      spy.restore()
      expect(spy.writes()).to.equal(3)
    })
  })
