import { expect } from 'chai'
import { DataTypes, Model } from 'sequelize'
import { BaseCache, CachemeError, type InvalidatorItem, type Pk } from '../../src'
import { configureBackend, redisClient } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { openPoll, PollCache, seedPoll, type Poll } from './poll'

/** The CachemeError a call rejects with. */
async function refusal(promise: Promise<unknown>): Promise<CachemeError> {
  const error = await promise.then(
    () => 'accepted',
    (rejected: unknown) => rejected,
  )
  expect(error).to.be.instanceOf(CachemeError)
  return error as CachemeError
}

describe('BaseCache names: handed back as given, keyed in lower case', () => {
  beforeEach(() => configureBackend('memory'))

  /** A model known by name only, whose loader counts its calls. */
  function widgets() {
    const loaded: Pk[] = []
    const cache = new BaseCache().register<{ id: Pk }>('Widget', {
      serializer: row => ({ id: row.id }),
      loader: pk => {
        loaded.push(pk)
        return { id: pk }
      },
    })
    return { cache, loaded }
  }

  it('keys the Map by the model as the spec spells it, and looks the model up in any case', async () => {
    const { cache } = widgets()
    const got = await cache.getInstances([['Widget', 1]])
    expect([...got.keys()]).to.deep.equal(['Widget:1'])
    expect(got.get('Widget:1')![1]).to.equal('drfc_default_widget_1')
    expect([...(await cache.getInstances([['WIDGET', 2]])).keys()]).to.deep.equal(['WIDGET:2'])
  })

  it('keys the Map by the name a model class declares', async () => {
    class Gadget {}
    const cache = new BaseCache().register(Gadget, { serializer: () => ({ ok: true }), loader: () => ({}) })
    expect([...(await cache.getInstances([[Gadget, 3]])).keys()]).to.deep.equal(['Gadget:3'])
    expect([...(await cache.getInstances([['gadget', 3]])).keys()]).to.deep.equal(['gadget:3'])
  })

  it('gives one row asked under two spellings in one call both keys, for one instance read and stored once', async () => {
    const { cache, loaded } = widgets()
    const got = await cache.getInstances([
      ['Widget', 1],
      ['widget', 2],
      ['widget', 1],
    ])
    expect([...got.keys()]).to.deep.equal(['Widget:1', 'widget:2', 'widget:1'])
    expect(got.get('widget:1')).to.equal(got.get('Widget:1'))
    expect(loaded).to.deep.equal([1, 2])
  })

  it('keeps the key of a row in lower case however the model is spelt: one key per row', () => {
    class User {}
    const cache = new BaseCache()
    expect([cache.keyFor('default', 'User', 1), cache.keyFor('default', 'USER', 1), cache.keyFor('default', User, 1)]).to.deep.equal([
      'drfc_default_user_1',
      'drfc_default_user_1',
      'drfc_default_user_1',
    ])
  })

  it('returns follow-ups with the model as the invalidator named it, or as its class declares it', async () => {
    class Part {}
    let invalidations: InvalidatorItem[] = []
    const cache = new BaseCache().register<{ id: Pk; v: number }>('Thing', { serializer: row => ({ ...row }), loader: pk => ({ id: pk, v: 2 }), invalidator: () => invalidations })
    await cache.getInstances([['Thing', 1]])
    invalidations = [
      ['Question', 3, false],
      [Part, 4, false],
      ['question', 3, false],
    ]
    expect(await cache.updateInstance('Thing', 1, { id: 1, v: 3 })).to.deep.equal([
      ['Question', 3, 'default'],
      ['Part', 4, 'default'],
    ])
  })
})

for (const db of testDatabases()) {
  describe(`BaseCache primary keys by the model's key type, on ${db.dialect}`, () => {
    let poll: Poll
    let cache: PollCache
    let prefix: string

    class Token extends Model {
      declare id: string
      declare label: string
    }
    class Tag extends Model {
      declare code: string
    }
    class Big extends Model {
      declare id: string
      declare label: string
    }

    before(() => {
      poll = openPoll(db)
      Token.init({ id: { type: DataTypes.UUID, primaryKey: true }, label: DataTypes.STRING }, { sequelize: poll.sequelize, modelName: 'Token' })
      Tag.init({ code: { type: DataTypes.STRING, primaryKey: true } }, { sequelize: poll.sequelize, modelName: 'Tag' })
      Big.init({ id: { type: DataTypes.BIGINT, primaryKey: true }, label: DataTypes.STRING }, { sequelize: poll.sequelize, modelName: 'Big' })
    })
    after(() => poll.sequelize.close())

    beforeEach(async () => {
      prefix = configureBackend('redis')
      await seedPoll(poll)
      cache = new PollCache(poll)
      cache.registerModels([poll.User, poll.Question, poll.Choice, poll.Vote, Token, Big])
      cache.register(Token, { serializer: (token: Token) => ({ id: token.id, label: token.label }) })
      cache.register(Tag, { serializer: (tag: Tag) => ({ code: tag.code }) })
      cache.register(Big, { serializer: (big: Big) => ({ id: String(big.id), label: big.label }) })
    })

    const username = async (pk: Pk) => (await cache.getInstances([['User', pk]])).get(`User:${pk}`)![0].username

    it("reads '01', '1' and 1 of an integer key as one row, which a change of row 1 refreshes", async () => {
      expect(await username('01')).to.equal('ann')
      expect(await username(1)).to.equal('ann')
      poll.queries.length = 0
      const got = await cache.getInstances([
        ['User', '01'],
        ['User', 1],
        ['User', '1'],
      ])
      expect([...got.keys()]).to.deep.equal(['User:01', 'User:1'])
      expect(got.get('User:01')![1]).to.equal('drfc_default_user_1')
      expect(poll.queries, 'one entry, read already: no query').to.deep.equal([])

      await poll.User.update({ username: 'annie' }, { where: { id: 1 } })
      expect(await username('01')).to.equal('annie')
      expect(await redisClient().keys(`${prefix}drfc_default_user_0*`)).to.deep.equal([])
    })

    it('names the pk of a follow-up as the key type spells it', async () => {
      cache.register<{ id: Pk; v: number }>('Memo', { serializer: row => ({ ...row }), loader: pk => ({ id: pk, v: 1 }), invalidator: () => [['user', '01', false]] })
      await cache.getInstances([['Memo', 1]])
      expect(await cache.updateInstance('Memo', 1, { id: 1, v: 2 })).to.deep.equal([['user', 1, 'default']])
    })

    it('refuses a pk that cannot be an integer of an integer key, naming the model', async () => {
      for (const pk of ['abc', '1.5', 1.5, ' 1', '+1', 2 ** 53]) {
        const error = await refusal(cache.getInstances([['User', pk]]))
        expect(error.code).to.equal('INVALID_KEY')
        expect(error.message).to.equal(`getInstances(): spec 0: User has an integer primary key, got ${typeof pk === 'string' ? JSON.stringify(pk) : pk}`)
      }
      expect((await refusal(cache.updateInstance('user', 'x'))).message).to.equal('updateInstance(): User has an integer primary key, got "x"')
      expect(() => cache.keyFor('default', 'User', 'x')).to.throw(CachemeError, 'keyFor(): User has an integer primary key, got "x"')
    })

    it('keeps a BIGINT beyond 2^53 exact, as its decimal string', async () => {
      await Big.create({ id: '9007199254740993', label: 'far' })
      expect(cache.keyFor('default', Big, '09007199254740993')).to.equal('drfc_default_big_9007199254740993')
      const got = await cache.getInstances([[Big, '9007199254740993']])
      // The data's id is what the driver read (SQLite's rounds it to a number); the key stays exact.
      const [data, key] = got.get('Big:9007199254740993')!
      expect([data.label, key]).to.deep.equal(['far', 'drfc_default_big_9007199254740993'])
      expect(cache.keyFor('default', Big, '7')).to.equal(cache.keyFor('default', Big, 7))
    })

    it('spells a UUID in lower case, one entry whatever case it is asked in, and refuses what is not a UUID', async () => {
      const id = '5b7a3c4e-8f1d-4c2a-9e6b-0d1f2a3b4c5d'
      await Token.create({ id, label: 'first' })
      const got = await cache.getInstances([
        [Token, id.toUpperCase()],
        [Token, id],
      ])
      expect([...got.keys()]).to.deep.equal([`Token:${id.toUpperCase()}`, `Token:${id}`])
      expect(got.get(`Token:${id.toUpperCase()}`)![1]).to.equal(`drfc_default_token_${id}`)
      await Token.update({ label: 'second' }, { where: { id } })
      expect((await cache.getInstances([[Token, id.toUpperCase()]])).get(`Token:${id.toUpperCase()}`)![0].label).to.equal('second')

      for (const pk of ['not-a-uuid', 7]) {
        const error = await refusal(cache.getInstances([['token', pk]]))
        expect(error.message).to.equal(`getInstances(): spec 0: Token has a UUID primary key, got ${JSON.stringify(pk)}`)
      }
    })

    it('keeps a string key as declared, case included, and spells a number given for it as a string', async () => {
      await Tag.bulkCreate([{ code: 'TS' }, { code: 'ts' }, { code: '5' }])
      const got = await cache.getInstances([
        [Tag, 'TS'],
        [Tag, 'ts'],
        [Tag, 5],
      ])
      expect([...got.values()].map(([data, key]) => [data.code, key])).to.deep.equal([
        ['TS', 'drfc_default_tag_TS'],
        ['ts', 'drfc_default_tag_ts'],
        ['5', 'drfc_default_tag_5'],
      ])
    })
  })
}

describe('BaseCache primary keys of a model registered by name only', () => {
  beforeEach(() => configureBackend('memory'))

  it('uses the pk as given: 1 and "1" are one key, "01" is another, since no key type is known', async () => {
    const loaded: Pk[] = []
    const cache = new BaseCache().register<{ id: Pk }>('Note', { serializer: row => ({ id: row.id }), loader: pk => (loaded.push(pk), { id: pk }) })
    const got = await cache.getInstances([
      ['Note', 1],
      ['Note', '1'],
      ['Note', '01'],
    ])
    expect([...got.values()].map(([, key]) => key)).to.deep.equal(['drfc_default_note_1', 'drfc_default_note_01'])
    expect(loaded).to.deep.equal([1, '01'])
  })
})
