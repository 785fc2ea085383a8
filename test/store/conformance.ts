import { expect } from 'chai'
import { CachemeError } from '../../src/errors'
import { KeyLayout, type EntryRef } from '../../src/keys'
import { LAZY_PRUNE_MIN_SIZE, LAZY_PRUNE_SAMPLE, type Store } from '../../src/store/store'

const SHORT_TTL_MS = 150
const PAST_SHORT_TTL_MS = 250

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

const randomId = () => Math.random().toString(36).slice(2, 10)

const range = (count: number) => Array.from({ length: count }, (_, i) => i)

interface PutOptions {
  ttlMs?: number
  graceMs?: number
  sets?: string[]
}

/**
 * The behaviour every Store must have, checked through the interface only. A backend passes when
 * `create` returns a store for the layout it is given; `cleanup` runs once after the suite.
 */
export function storeConformance(name: string, create: (layout: KeyLayout) => Promise<Store>, cleanup?: () => Promise<void>): void {
  describe(`Store conformance: ${name}`, () => {
    let layout: KeyLayout
    let store: Store
    const opened: Store[] = []

    async function open(prefix: string): Promise<Store> {
      const created = await create(new KeyLayout(prefix))
      opened.push(created)
      return created
    }

    const entry = (key: string, on: Store = store): EntryRef => on.layout.entry(key, 'conformance')
    const dep = (invalidKey: string) => layout.invalidSet(invalidKey)

    /** The sequence now, as a miss returns it before a computation (a fresh hit need not). */
    async function sequence(on: Store = store): Promise<number> {
      const { seq } = await on.read(entry('conformance:never-written', on))
      expect(seq).to.be.a('number')
      return seq!
    }

    /** Takes the sequence, then writes with it, as the cache does around a computation. */
    async function put(key: string, value: string, { ttlMs = 0, graceMs = 0, sets = [] }: PutOptions = {}, on: Store = store) {
      const seq = await sequence(on)
      expect(await on.write({ entry: entry(key, on), value, ttlMs, graceMs, sets, seq }), `write ${key}`).to.equal(true)
    }

    const get = async (key: string, on: Store = store) => (await on.read(entry(key, on))).value
    const members = async (set: string) => (await store.liveMembers(set)).sort()
    const fulls = (...keys: string[]) => keys.map(key => entry(key).full).sort()

    beforeEach(async () => {
      store = await open(`t${randomId()}:`)
      layout = store.layout
    })

    afterEach(async () => {
      await Promise.all(opened.splice(0).map(each => each.close()))
    })

    if (cleanup) after(cleanup)

    describe('read and write', () => {
      it('misses an absent own key and an absent hash field', async () => {
        expect(await get('Book:1')).to.equal(undefined)
        expect(await get('Book:1>owner')).to.equal(undefined)
        expect((await store.read(entry('Book:1'))).seq).to.be.a('number')
      })

      it('reads back a value stored under its own key', async () => {
        await put('Book:1', '{"id":1}')
        expect(await get('Book:1')).to.equal('{"id":1}')
      })

      it('reads back hash fields independently of their siblings', async () => {
        await put('Book:1>owner', '"ann"')
        await put('Book:1>title', '"Dune"')
        expect(await get('Book:1>owner')).to.equal('"ann"')
        expect(await get('Book:1>title')).to.equal('"Dune"')
        expect(await get('Book:1>readers')).to.equal(undefined)
        expect(await get('Book:2>owner')).to.equal(undefined)
      })

      it("round-trips '', 'null' and '[]' as hits", async () => {
        for (const value of ['', 'null', '[]']) {
          await put(`Own:${value}`, value)
          await put(`Hash>${value || 'empty'}`, value)
          expect(await get(`Own:${value}`)).to.equal(value)
          expect(await get(`Hash>${value || 'empty'}`)).to.equal(value)
        }
      })

      it('overwrites a stored value', async () => {
        await put('Book:1', 'old')
        await put('Book:1', 'new')
        expect(await get('Book:1')).to.equal('new')
      })
    })

    describe('expiry', () => {
      it('expires an own key after its ttl', async () => {
        await put('Book:1', 'short', { ttlMs: SHORT_TTL_MS })
        await put('Book:2', 'forever')
        expect(await get('Book:1')).to.equal('short')
        await sleep(PAST_SHORT_TTL_MS)
        expect(await get('Book:1')).to.equal(undefined)
        expect(await get('Book:2')).to.equal('forever')
      })

      it('expires one hash field while a sibling without ttl survives', async () => {
        await put('Book:1>owner', 'short', { ttlMs: SHORT_TTL_MS })
        await put('Book:1>title', 'forever')
        await sleep(PAST_SHORT_TTL_MS)
        expect(await get('Book:1>owner')).to.equal(undefined)
        expect(await get('Book:1>title')).to.equal('forever')
      })

      it('keeps a hash as long as its longest-lived field, whichever was written last', async () => {
        await put('Early>long', 'kept', { ttlMs: 5_000 })
        await put('Early>short', 'gone', { ttlMs: SHORT_TTL_MS })
        await put('Late>short', 'gone', { ttlMs: SHORT_TTL_MS })
        await put('Late>long', 'kept', { ttlMs: 5_000 })
        await sleep(PAST_SHORT_TTL_MS)
        expect(await get('Early>long')).to.equal('kept')
        expect(await get('Early>short')).to.equal(undefined)
        expect(await get('Late>long')).to.equal('kept')
      })

      it('keeps a set as long as its longest-lived member, so invalidation still finds it', async () => {
        const timed = dep('timed')
        const persistent = dep('persistent')
        await put('Long', 'v', { ttlMs: 5_000, sets: [timed] })
        await put('Short:1', 'v', { ttlMs: SHORT_TTL_MS, sets: [timed] })
        await put('Forever', 'v', { sets: [persistent] })
        await put('Short:2', 'v', { ttlMs: SHORT_TTL_MS, sets: [persistent] })
        await sleep(PAST_SHORT_TTL_MS)

        expect(await store.invalidateSets([timed])).to.equal(1)
        expect(await store.invalidateSets([persistent])).to.equal(1)
        expect(await get('Long')).to.equal(undefined)
        expect(await get('Forever')).to.equal(undefined)
      })
    })

    describe('invalidateSets', () => {
      it('lists a written entry in every set, and deletes exactly the entries of the sets invalidated', async () => {
        const [a, b, c] = [dep('a'), dep('b'), layout.tagSet('tag')]
        await put('One', '1', { sets: [a, b] })
        await put('Two>field', '2', { sets: [a] })
        await put('Three', '3', { sets: [b, c] })
        await put('Four', '4', { sets: [c] })
        await put('Free', '5')
        expect(await members(a)).to.deep.equal(fulls('One', 'Two>field'))
        expect(await members(b)).to.deep.equal(fulls('One', 'Three'))

        expect(await store.invalidateSets([a])).to.equal(2)
        expect(await get('One')).to.equal(undefined)
        expect(await get('Two>field')).to.equal(undefined)
        expect(await get('Three')).to.equal('3')
        expect(await get('Four')).to.equal('4')
        expect(await get('Free')).to.equal('5')
        expect(await members(a)).to.deep.equal([])

        expect(await store.invalidateSets([b, c])).to.equal(2)
        expect(await get('Three')).to.equal(undefined)
        expect(await get('Four')).to.equal(undefined)
        expect(await get('Free')).to.equal('5')
      })

      it('deletes a hash field without touching its siblings', async () => {
        await put('Book:1>owner', 'ann', { sets: [dep('User:1')] })
        await put('Book:1>title', 'Dune', { sets: [dep('Book:1')] })
        expect(await store.invalidateSets([dep('User:1')])).to.equal(1)
        expect(await get('Book:1>owner')).to.equal(undefined)
        expect(await get('Book:1>title')).to.equal('Dune')
      })

      it('refuses a first compute whose set was invalidated while it ran, though the set never existed', async () => {
        const seq = await sequence()
        expect(await store.invalidateSets([dep('User:1')])).to.equal(0)
        const written = await store.write({ entry: entry('Book:1>owner'), value: 'stale', ttlMs: 0, sets: [dep('User:1')], seq })
        expect(written).to.equal(false)
        expect(await get('Book:1>owner')).to.equal(undefined)
        expect(await members(dep('User:1'))).to.deep.equal([])
      })

      it('accepts a write whose sequence was read after the invalidation', async () => {
        await store.invalidateSets([dep('User:1')])
        await put('Book:1>owner', 'fresh', { sets: [dep('User:1')] })
        expect(await get('Book:1>owner')).to.equal('fresh')
        expect(await members(dep('User:1'))).to.deep.equal(fulls('Book:1>owner'))
      })

      it('refuses an older write only when one of its own sets was invalidated', async () => {
        const seq = await sequence()
        await store.invalidateSets([dep('Other')])
        expect(await store.write({ entry: entry('Book:1'), value: 'v', ttlMs: 0, sets: [dep('Mine')], seq })).to.equal(true)
        expect(await store.write({ entry: entry('Book:2'), value: 'v', ttlMs: 0, sets: [dep('Mine'), dep('Other')], seq })).to.equal(false)
        expect(await get('Book:1')).to.equal('v')
        expect(await get('Book:2')).to.equal(undefined)
      })

      it('leaves no entry stored but unlisted when entries are added while the set is emptied', async () => {
        const set = dep('busy')
        const initial = 1_200
        const seq = await sequence()
        await Promise.all(Array.from({ length: initial }, (_, i) => store.write({ entry: entry(`Old:${i}`), value: 'v', ttlMs: 0, sets: [set], seq })))

        const written: string[] = []
        const writer = async (w: number) => {
          for (let i = 0; i < 25; i++) {
            const key = `New:${w}:${i}`
            const current = await sequence()
            if (await store.write({ entry: entry(key), value: 'v', ttlMs: 0, sets: [set], seq: current })) written.push(key)
          }
        }
        const [deleted] = await Promise.all([store.invalidateSets([set]), ...Array.from({ length: 8 }, (_, w) => writer(w))])

        expect(deleted).to.be.at.least(initial)
        const listed = new Set(await store.liveMembers(set))
        for (const key of written) {
          if ((await get(key)) !== undefined) expect(listed.has(entry(key).full), `${key} is stored but not listed`).to.equal(true)
        }
        await store.invalidateSets([set])
        for (const key of written) expect(await get(key), key).to.equal(undefined)
      })

      it('empties a set larger than one batch', async () => {
        const set = dep('large')
        const count = 3_000
        const keys = Array.from({ length: count }, (_, i) => (i % 2 ? `Own:${i}` : `Hash:${i % 7}>f${i}`))
        const seq = await sequence()
        await Promise.all(keys.map(key => store.write({ entry: entry(key), value: 'v', ttlMs: 0, sets: [set], seq })))
        expect(await store.liveMembers(set)).to.have.length(count)

        expect(await store.invalidateSets([set])).to.equal(count)
        expect(await store.liveMembers(set)).to.deep.equal([])
        const values = await Promise.all(keys.map(key => get(key)))
        expect(values.filter(value => value !== undefined)).to.deep.equal([])
      })
    })

    describe('grace', () => {
      const state = async (key: string) => {
        const { value, stale } = await store.read(entry(key))
        return value === undefined ? 'missing' : stale ? `stale ${value}` : `fresh ${value}`
      }

      it('serves a value past its ttl as stale for its grace, then not at all', async () => {
        await put('Book:1>owner', '"ann"', { ttlMs: SHORT_TTL_MS, graceMs: 2 * SHORT_TTL_MS })
        await put('Book:2', '"bob"', { ttlMs: SHORT_TTL_MS, graceMs: 2 * SHORT_TTL_MS })
        expect([await state('Book:1>owner'), await state('Book:2')]).to.deep.equal(['fresh "ann"', 'fresh "bob"'])
        await sleep(PAST_SHORT_TTL_MS)
        expect([await state('Book:1>owner'), await state('Book:2')]).to.deep.equal(['stale "ann"', 'stale "bob"'])
        await sleep(2 * SHORT_TTL_MS)
        expect([await state('Book:1>owner'), await state('Book:2')]).to.deep.equal(['missing', 'missing'])
      })

      it('keeps an invalidated entry with grace stale for its grace, and deletes one without', async () => {
        const sets = [dep('User:1')]
        await put('Book:1>owner', '"ann"', { graceMs: 2 * SHORT_TTL_MS, sets })
        await put('Book:2', '"bob"', { graceMs: 2 * SHORT_TTL_MS, sets })
        await put('Book:3', '"cyd"', { sets })
        expect(await store.invalidateSets(sets)).to.equal(3)
        expect([await state('Book:1>owner'), await state('Book:2'), await state('Book:3')]).to.deep.equal(['stale "ann"', 'stale "bob"', 'missing'])
        expect(await members(sets[0])).to.deep.equal([])
        await sleep(3 * SHORT_TTL_MS)
        expect([await state('Book:1>owner'), await state('Book:2')]).to.deep.equal(['missing', 'missing'])
      })

      it('deletes entries with grace when the invalidation forbids it', async () => {
        const sets = [dep('User:1')]
        await put('Book:1>owner', '"ann"', { graceMs: 10_000, sets })
        await put('Book:2', '"bob"', { graceMs: 10_000, sets })
        expect(await store.invalidateSets(sets, { grace: false })).to.equal(2)
        expect([await state('Book:1>owner'), await state('Book:2')]).to.deep.equal(['missing', 'missing'])
      })

      it('does not extend the grace of an entry already stale', async () => {
        const sets = [dep('User:1')]
        await put('Book:1', '"ann"', { ttlMs: SHORT_TTL_MS, graceMs: 2 * SHORT_TTL_MS, sets })
        await sleep(PAST_SHORT_TTL_MS)
        await store.invalidateSets(sets)
        await sleep(2 * SHORT_TTL_MS)
        expect(await state('Book:1')).to.equal('missing')
      })

      it('replaces a stale value by a fresh write', async () => {
        await put('Book:1', '"old"', { graceMs: 10_000, sets: [dep('User:1')] })
        await store.invalidateSets([dep('User:1')])
        await put('Book:1', '"new"', { graceMs: 10_000, sets: [dep('User:1')] })
        expect(await state('Book:1')).to.equal('fresh "new"')
      })
    })

    describe('leases', () => {
      it('gives a lease to one holder at a time, back only with its token, and lets it expire', async () => {
        const name = layout.lease(entry('Book:1>owner'))
        const token = await store.acquireLease(name, SHORT_TTL_MS)
        expect(token).to.be.a('string')
        expect(await store.acquireLease(name, SHORT_TTL_MS)).to.equal(undefined)
        await store.releaseLease(name, 'not-the-token')
        expect(await store.acquireLease(name, SHORT_TTL_MS)).to.equal(undefined)
        await store.releaseLease(name, token!)
        const next = await store.acquireLease(name, SHORT_TTL_MS)
        expect(next).to.be.a('string').and.not.equal(token)
        await sleep(PAST_SHORT_TTL_MS)
        expect(await store.acquireLease(name, SHORT_TTL_MS)).to.be.a('string')
      })
    })

    describe('deleteEntries', () => {
      it('deletes the entries and refuses older writes to them, but not to others', async () => {
        await put('Book:1', 'v')
        await put('Book:2>owner', 'ann')
        await put('Book:2>title', 'Dune')
        const seq = await sequence()

        expect(await store.deleteEntries([entry('Book:1'), entry('Book:2>owner'), entry('Absent')])).to.equal(2)
        expect(await get('Book:1')).to.equal(undefined)
        expect(await get('Book:2>owner')).to.equal(undefined)
        expect(await get('Book:2>title')).to.equal('Dune')

        expect(await store.write({ entry: entry('Book:1'), value: 'stale', ttlMs: 0, sets: [], seq })).to.equal(false)
        expect(await store.write({ entry: entry('Book:2>owner'), value: 'stale', ttlMs: 0, sets: [], seq })).to.equal(false)
        expect(await store.write({ entry: entry('Book:3'), value: 'v', ttlMs: 0, sets: [], seq })).to.equal(true)
        expect(await get('Book:1')).to.equal(undefined)
        await put('Book:1', 'fresh')
        expect(await get('Book:1')).to.equal('fresh')
      })
    })

    describe('deleteMatching', () => {
      it('deletes the entries matching a glob, counting a hash as one key', async () => {
        await put('Book:1', 'v')
        await put('Book:2', 'v')
        await put('Book:3>owner', 'v')
        await put('Book:3>title', 'v')
        await put('User:1', 'v')
        expect(await store.deleteMatching('Book:*')).to.equal(3)
        for (const key of ['Book:1', 'Book:2', 'Book:3>owner', 'Book:3>title']) expect(await get(key), key).to.equal(undefined)
        expect(await get('User:1')).to.equal('v')
      })

      it('stays inside the prefix', async () => {
        const other = await open(`t${randomId()}:`)
        await put('Book:1', 'mine')
        await put('Old:Book:1', 'mine')
        await put('Book:1', 'other', {}, other)
        expect(await store.deleteMatching('*Book:1')).to.equal(2)
        expect(await get('Book:1')).to.equal(undefined)
        expect(await get('Old:Book:1')).to.equal(undefined)
        expect(await get('Book:1', other)).to.equal('other')
      })

      it('escapes glob characters in the prefix', async () => {
        const id = randomId()
        const bracketed = await open(`t[1]${id}*:`)
        const lookalike = await open(`t1${id}x:`)
        await put('Book:1', 'bracketed', {}, bracketed)
        await put('Book:1', 'lookalike', {}, lookalike)
        expect(await bracketed.deleteMatching('Book:*')).to.equal(1)
        expect(await get('Book:1', bracketed)).to.equal(undefined)
        expect(await get('Book:1', lookalike)).to.equal('lookalike')
      })

      it('never deletes dependency sets, tag sets or bookkeeping', async () => {
        const tag = layout.tagSet('books')
        await put('Book:1', 'v', { sets: [dep('User:1'), tag] })
        const seq = await sequence()
        await store.invalidateSets([dep('User:2')])

        expect(await store.deleteMatching('*:invalid')).to.equal(0)
        expect(await store.deleteMatching('__*')).to.equal(0)
        expect(await store.deleteMatching('*invalid*')).to.equal(0)

        // Guards survive: the write that read its sequence before invalidating User:2 is still refused.
        expect(await store.write({ entry: entry('Book:2'), value: 'stale', ttlMs: 0, sets: [dep('User:2')], seq })).to.equal(false)
        expect(await members(tag)).to.deep.equal(fulls('Book:1'))
        expect(await store.invalidateSets([dep('User:1')])).to.equal(1)
        expect(await get('Book:1')).to.equal(undefined)
      })

      it('refuses writes that read their sequence before it, whatever their key', async () => {
        const seq = await sequence()
        await store.deleteMatching('Book:*')
        expect(await store.write({ entry: entry('Author:1'), value: 'stale', ttlMs: 0, sets: [], seq })).to.equal(false)
        expect(await get('Author:1')).to.equal(undefined)
        await put('Author:1', 'fresh')
        expect(await get('Author:1')).to.equal('fresh')
      })

      it('supports ?, [...] classes, negation, ranges and escapes', async () => {
        const keys = ['K:1', 'K:2', 'K:a', 'K:b', 'K:x', 'K:10', 'K:*', 'K:?']
        const remaining = async () => {
          const left: string[] = []
          for (const key of keys) if ((await get(key)) !== undefined) left.push(key)
          return left
        }
        for (const key of keys) await put(key, 'v')

        expect(await store.deleteMatching('K:\\*')).to.equal(1)
        expect(await remaining()).to.deep.equal(['K:1', 'K:2', 'K:a', 'K:b', 'K:x', 'K:10', 'K:?'])
        expect(await store.deleteMatching('K:[ab]')).to.equal(2)
        expect(await remaining()).to.deep.equal(['K:1', 'K:2', 'K:x', 'K:10', 'K:?'])
        expect(await store.deleteMatching('K:[^0-9]')).to.equal(2)
        expect(await remaining()).to.deep.equal(['K:1', 'K:2', 'K:10'])
        expect(await store.deleteMatching('K:[2-1]')).to.equal(2)
        expect(await remaining()).to.deep.equal(['K:10'])
        expect(await store.deleteMatching('K:?')).to.equal(0)
        expect(await store.deleteMatching('K:??')).to.equal(1)
        expect(await remaining()).to.deep.equal([])
      })
    })

    describe('liveMembers', () => {
      it('returns only stored, unexpired members and prunes the others', async () => {
        const set = dep('User:1')
        await put('Kept', 'v', { sets: [set] })
        await put('Hash>kept', 'v', { sets: [set] })
        await put('Expired', 'v', { ttlMs: SHORT_TTL_MS, sets: [set] })
        await put('Hash>expired', 'v', { ttlMs: SHORT_TTL_MS, sets: [set] })
        await put('Deleted', 'v', { sets: [set] })
        await store.deleteEntries([entry('Deleted')])
        await sleep(PAST_SHORT_TTL_MS)

        expect(await members(set)).to.deep.equal(fulls('Kept', 'Hash>kept'))

        // Pruned members are forgotten: stored again without the set, invalidating it leaves them.
        await put('Expired', 'again')
        await put('Deleted', 'again')
        expect(await store.invalidateSets([set])).to.equal(2)
        expect(await get('Expired')).to.equal('again')
        expect(await get('Deleted')).to.equal('again')
        expect(await get('Kept')).to.equal(undefined)
      })

      it('returns nothing for a set that does not exist', async () => {
        expect(await store.liveMembers(dep('nothing'))).to.deep.equal([])
      })
    })

    describe('gc', () => {
      const nothingLeft = (sets: number) => ({ sets, membersRemoved: 0, fieldsRemoved: 0 })

      it('removes members of expired and deleted entries from dependency and tag sets, keeping live ones', async () => {
        const [set, tag] = [dep('User:1'), layout.tagSet('books')]
        await put('Kept', 'v', { sets: [set, tag] })
        await put('Hash>kept', 'v', { sets: [set] })
        await put('Expired', 'v', { ttlMs: SHORT_TTL_MS, sets: [set, tag] })
        await put('Hash>expired', 'v', { ttlMs: SHORT_TTL_MS, sets: [set] })
        await put('Deleted', 'v', { sets: [set, tag] })
        await store.deleteEntries([entry('Deleted')])
        await sleep(PAST_SHORT_TTL_MS)

        // Hash>expired lingers in its hash, which Hash>kept keeps alive.
        expect(await store.gc()).to.deep.equal({ sets: 2, membersRemoved: 5, fieldsRemoved: 1 })
        expect(await store.gc()).to.deep.equal(nothingLeft(2))
        expect(await members(set)).to.deep.equal(fulls('Kept', 'Hash>kept'))
        expect(await members(tag)).to.deep.equal(fulls('Kept'))
        expect(await get('Kept')).to.equal('v')
        expect(await get('Hash>kept')).to.equal('v')

        // Pruned members are forgotten: stored again without the set, invalidating it leaves them.
        await put('Expired', 'again')
        await put('Deleted', 'again')
        expect(await store.invalidateSets([set, tag])).to.equal(2)
        expect(await get('Expired')).to.equal('again')
        expect(await get('Deleted')).to.equal('again')
      })

      it('deletes hash fields past their deadline while live fields of the same hash stay', async () => {
        await put('Book:1>short', 'v', { ttlMs: SHORT_TTL_MS })
        await put('Book:1>also-short', 'v', { ttlMs: SHORT_TTL_MS })
        await put('Book:1>long', 'kept', { ttlMs: 5_000 })
        await put('Book:1>forever', 'kept')
        // A hash kept without expiry for a field since deleted: only its expired field is left.
        await put('Book:2>forever', 'v')
        await put('Book:2>short', 'v', { ttlMs: SHORT_TTL_MS })
        await store.deleteEntries([entry('Book:2>forever')])
        await sleep(PAST_SHORT_TTL_MS)

        expect(await store.gc()).to.deep.equal({ sets: 0, membersRemoved: 0, fieldsRemoved: 3 })
        expect(await store.gc()).to.deep.equal(nothingLeft(0))
        expect(await get('Book:1>long')).to.equal('kept')
        expect(await get('Book:1>forever')).to.equal('kept')
      })

      it('deletes the sets it empties', async () => {
        const [emptied, kept] = [dep('emptied'), dep('kept')]
        await put('Gone', 'v', { sets: [emptied, kept] })
        await put('Live', 'v', { sets: [kept] })
        await store.deleteEntries([entry('Gone')])

        expect(await store.gc()).to.deep.equal({ sets: 2, membersRemoved: 2, fieldsRemoved: 0 })
        expect(await store.gc()).to.deep.equal(nothingLeft(1))
        expect(await members(kept)).to.deep.equal(fulls('Live'))
      })

      it('gets through sets and hashes larger than one batch', async () => {
        const set = dep('large')
        const count = 60
        const expiring = Array.from({ length: count }, (_, i) => `Big>f${i}`)
        const deleted = Array.from({ length: count }, (_, i) => `Own:${i}`)
        // Long enough for 120 writes on a loaded machine: a field that expired before the hash got
        // its last field would leave the hash with nothing for gc to remove.
        const ttlMs = 1500
        const written = Date.now()
        await Promise.all(expiring.map(key => put(key, 'v', { ttlMs, sets: [set] })))
        await Promise.all(deleted.map(key => put(key, 'v', { sets: [set] })))
        await put('Big>kept', 'v', { sets: [set] })
        await store.deleteEntries(deleted.map(key => entry(key)))
        expect(Date.now() - written, 'the writes took longer than the ttl').to.be.below(ttlMs)
        await sleep(written + ttlMs + 100 - Date.now())

        expect(await store.gc({ batchSize: 10 })).to.deep.equal({ sets: 1, membersRemoved: 2 * count, fieldsRemoved: count })
        expect(await members(set)).to.deep.equal(fulls('Big>kept'))
        expect(await get('Big>kept')).to.equal('v')
      })

      it('refuses a batch size that is not a positive integer', async () => {
        for (const batchSize of [0, -1, 1.5, NaN]) {
          const error = await store.gc({ batchSize }).then(
            () => undefined,
            (caught: unknown) => caught,
          )
          expect(error, String(batchSize)).to.be.instanceOf(CachemeError).with.property('code', 'INVALID_OPTIONS')
        }
      })
    })

    describe('lazy pruning', () => {
      it('drops dead members of the sets and hash a write adds to, and leaves the rest to gc', async () => {
        // Every member dead, so whichever a write checks, it removes as many as it checks.
        const dead = LAZY_PRUNE_MIN_SIZE
        const [written, untouched, small] = [dep('written'), dep('untouched'), dep('small')]
        const sets: [string, string, number][] = [
          ['written', written, dead],
          ['untouched', untouched, dead],
          ['small', small, dead - 1],
        ]
        // Each set and the hash is kept without expiry by a member since deleted, so it outlives the others.
        for (const [name, set, count] of sets) {
          await Promise.all(range(count - 1).map(i => put(`Short:${name}:${i}`, 'v', { ttlMs: SHORT_TTL_MS, sets: [set] })))
          await put(`Deleted:${name}`, 'v', { sets: [set] })
          await store.deleteEntries([entry(`Deleted:${name}`)])
        }
        await Promise.all(range(dead).map(i => put(`Book:1>short${i}`, 'v', { ttlMs: SHORT_TTL_MS })))
        await put('Book:1>forever', 'v')
        await store.deleteEntries([entry('Book:1>forever')])
        await sleep(PAST_SHORT_TTL_MS)

        await put('Book:1>new', 'v', { sets: [written, small] })
        expect(await store.gc()).to.deep.equal({
          sets: 3,
          membersRemoved: dead - LAZY_PRUNE_SAMPLE + dead + (dead - 1),
          fieldsRemoved: dead - LAZY_PRUNE_SAMPLE,
        })
        expect(await members(written)).to.deep.equal(fulls('Book:1>new'))
        expect(await members(small)).to.deep.equal(fulls('Book:1>new'))
      })
    })

    describe('plain entries (readMany, claimMany, writeMany)', () => {
      const plain = (name: string) => layout.prefix + name
      const write = (name: string, value: string | undefined, ttlMs = 0) => ({ key: plain(name), value, ttlMs })

      it('reads many at once, absent ones as undefined, with the sequence', async () => {
        const { seq } = await store.readMany([])
        expect(await store.writeMany([write('a', '{"a":1}'), write('b', '{"b":2}')], seq)).to.equal(2)
        const read = await store.readMany([plain('a'), plain('missing'), plain('b')])
        expect(read.values).to.deep.equal(['{"a":1}', undefined, '{"b":2}'])
        expect(read.seq).to.equal(seq)
      })

      it('deletes the entries written without a value, whatever the sequence', async () => {
        const { seq } = await store.readMany([])
        await store.writeMany([write('a', '1'), write('b', '2')], seq)
        await store.claimMany([plain('a')])
        expect(await store.writeMany([write('a', undefined), write('b', undefined)], seq)).to.equal(2)
        expect((await store.readMany([plain('a'), plain('b')])).values).to.deep.equal([undefined, undefined])
      })

      it('refuses to store an entry claimed after the sequence was read, and stores it with the claim sequence', async () => {
        const { seq: before } = await store.readMany([plain('a')])
        const claim = await store.claimMany([plain('a')])
        expect(claim.values).to.deep.equal([undefined])
        expect(claim.seq).to.be.greaterThan(before)
        expect(await store.writeMany([write('a', 'stale'), write('b', 'other')], before)).to.equal(1)
        expect((await store.readMany([plain('a'), plain('b')])).values).to.deep.equal([undefined, 'other'])
        expect(await store.writeMany([write('a', 'fresh')], claim.seq)).to.equal(1)
        expect((await store.claimMany([plain('a')])).values, 'a claim reads the entries').to.deep.equal(['fresh'])
      })

      it('refuses every store after a pattern invalidation that came after the read', async () => {
        const { seq } = await store.readMany([])
        await store.deleteMatching('nothing*')
        expect(await store.writeMany([write('a', '1')], seq)).to.equal(0)
      })

      it('expires entries after their ttl', async () => {
        const { seq } = await store.readMany([])
        await store.writeMany([write('short', '1', SHORT_TTL_MS), write('long', '2')], seq)
        await sleep(PAST_SHORT_TTL_MS)
        expect((await store.readMany([plain('short'), plain('long')])).values).to.deep.equal([undefined, '2'])
      })

      it('deletes plain entries through deleteEntries and patterns too', async () => {
        const { seq } = await store.readMany([])
        await store.writeMany([write('drfc_a', '1'), write('drfc_b', '2')], seq)
        expect(await store.deleteEntries([{ full: plain('drfc_a'), key: plain('drfc_a'), field: undefined }])).to.equal(1)
        expect(await store.deleteMatching('drfc_*')).to.equal(1)
        expect((await store.readMany([plain('drfc_a'), plain('drfc_b')])).values).to.deep.equal([undefined, undefined])
      })
    })

    describe('deleteMatching with hash fields (<hash glob>><field glob>)', () => {
      const stored = async (...keys: string[]) => {
        const found: string[] = []
        for (const key of keys) if ((await get(key)) !== undefined) found.push(key)
        return found
      }
      const keys = ['HB:1>owner', 'HB:1>title', 'HB:2>owner', 'HB:2>title', 'HB:10>owner', 'Other:1>owner']

      beforeEach(async () => {
        for (const key of keys) await put(key, 'v')
        await put('HBplain', 'v')
      })

      it("deletes the fields a '>' pattern matches in the hashes its left side matches, counting fields", async () => {
        expect(await store.deleteMatching('HB:*>owner')).to.equal(3)
        expect(await stored(...keys)).to.deep.equal(['HB:1>title', 'HB:2>title', 'Other:1>owner'])
        expect(await get('HBplain')).to.equal('v')
      })

      it('matches each side as a Redis glob of its own', async () => {
        expect(await store.deleteMatching('HB:?>*')).to.equal(4)
        expect(await stored(...keys)).to.deep.equal(['HB:10>owner', 'Other:1>owner'])
        expect(await store.deleteMatching('*>[o]wn?r')).to.equal(2)
        expect(await stored(...keys)).to.deep.equal([])
      })

      it('leaves plain keys alone, and a pattern without > deletes whole hashes', async () => {
        expect(await store.deleteMatching('HBplain>*')).to.equal(0)
        expect(await get('HBplain')).to.equal('v')
        expect(await store.deleteMatching('HB:1')).to.equal(1)
        expect(await stored(...keys)).to.deep.equal(['HB:2>owner', 'HB:2>title', 'HB:10>owner', 'Other:1>owner'])
      })

      it('stays inside the prefix and deletes no bookkeeping', async () => {
        const other = await open(`t${randomId()}:`)
        await put('HB:1>owner', 'other', {}, other)
        const tag = layout.tagSet('owners')
        await put('HB:3>owner', 'v', { sets: [dep('User:3'), tag] })
        expect(await store.deleteMatching('*>*')).to.equal(7)
        expect(await get('HB:1>owner', other)).to.equal('other')
        expect(await store.deleteMatching('*:invalid>*')).to.equal(0)
        expect(await store.deleteMatching('__*>*')).to.equal(0)
      })

      it('refuses writes that read their sequence before it, as a whole-key pattern does', async () => {
        const seq = await sequence()
        await store.deleteMatching('Nothing:*>*')
        expect(await store.write({ entry: entry('HB:9>owner'), value: 'stale', ttlMs: 0, sets: [], seq })).to.equal(false)
      })
    })
  })
}
