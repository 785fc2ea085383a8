import { expect } from 'chai'
import { invalidate } from '../../src'
import { cliAt, json, seeded } from './support'

describe('cacheme gc', () => {
  it('runs gc() and prints its report', async () => {
    const prefix = await seeded()
    // A pattern deletes the entry and leaves its members in the sets: Book:1's set, User:7's and the tag's.
    await invalidate({ pattern: 'Book:1' })

    const text = await cliAt(prefix, ['gc'])
    expect(text).to.include({ code: 0, stdout: 'examined 8 sets; removed 3 dead members and 0 expired hash fields\n' })
    expect(json(await cliAt(prefix, ['gc', '--json']))).to.deep.equal({ sets: 7, membersRemoved: 0, fieldsRemoved: 0 })
  })
})
