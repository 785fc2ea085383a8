import { expect } from 'chai'
import { Redis } from 'ioredis'
import { QueryTypes } from 'sequelize'
import { createSequelize, testDatabases, testRedisServer, testRedisUrl } from './fixtures'

describe('test fixtures', () => {
  it('provide a Redis that answers PING', async () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
    try {
      await redis.connect()
      expect(await redis.ping()).to.equal('PONG')
    } finally {
      redis.disconnect()
    }
  })

  it('expose the private server unless REDIS_URL is set', () => {
    const server = testRedisServer()
    if (process.env.REDIS_URL) {
      expect(server).to.equal(undefined)
    } else {
      expect(server?.url).to.equal(testRedisUrl())
    }
  })

  for (const db of testDatabases()) {
    it(`provide a ${db.dialect} database that answers SELECT 1`, async () => {
      const sequelize = createSequelize(db)
      try {
        const rows = await sequelize.query<{ one: number }>('SELECT 1 AS one', { type: QueryTypes.SELECT })
        expect(Number(rows[0].one)).to.equal(1)
        expect(sequelize.getDialect()).to.equal(db.dialect)
      } finally {
        await sequelize.close()
      }
    })
  }
})
