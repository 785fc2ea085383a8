import { expect } from 'chai'
import { configureBackend } from '../support/backends'
import { cliAt, json, seeded } from './support'

describe('cacheme tags / keys', () => {
  it('lists the tags under the prefix with their member counts', async () => {
    const prefix = await seeded()
    const text = await cliAt(prefix, ['tags'])
    expect(text.code).to.equal(0)
    expect(text.stdout).to.match(/^TAG\s+MEMBERS\n/)
    expect(text.stdout).to.match(/^cli\.owner\s+3$/m)
    expect(text.stdout).to.match(/^cli\.report\s+2$/m)

    const doc = await cliAt(prefix, ['tags', '--json'])
    expect(doc.code).to.equal(0)
    expect(json(doc)).to.deep.equal({
      prefix,
      tags: [
        { tag: 'cli.owner', members: 3 },
        { tag: 'cli.report', members: 2 },
      ],
    })
  })

  it('says so when the prefix holds no tags', async () => {
    const prefix = configureBackend('redis')
    expect(await cliAt(prefix, ['tags'])).to.include({ code: 0, stdout: `no tags under prefix ${prefix}\n` })
    expect(json(await cliAt(prefix, ['--json', 'tags']))).to.deep.equal({ prefix, tags: [] })
  })

  it('lists the keys of a tag as the key function made them', async () => {
    const prefix = await seeded()
    const text = await cliAt(prefix, ['keys', 'cli.owner'])
    expect(text).to.include({ code: 0, stdout: 'Book:1>owner\nBook:2>owner\nBook:3>owner\n' })
    expect(json(await cliAt(prefix, ['keys', 'cli.report', '--json']))).to.deep.equal({ tag: 'cli.report', keys: ['report:2023', 'report:2024'] })
  })

  it('exits with 1 and says which tag is unknown', async () => {
    const prefix = await seeded()
    const result = await cliAt(prefix, ['keys', 'no.such.tag'])
    expect(result.code).to.equal(1)
    expect(result.stdout).to.equal('')
    expect(result.stderr).to.equal(`cacheme: unknown tag "no.such.tag": no set ${prefix}__tag:no.such.tag (cacheme tags lists the tags)\n`)
  })
})
