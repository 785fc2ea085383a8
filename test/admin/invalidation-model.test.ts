import { expect } from 'chai'
import type { Sequelize } from 'sequelize'
import { cachemeTags } from '../../src'
import { defineInvalidationModel, type InvalidationModel } from '../../src/admin'
import { BACKENDS, configureBackend } from '../support/backends'
import { createSequelize, testDatabases } from '../support/fixtures'
import { fill } from './admin-app'

const keysOf = async (tag: string) => (await cachemeTags[tag].keys()).sort()

for (const db of testDatabases()) {
  for (const backend of BACKENDS) {
    describe(`Invalidation model on ${db.dialect} with the ${backend} store`, () => {
      let sequelize: Sequelize
      let Invalidation: InvalidationModel

      before(() => {
        sequelize = createSequelize(db)
        Invalidation = defineInvalidationModel(sequelize)
      })
      after(() => sequelize.close())
      beforeEach(async () => {
        configureBackend(backend)
        await Invalidation.sync({ force: true })
        await fill(3)
      })

      it('runs the pattern and each tag once on create, and stores how many entries it removed', async () => {
        const row = await Invalidation.create({ pattern: 'AdminVolume:1', tags: ['AdminTest.title'], who: 'alice' })
        expect(row.removed).to.equal(4)
        expect(await keysOf('AdminTest.owner')).to.deep.equal(['AdminVolume:2>owner', 'AdminVolume:3>owner'])
        expect(await keysOf('AdminTest.title')).to.deep.equal([])

        const stored = await Invalidation.findByPk(row.id, { rejectOnEmpty: true })
        expect(stored.get({ plain: true })).to.include({ pattern: 'AdminVolume:1', who: 'alice', removed: 4 })
        expect(stored.tags).to.deep.equal(['AdminTest.title'])
        expect(stored.when).to.be.instanceOf(Date)
      })

      it('never runs again when the row is saved later', async () => {
        const row = await Invalidation.create({ tags: ['AdminTest.owner'], who: 'alice' })
        await fill(3)
        await row.update({ who: 'bob' })
        await Invalidation.update({ who: 'carol' }, { where: { id: row.id } })
        expect(await keysOf('AdminTest.owner')).to.have.length(3)
        expect((await row.reload()).removed).to.equal(3)
      })

      it('runs each row of a bulk create exactly once, with or without individual hooks', async () => {
        const rows = await Invalidation.bulkCreate([
          { tags: ['AdminTest.owner'], who: 'a' },
          { pattern: 'AdminTitle:*', who: 'b' },
        ])
        expect(rows.map(row => row.removed)).to.deep.equal([3, 3])
        await fill(3)
        const individual = await Invalidation.bulkCreate([{ tags: ['AdminTest.owner', 'AdminTest.title'], who: 'c' }], { individualHooks: true })
        expect(individual[0].removed).to.equal(6)
        const stored = await Invalidation.findAll({ order: [['id', 'ASC']] })
        expect(stored.map(row => row.removed)).to.deep.equal([3, 3, 6])
      })

      it('refuses a row with nothing to invalidate, and invalidates nothing', async () => {
        for (const attributes of [{ who: 'alice' }, { pattern: '  ', tags: [' '], who: 'alice' }]) {
          const error = await Invalidation.create(attributes).then(
            () => undefined,
            (caught: Error) => caught,
          )
          expect(error?.message).to.match(/give a pattern, at least one tag, or both/)
        }
        expect(await Invalidation.count()).to.equal(0)
        expect(await keysOf('AdminTest.owner')).to.have.length(3)
      })

      it('is defined once per Sequelize instance', () => {
        expect(defineInvalidationModel(sequelize)).to.equal(Invalidation)
      })
    })
  }
}
