import { expect } from 'chai'
import { BaseCache, cacheme, type CascadeJob, type InvalidatorItem, type Pk } from '../../src'
import { configureBackend, deferred, redisClient } from '../support/backends'
import { testDatabases } from '../support/fixtures'
import { openPoll, PollCache, seedPoll, type Poll, type Question } from './poll'

for (const db of testDatabases()) {
  describe(`BaseCache cascade through Sequelize hooks on ${db.dialect}`, () => {
    let poll: Poll
    let cache: PollCache

    before(() => {
      poll = openPoll(db)
    })
    after(() => poll.sequelize.close())

    beforeEach(async () => {
      configureBackend('redis')
      cache = new PollCache(poll)
      cache.registerModels([poll.User, poll.Question, poll.Choice, poll.Vote])
      await seedPoll(poll)
    })

    /** Reads instances and says how many SQL queries that took. */
    async function read(...specs: [string, Pk][]) {
      poll.queries.length = 0
      const instances = await cache.getInstances(specs)
      return { instances, queries: poll.queries.length, data: (model: string, pk: Pk) => instances.get(`${model}:${pk}`)?.[0] }
    }

    const pksOf = (list: unknown) => [...(list as Iterable<{ pk: Pk }>)].map(ref => ref.pk)

    it('serves a warm instance with no SQL query, and a saved change with none either: the hook refreshed it', async () => {
      await cache.deleteAllVersions('Question', 1)
      expect((await read(['Question', 1])).queries).to.equal(1)
      expect((await read(['Question', 1])).queries).to.equal(0)
      const question = await poll.Question.findByPk(1)
      await question!.update({ text: 'Tea?' })
      const after = await read(['Question', 1])
      expect(after.queries).to.equal(0)
      expect(after.data('Question', 1)!.text).to.equal('Tea?')
    })

    it('refreshes after the commit, and leaves the cache as it was on rollback', async () => {
      await read(['Question', 1])
      const transaction = await poll.sequelize.transaction()
      await poll.Question.update({ text: 'inside' }, { where: { id: 1 }, transaction })
      expect((await read(['Question', 1])).data('Question', 1)!.text, 'not before the commit').to.equal('Tea or coffee?')
      await transaction.rollback()
      expect((await read(['Question', 1])).data('Question', 1)!.text).to.equal('Tea or coffee?')

      await poll.sequelize.transaction(async t => poll.Question.update({ text: 'committed' }, { where: { id: 1 }, transaction: t }))
      const after = await read(['Question', 1])
      expect([after.data('Question', 1)!.text, after.queries]).to.deep.equal(['committed', 0])
    })

    it('follows the invalidators: a new choice refreshes its question, a vote refreshes the choice and the voter', async () => {
      await read(['Question', 1], ['Choice', 1], ['User', 1])
      await poll.Choice.create({ id: 3, text: 'water', questionId: 1 })
      const afterChoice = await read(['Question', 1])
      expect([pksOf(afterChoice.data('Question', 1)!.choices), afterChoice.queries]).to.deep.equal([[1, 2, 3], 0])

      const choice = await poll.Choice.findByPk(1)
      await (choice as unknown as { addVoter(user: number): Promise<void> }).addVoter(1)
      const afterVote = await read(['Choice', 1], ['User', 1])
      expect(afterVote.queries).to.equal(0)
      expect(pksOf(afterVote.data('Choice', 1)!.voters)).to.deep.equal([1, 2])
      expect(pksOf(afterVote.data('User', 1)!.votes)).to.deep.equal([1])

      await (choice as unknown as { removeVoter(user: number): Promise<void> }).removeVoter(1)
      const afterUnvote = await read(['Choice', 1], ['User', 1])
      expect(pksOf(afterUnvote.data('Choice', 1)!.voters)).to.deep.equal([2])
      expect(pksOf(afterUnvote.data('User', 1)!.votes)).to.deep.equal([])
    })

    it('deletes a destroyed row and runs its invalidator on the row as it was, so the lists that held it are refreshed', async () => {
      await read(['Question', 1], ['Choice', 2])
      await (await poll.Choice.findByPk(2))!.destroy()
      const after = await read(['Question', 1], ['Choice', 2])
      expect(pksOf(after.data('Question', 1)!.choices)).to.deep.equal([1])
      expect(after.instances.has('Choice:2')).to.equal(false)
      expect(after.queries, 'the question was refreshed; only the gone choice was looked up').to.equal(1)
    })

    it('sees bulk writes with a where clause', async () => {
      await read(['Choice', 1], ['Choice', 2])
      await poll.Choice.update({ text: 'same' }, { where: { questionId: 1 } })
      const after = await read(['Choice', 1], ['Choice', 2])
      expect([after.data('Choice', 1)!.text, after.data('Choice', 2)!.text, after.queries]).to.deep.equal(['same', 'same', 0])
      await poll.Choice.destroy({ where: { id: 1 } })
      expect((await read(['Choice', 1])).instances.size).to.equal(0)
    })

    it('empties the @cacheme dependency sets of cacheKey with registerModels alone', async () => {
      let computed = 0
      const title = cacheme({ key: c => `title:${c.id}`, invalidKeys: c => `Question:${c.id}` })(async (id: number) => {
        computed++
        return (await poll.Question.findByPk(id))!.text
      })
      await title(1)
      await title(1)
      await poll.Question.update({ text: 'changed' }, { where: { id: 1 } })
      expect([await title(1), computed]).to.deep.equal(['changed', 2])
    })

    it('records the instances a @cacheme computation reads as its dependencies, with no invalidKeys', async () => {
      let computed = 0
      const summary = cacheme({ key: c => `summary:${c.id}` })(async (id: number) => {
        computed++
        const question = (await cache.getInstances([['Question', id]])).get(`Question:${id}`)![0]
        const choices = await cache.getInstances(pksOf(question.choices).map(pk => ['Choice', pk] as const))
        return `${question.text} ${[...choices.values()].map(([data]) => data.text).join('/')}`
      })
      expect(await summary(1)).to.equal('Tea or coffee? tea/coffee')
      await summary(1)
      expect(computed).to.equal(1)
      await poll.Choice.update({ text: 'espresso' }, { where: { id: 2 } })
      expect(await summary(1)).to.equal('Tea or coffee? tea/espresso')
      expect(computed).to.equal(2)
      await poll.User.update({ username: 'ann2' }, { where: { id: 1 } })
      await summary(1)
      expect(computed, 'a row it did not read').to.equal(2)
    })

    it('hands the follow-ups to a scheduler as plain JSON, for a worker to run with cascade()', async () => {
      const jobs: CascadeJob[] = []
      // A store of its own, so the cache of the other tests does not refresh these instances first.
      const queued = new PollCache(poll, { redis: redisClient(), prefix: `${configureBackend('redis')}own:`, scheduler: job => void jobs.push(JSON.parse(JSON.stringify(job))) })
      queued.registerModels([poll.Choice])
      await queued.getInstances([['Question', 1]])
      await poll.Choice.create({ id: 3, text: 'water', questionId: 1 })
      expect(jobs.map(job => job.followUps)).to.deep.equal([[['Question', 1, 'default']]])
      await queued.cascade(jobs[0])
      const question = (await queued.getInstances([['Question', 1]])).get('Question:1')![0]
      expect(pksOf(question.choices)).to.deep.equal([1, 2, 3])
    })
  })
}

describe('BaseCache cascade', () => {
  beforeEach(() => configureBackend('redis'))

  it('runs the invalidator of a model it does not cache on the row the hook gave, loading nothing', async () => {
    const poll = openPoll(testDatabases()[0])
    await seedPoll(poll)
    const followUps: CascadeJob[] = []
    const cache = new BaseCache({ scheduler: job => void followUps.push(job) })
    cache.register<Question>(poll.Question, { invalidator: question => [['User', question.authorId, false]] })
    cache.registerModels([poll.Question])
    const question = (await poll.Question.findByPk(1))!
    poll.queries.length = 0
    await question.update({ text: 'changed' })
    expect(poll.queries, 'the UPDATE alone').to.have.length(1)
    expect(followUps.map(job => job.followUps)).to.deep.equal([[['User', 1, 'default']]])
    await poll.sequelize.close()
  })

  /** Two models that name each other in their invalidators, whose rows change on every load: only the visited set ends a cascade. */
  async function cycle(immediate: boolean) {
    const loads: string[] = []
    let version = 0
    const cache = new BaseCache()
    for (const [model, other] of [
      ['A', 'B'],
      ['B', 'A'],
    ]) {
      cache.register<{ name: string }>(model, {
        serializer: row => ({ name: row.name }),
        loader: () => {
          loads.push(model)
          return { name: `${model}${++version}` }
        },
        invalidator: (): InvalidatorItem[] => [[other, 1, immediate]],
      })
    }
    const specs: [string, number][] = [
      ['A', 1],
      ['B', 1],
    ]
    await cache.getInstances(specs)
    loads.length = 0
    await cache.cascade({ followUps: await cache.updateInstance('A', 1), visited: ['a:1:default'] })
    const cascaded = [...loads]
    return { loads: cascaded, cached: [...(await cache.getInstances(specs)).keys()] }
  }

  it('ends on a cycle: each instance is updated once per cascade', async () => {
    expect((await cycle(false)).loads).to.deep.equal(['A', 'B'])
  })

  it('ends on a cycle of immediate invalidations, the deleted instance read fresh next time', async () => {
    const { loads, cached } = await cycle(true)
    expect(loads, 'B was deleted at once, so the follow-up had nothing to refresh').to.deep.equal(['A'])
    expect(cached).to.deep.equal(['A:1', 'B:1'])
  })

  it('refuses to store a row loaded before a change, even when the change comes through the hooks (held loader)', async () => {
    const release = deferred()
    const rows = new Map([[1, { id: 1, name: 'old' }]])
    let hold = false
    const cache = new BaseCache().register('Thing', {
      serializer: (row: { name: string }) => ({ name: row.name }),
      loader: async (pk: Pk) => {
        const row = { ...rows.get(Number(pk))! }
        if (hold) await release.promise
        return row
      },
    })
    hold = true
    const slow = cache.getInstances([['Thing', 1]])
    await new Promise(resolve => setTimeout(resolve, 10))
    hold = false
    rows.set(1, { id: 1, name: 'new' })
    await cache.cascade({ followUps: [['thing', 1, 'default']] })
    release.resolve()
    await slow
    expect((await cache.getInstances([['Thing', 1]])).get('Thing:1')![0].name).to.equal('new')
  })
})
