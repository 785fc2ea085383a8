import { expect } from 'chai'
import sinon from 'sinon'
import { BaseCache, CachemeError, PkOnlyList, PkOnlyModel, configure, type InvalidatorItem, type Pk } from '../../src'
import { BACKENDS, configureBackend, countsCommands, deferred, redisClient } from '../support/backends'

/** Rows kept in a Map: the loaders are plain functions, so each test controls what exists and counts loads. */
class Table<Row extends { id: Pk }> {
  readonly rows = new Map<string, Row>()
  loads = 0
  constructor(rows: Row[] = []) {
    for (const row of rows) this.rows.set(String(row.id), row)
  }
  load = (pk: Pk): Row | null => {
    this.loads++
    return this.rows.get(String(pk)) ?? null
  }
}

interface Thing {
  id: Pk
  name: string
  madeAt?: Date
  partIds?: Pk[]
}

/** A cache by the naming convention, over an in-memory table. */
class ThingCache extends BaseCache {
  invalidations: InvalidatorItem[] = []
  constructor(
    readonly things: Table<Thing>,
    options?: ConstructorParameters<typeof BaseCache>[0],
  ) {
    super(options)
  }
  thing_default_serializer(thing: Thing) {
    return Object.fromEntries([
      ['id', thing.id],
      ['name', thing.name],
      this.fieldToJson('DateTime', 'madeAt', thing.madeAt ?? null),
      this.fieldToJson('PKList', 'parts', 'Part', thing.partIds ?? []),
    ])
  }
  thing_default_loader(pk: Pk) {
    return this.things.load(pk)
  }
  thing_default_invalidator(): InvalidatorItem[] {
    return this.invalidations
  }
}

const stored = async (prefix: string, key: string) => {
  const raw = await redisClient().get(prefix + key)
  return raw === null ? undefined : JSON.parse(raw)
}

describe('BaseCache', () => {
  describe('names and versions', () => {
    it('keys instances drfc_{version}_{model}_{pk}, the model in lower case whether named or given as a class', () => {
      class Question {}
      const cache = new BaseCache()
      expect(cache.keyFor('default', 'Question', 5)).to.equal('drfc_default_question_5')
      expect(cache.keyFor('v2', Question, '5')).to.equal('drfc_v2_question_5')
      expect(cache.keyFor('default', 'question', 0)).to.equal('drfc_default_question_0')
    })

    it('refuses a pk that is not a non-empty string or a finite number', () => {
      const cache = new BaseCache()
      for (const pk of [undefined, null, '', NaN, {}]) {
        expect(() => cache.keyFor('default', 'Question', pk as Pk)).to.throw(CachemeError, /pk must be a non-empty string or a finite number/)
      }
    })

    it('lets a subclass set versions and defaultVersion as fields, and names a defaultVersion that is not among them', async () => {
      class Versioned extends BaseCache {
        override versions = ['v1', 'v2']
        override defaultVersion = 'v2'
      }
      expect(new Versioned().keyFor('v1', 'a', 1)).to.equal('drfc_v1_a_1')
      class Wrong extends BaseCache {
        override versions = ['v1']
      }
      const error = await new Wrong().getInstances([]).catch(e => e)
      expect(error).to.be.instanceOf(CachemeError).with.property('message', 'Wrong: defaultVersion "default" is not one of versions ["v1"]')
      await new Versioned()
        .getInstances([], 'v3')
        .then(() => expect.fail('unknown version accepted'))
        .catch(e => expect(e.message).to.equal('getInstances(): unknown version "v3" (versions: v1, v2)'))
    })

    it('checks its options when constructed', () => {
      expect(() => new BaseCache({ ttl: -1 })).to.throw(CachemeError, 'BaseCache: ttl must be a number of seconds >= 0, got -1')
      expect(() => new BaseCache({ app: '' })).to.throw(CachemeError, /app must be a non-empty string/)
      expect(() => new BaseCache({ scheduler: 'now' as never })).to.throw(CachemeError, /scheduler must be a function/)
    })

    it('refuses field types that cannot convert, when constructed', () => {
      expect(() => new BaseCache({ fieldTypes: null as never })).to.throw(CachemeError, 'BaseCache: fieldTypes must be an object of field types by name, got null')
      expect(() => new BaseCache({ fieldTypes: { Money: { toJson: (_context: unknown, value: unknown) => value } as never } })).to.throw(
        CachemeError,
        'BaseCache: fieldTypes.Money must have toJson and fromJson functions',
      )
    })

    it('names the model and version it has no functions for', async () => {
      const error = await new BaseCache().getInstances([['Foo', 1]]).catch(e => e)
      expect(error.message).to.equal('the instance cache knows no model "foo" in version default: define foo_default_serializer and _loader, or register it')
      expect(await new BaseCache().updateInstance('Bar', 666)).to.deep.equal([])
    })
  })

  for (const backend of BACKENDS) {
    describe(`on the ${backend} store`, () => {
      let things: Table<Thing>
      let cache: ThingCache
      let prefix: string

      beforeEach(() => {
        prefix = configureBackend(backend)
        things = new Table<Thing>([
          { id: 0, name: 'zero', madeAt: new Date('2014-09-22T08:52:00.123Z'), partIds: [1, 2] },
          { id: 1, name: 'one' },
          { id: 2, name: 'two' },
        ])
        cache = new ThingCache(things)
      })

      it('returns an empty Map for no specs', async () => {
        expect((await cache.getInstances([])).size).to.equal(0)
      })

      it('loads a miss, returns it decoded under model:pk with its cache key, and serves it from the cache next time', async () => {
        const first = await cache.getInstances([['Thing', 0]])
        const [data, cacheKey, instance] = first.get('Thing:0')!
        expect(cacheKey).to.equal('drfc_default_thing_0')
        expect(instance).to.equal(things.rows.get('0'))
        expect(data.name).to.equal('zero')
        expect(data.madeAt).to.deep.equal(new Date('2014-09-22T08:52:00.123Z'))
        expect(data.parts).to.be.instanceOf(PkOnlyList)
        expect([...(data.parts as PkOnlyList)].map(part => part.pk)).to.deep.equal([1, 2])
        expect(things.loads).to.equal(1)

        const second = await cache.getInstances([['thing', 0]])
        expect(things.loads, 'a hit does not load').to.equal(1)
        expect(second.get('thing:0')![0]).to.deep.equal(data)
        expect(second.get('thing:0')![2], 'no instance on a hit').to.equal(undefined)
      })

      it('uses the instance given instead of loading', async () => {
        const given = { id: 1, name: 'given' }
        const got = await cache.getInstances([['Thing', 1, given]])
        expect(things.loads).to.equal(0)
        expect(got.get('Thing:1')).to.deep.equal([{ id: 1, name: 'given', madeAt: null, parts: got.get('Thing:1')![0].parts }, 'drfc_default_thing_1', given])
      })

      it('leaves out rows that do not exist, and remembers them only with missingTtl', async () => {
        expect((await cache.getInstances([['Thing', 666]])).size).to.equal(0)
        await cache.getInstances([['Thing', 666]])
        expect(things.loads, 'not remembered by default').to.equal(2)

        const remembering = new ThingCache(things, { missingTtl: 60 })
        await remembering.getInstances([['Thing', 777]])
        expect((await remembering.getInstances([['Thing', 777]])).size).to.equal(0)
        expect(things.loads, 'remembered as missing').to.equal(3)
      })

      it('reads several models and pks at once, keeping the order of the specs and skipping duplicates', async () => {
        const got = await cache.getInstances([
          ['Thing', 2],
          ['Thing', 0],
          ['thing', 2],
        ])
        expect([...got.keys()]).to.deep.equal(['Thing:2', 'Thing:0', 'thing:2'])
        expect(things.loads).to.equal(2)
      })

      it('records nothing as changed when the serializer output is equal once it is JSON (a Date, key order)', async () => {
        await cache.getInstances([['Thing', 0]])
        cache.invalidations = [['Other', 1, false]]
        expect(await cache.updateInstance('Thing', 0), 'unchanged').to.deep.equal([])
        things.rows.set('0', { ...things.rows.get('0')!, name: 'renamed' })
        expect(await cache.updateInstance('Thing', 0), 'changed').to.deep.equal([['Other', 1, 'default']])
        expect((await cache.getInstances([['Thing', 0]])).get('Thing:0')![0].name).to.equal('renamed')
      })

      it('deletes the instance of a row that is gone, and cascades nothing without the row', async () => {
        await cache.getInstances([['Thing', 1]])
        things.rows.delete('1')
        cache.invalidations = [['Other', 1, false]]
        expect(await cache.updateInstance('Thing', 1)).to.deep.equal([])
        expect((await cache.getInstances([['Thing', 1]])).size).to.equal(0)
      })

      it('deletes the raw keys an invalidator names, and at once the instances it marks immediate', async () => {
        const other = new ThingCache(new Table<Thing>([{ id: 9, name: 'nine' }]))
        await other.getInstances([['Thing', 9]])
        await cache.getInstances([['Thing', 1]])
        const counted = await cache.getInstances([['Thing', 2]])
        expect(counted.size).to.equal(1)
        cache.invalidations = ['drfc_default_thing_2', ['Thing', 9, true], ['Part', 3, false]]
        things.rows.set('1', { id: 1, name: 'changed' })
        expect(await cache.updateInstance('Thing', 1)).to.deep.equal([
          ['Thing', 9, 'default'],
          ['Part', 3, 'default'],
        ])
        const loads = things.loads
        await cache.getInstances([['Thing', 2]])
        expect(things.loads, 'the raw key was deleted').to.equal(loads + 1)
        const otherLoads = other.things.loads
        await other.getInstances([['Thing', 9]])
        expect(other.things.loads, 'the immediate instance was deleted').to.equal(otherLoads + 1)
      })

      it('with updateOnly, leaves an instance that is not cached alone and cascades nothing', async () => {
        cache.invalidations = [['Other', 1, false]]
        expect(await cache.updateInstance('Thing', 1, undefined, undefined, true)).to.deep.equal([])
        expect(things.loads, 'not even loaded').to.equal(0)
        await cache.getInstances([['Thing', 1]])
        things.rows.set('1', { id: 1, name: 'changed' })
        expect(await cache.updateInstance('Thing', 1, undefined, undefined, true)).to.deep.equal([['Other', 1, 'default']])
      })

      it('cascades from a model that has an invalidator but no serializer', async () => {
        cache.register('Group', { invalidator: (group: { userIds: number[] }) => group.userIds.map(id => ['User', id, false] as const) })
        expect(await cache.updateInstance('Group', 1, { userIds: [4, 5] })).to.deep.equal([
          ['User', 4, 'default'],
          ['User', 5, 'default'],
        ])
      })

      it('updates and deletes every version, or the one asked for', async () => {
        class TwoVersions extends ThingCache {
          override versions = ['default', 'v2']
          thing_v2_serializer(thing: Thing) {
            return { id: thing.id, title: thing.name.toUpperCase() }
          }
          thing_v2_loader(pk: Pk) {
            return this.things.load(pk)
          }
        }
        const versioned = new TwoVersions(things)
        await versioned.getInstances([['Thing', 1]])
        await versioned.getInstances([['Thing', 1]], 'v2')
        things.rows.set('1', { id: 1, name: 'uno' })
        await versioned.updateInstance('Thing', 1, undefined, 'v2')
        expect((await versioned.getInstances([['Thing', 1]], 'v2')).get('Thing:1')![0]).to.deep.equal({ id: 1, title: 'UNO' })
        expect((await versioned.getInstances([['Thing', 1]])).get('Thing:1')![0].name, 'the other version was left').to.equal('one')
        await versioned.updateInstance('Thing', 1)
        expect((await versioned.getInstances([['Thing', 1]])).get('Thing:1')![0].name).to.equal('uno')

        await versioned.deleteAllVersions('Thing', 1)
        const loads = things.loads
        await versioned.getInstances([['Thing', 1]])
        await versioned.getInstances([['Thing', 1]], 'v2')
        expect(things.loads, 'both versions were deleted').to.equal(loads + 2)
      })

      it('takes its functions from register() as well as from the naming convention', async () => {
        const plain = new BaseCache().register<Thing>('Widget', { serializer: row => ({ id: row.id, label: `#${row.name}` }), loader: things.load })
        expect((await plain.getInstances([['Widget', 2]])).get('Widget:2')![0]).to.deep.equal({ id: 2, label: '#two' })
      })

      it('loads the misses of a model with one batch_loader call', async () => {
        const batches: Pk[][] = []
        class Batched extends ThingCache {
          thing_default_batch_loader(pks: Pk[]) {
            batches.push(pks)
            return pks.flatMap(pk => (things.rows.has(String(pk)) ? [things.rows.get(String(pk))!] : []))
          }
        }
        const batched = new Batched(things)
        await batched.getInstances([['Thing', 1]])
        const got = await batched.getInstances([
          ['Thing', 0],
          ['Thing', 1],
          ['Thing', 2],
          ['Thing', 3],
        ])
        expect(batches).to.deep.equal([[1], [0, 2, 3]])
        expect([...got.keys()]).to.deep.equal(['Thing:0', 'Thing:1', 'Thing:2'])
        expect(things.loads, 'the single loader is not used').to.equal(0)
      })

      it('refuses a serializer result that is not JSON, naming the serializer', async () => {
        const looping: Record<string, unknown> = {}
        looping.self = looping
        const bad = new BaseCache().register('Loop', { serializer: () => looping, loader: () => ({ id: 1 }) })
        const error = await bad.getInstances([['Loop', 1]]).catch(e => e)
        expect(error).to.be.instanceOf(CachemeError).with.property('code', 'UNSERIALIZABLE_RESULT')
        expect(error.message).to.match(/^loop_default_serializer returned a value that is not JSON/)
      })

      it('does not store a row loaded before a change that was refreshed meanwhile (no stale write-back)', async () => {
        const release = deferred()
        const loading = deferred()
        let holding = true
        const slow = new BaseCache().register<Thing>('Thing', {
          serializer: row => ({ id: row.id, name: row.name }),
          loader: async pk => {
            const row = things.load(pk)
            if (holding) {
              holding = false
              loading.resolve()
              await release.promise
            }
            return row
          },
        })
        const reading = slow.getInstances([['Thing', 1]])
        // The reader holds the old row: only then does the row change.
        await loading.promise
        things.rows.set('1', { id: 1, name: 'new' })
        await slow.updateInstance('Thing', 1)
        release.resolve()
        expect((await reading).get('Thing:1')![0].name, 'the reader gets what it loaded').to.equal('one')
        expect((await slow.getInstances([['Thing', 1]])).get('Thing:1')![0].name, 'but the cache keeps the new row').to.equal('new')
      })

      it('works uncached while the cache is disabled', async () => {
        configure({ enabled: false })
        await cache.getInstances([['Thing', 1]])
        await cache.getInstances([['Thing', 1]])
        expect(things.loads).to.equal(2)
        cache.invalidations = [['Other', 1, false]]
        expect(await cache.updateInstance('Thing', 1)).to.deep.equal([])
        expect(things.loads, 'an update does nothing').to.equal(2)
        await cache.deleteAllVersions('Thing', 1)
      })

      if (countsCommands(backend)) {
        it('reads a list with one MGET and stores its misses with one script call', async () => {
          await cache.getInstances([['Thing', 1]])
          const sent = sinon.spy(redisClient(), 'sendCommand')
          try {
            await cache.getInstances([
              ['Thing', 0],
              ['Thing', 1],
              ['Thing', 2],
            ])
            expect(sent.getCalls().map(call => call.args[0].name)).to.deep.equal(['mget', 'evalsha'])
            sent.resetHistory()
            await cache.getInstances([
              ['Thing', 0],
              ['Thing', 1],
              ['Thing', 2],
            ])
            expect(sent.getCalls().map(call => call.args[0].name)).to.deep.equal(['mget'])
          } finally {
            sent.restore()
          }
        })

        it('stores the JSON of the serializer output under the prefix, with the ttl asked for', async () => {
          const expiring = new ThingCache(things, { ttl: 60 })
          await expiring.getInstances([['Thing', 0]])
          expect(await stored(prefix, 'drfc_default_thing_0')).to.deep.equal({
            id: 0,
            name: 'zero',
            'madeAt:DateTime': '1411375920.123000',
            'parts:PKList': { app: 'default', model: 'part', pks: [1, 2] },
          })
          const ttl = await redisClient().pttl(prefix + 'drfc_default_thing_0')
          expect(ttl).to.be.within(59_000, 60_000)
        })

        it('uses a store of its own when given redis and a prefix, and leaves a client it was given open on close', async () => {
          configure({ store: 'memory' })
          const own = new ThingCache(things, { redis: redisClient(), prefix: `${prefix}own:` })
          await own.getInstances([['Thing', 1]])
          expect(await stored(`${prefix}own:`, 'drfc_default_thing_1')).to.deep.equal({
            id: 1,
            name: 'one',
            'madeAt:DateTime': null,
            'parts:PKList': { app: 'default', model: 'part', pks: [] },
          })
          await own.close()
          expect(await redisClient().ping()).to.equal('PONG')
        })

        it('keeps working from the loaders when Redis cannot be reached', async () => {
          const faults: unknown[] = []
          configure({ redis: 'redis://127.0.0.1:1', timeout: 0.1, onError: error => faults.push(error) })
          const got = await cache.getInstances([['Thing', 1]])
          expect(got.get('Thing:1')![0].name).to.equal('one')
          things.rows.set('1', { id: 1, name: 'changed' })
          cache.invalidations = [['Other', 1, false]]
          expect(await cache.updateInstance('Thing', 1)).to.deep.equal([['Other', 1, 'default']])
          expect(faults).to.have.length.greaterThan(0)
        })
      }

      it('PK fields read back as pk-only references', async () => {
        const refs: BaseCache = new BaseCache({ app: 'shop' })
        refs.register<Thing>('Thing', { serializer: row => Object.fromEntries([['id', row.id], refs.fieldToJson('PK', 'owner', 'User', 7)]), loader: things.load })
        const owner = (await refs.getInstances([['Thing', 1]])).get('Thing:1')![0].owner
        expect(owner).to.be.instanceOf(PkOnlyModel).and.to.include({ app: 'shop', model: 'user', pk: 7 })
      })
    })
  }
})
