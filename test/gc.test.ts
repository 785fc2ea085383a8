import { expect } from 'chai'
import { cacheme, cachemeSettled, configure, invalidate } from '../src'
import { gc } from '../src/gc'
import { BACKENDS, configureBackend, redisClient } from './support/backends'

const owner = cacheme({
  key: c => `Book:${c.id}>owner`,
  invalidKeys: c => [`User:${c.id}`],
  tag: 'gc.owner',
})(async (id: number) => ({ id }))

for (const backend of BACKENDS) {
  describe(`gc() on the ${backend} store`, () => {
    it('removes the members that pattern invalidation leaves in sets without expiry', async () => {
      configureBackend(backend)
      await Promise.all([owner(1), owner(2)])
      await cachemeSettled()
      await invalidate({ pattern: 'Book:1' })

      // Book:1>owner from User:1's set and from the tag; User:1's set is then empty and goes.
      expect(await gc()).to.deep.equal({ sets: 3, membersRemoved: 2, fieldsRemoved: 0 })
      expect(await gc()).to.deep.equal({ sets: 2, membersRemoved: 0, fieldsRemoved: 0 })
      expect(await invalidate({ invalidKey: 'User:2' })).to.equal(1)
    })
  })
}

describe('gc() while cacheme is disabled', () => {
  it('leaves Redis alone', async () => {
    const prefix = configureBackend('redis')
    await owner(1)
    await invalidate({ pattern: '*' })
    configure({ redis: redisClient(), prefix, enabled: false, onError: () => {} })
    expect(await gc()).to.deep.equal({ sets: 0, membersRemoved: 0, fieldsRemoved: 0 })
    configure({ redis: redisClient(), prefix, onError: () => {} })
    expect(await gc()).to.deep.equal({ sets: 2, membersRemoved: 2, fieldsRemoved: 0 })
  })
})
