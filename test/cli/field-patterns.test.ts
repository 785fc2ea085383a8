import { expect } from 'chai'
import { redisClient } from '../support/backends'
import { cliAt, json, seeded } from './support'

describe("cacheme invalidate --pattern '<hash glob>><field glob>'", () => {
  it('counts, then deletes the hash fields the pattern matches, leaving the other fields and keys', async () => {
    const prefix = await seeded()
    const redis = redisClient()
    await redis.hset(`${prefix}Book:1`, 'title', '0|"kept"')

    const dry = await cliAt(prefix, ['invalidate', '--pattern', 'Book:*>owner', '--dry-run'])
    expect(dry).to.include({ code: 0, stdout: 'would invalidate 3 hash fields matching Book:*>owner (dry run: nothing was removed)\n' })

    const done = await cliAt(prefix, ['invalidate', '--pattern', 'Book:[12]>own?r'], { isTTY: true })
    expect(done.stdout).to.equal('invalidated 2 hash fields matching Book:[12]>own?r\n')
    expect(done.stderr).to.include('2 hash fields match Book:[12]>own?r')
    expect(await redis.hkeys(`${prefix}Book:1`)).to.deep.equal(['title'])
    expect(await redis.hexists(`${prefix}Book:2`, 'owner')).to.equal(0)
    expect(await redis.hexists(`${prefix}Book:3`, 'owner')).to.equal(1)
    expect(await redis.exists(`${prefix}report:2023`)).to.equal(1)

    expect(json(await cliAt(prefix, ['invalidate', '--pattern', '*>*', '--json']))).to.deep.equal({ target: { pattern: '*>*' }, dryRun: false, count: 2 })
  })

  it('refuses a pattern with a lone surrogate before counting or removing anything', async () => {
    const prefix = await seeded()
    for (const pattern of ['\uD800*', 'Book:*>\uDC00']) {
      const result = await cliAt(prefix, ['invalidate', '--pattern', pattern])
      expect(result.code, pattern).to.equal(2)
      expect(result.stderr, pattern).to.match(/^cacheme: --pattern: pattern .* has a lone surrogate/)
    }
    expect(await redisClient().hexists(`${prefix}Book:1`, 'owner')).to.equal(1)
  })
})
