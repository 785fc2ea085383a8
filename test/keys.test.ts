import { expect } from 'chai'
import { CachemeError } from '../src'
import { KeyLayout, escapeGlob } from '../src/keys'

describe('KeyLayout', () => {
  const layout = new KeyLayout('CM:')

  it('stores a key with > as a field of a hash', () => {
    expect(layout.entry('Book:100>owner', 'm')).to.deep.equal({ full: 'CM:Book:100>owner', key: 'CM:Book:100', field: 'owner' })
  })

  it('stores a key without > as an entry of its own', () => {
    expect(layout.entry('Book:100', 'm')).to.deep.equal({ full: 'CM:Book:100', key: 'CM:Book:100', field: undefined })
  })

  it('maps a set member back to its entry', () => {
    expect(layout.entryOfMember('CM:Book:1>owner')).to.deep.equal(layout.entry('Book:1>owner', 'm'))
    expect(layout.entryOfMember('CM:Book:1')).to.deep.equal(layout.entry('Book:1', 'm'))
  })

  const refused: [unknown, RegExp][] = [
    ['a>b>c', /more than one '>'/],
    ['', /non-empty string, got an empty string/],
    [42, /non-empty string, got number 42/],
    [undefined, /got undefined/],
    ['>owner', /both sides/],
    ['Book:1>', /both sides/],
    ['__seq', /reserves/],
    ['Book:1:invalid', /dependency sets/],
    ['Book:1:invalid>owner', /dependency sets/],
    ['x'.repeat(1025), /limit is 1024/],
  ]
  for (const [key, message] of refused) {
    it(`refuses the key ${JSON.stringify(key)?.slice(0, 20)} naming the method`, () => {
      let error: unknown
      try {
        layout.entry(key, 'BookSerializer.getOwner')
      } catch (caught) {
        error = caught
      }
      expect(error).to.be.instanceOf(CachemeError)
      expect((error as CachemeError).code).to.equal('INVALID_KEY')
      expect((error as Error).message)
        .to.match(/^BookSerializer\.getOwner: /)
        .and.match(message)
    })
  }

  it('names dependency sets, tag sets and guards inside the prefix', () => {
    expect(layout.invalidSet('User:1')).to.equal('CM:User:1:invalid')
    expect(layout.tagSet('BookSerializer.getOwner')).to.equal('CM:__tag:BookSerializer.getOwner')
    expect(layout.guard('CM:User:1:invalid')).to.equal('CM:__gen:User:1:invalid')
    expect(layout.seq).to.equal('CM:__seq')
  })

  it('reads dependency and tag set names back to their invalid key or tag', () => {
    expect(layout.invalidKeyOfSet(layout.invalidSet('User:1'))).to.equal('User:1')
    expect(layout.tagOfSet(layout.tagSet('BookSerializer.getOwner'))).to.equal('BookSerializer.getOwner')
    expect(layout.tagOfSet(layout.tagSet('ends:invalid'))).to.equal('ends:invalid')
    expect(layout.invalidKeyOfSet(layout.tagSet('ends:invalid'))).to.equal(undefined)
    expect(layout.tagOfSet(layout.invalidSet('User:1'))).to.equal(undefined)
    expect(layout.invalidKeyOfSet('OTHER:User:1:invalid')).to.equal(undefined)
    expect(layout.invalidKeyOfSet('CM:Book:1')).to.equal(undefined)
  })

  it('confines patterns to the prefix, escaping its glob characters', () => {
    expect(new KeyLayout('a*[b]:').pattern('Book:*')).to.equal('a\\*\\[b\\]:Book:*')
    expect(escapeGlob('?\\')).to.equal('\\?\\\\')
  })

  it('tells entries from bookkeeping for pattern deletion', () => {
    expect(layout.isEntryName('CM:Book:1')).to.equal(true)
    expect(layout.isEntryName('CM:Book:1:invalid')).to.equal(false)
    expect(layout.isEntryName('CM:__tag:x')).to.equal(false)
    expect(layout.isEntryName('OTHER:Book:1')).to.equal(false)
  })

  it('refuses a prefix with > or an empty one', () => {
    expect(() => new KeyLayout('a>b')).to.throw(CachemeError, /prefix/)
    expect(() => new KeyLayout('')).to.throw(CachemeError, /non-empty/)
  })

  it('refuses a reserved invalid key, whose set would collide with a guard', () => {
    expect(() => layout.invalidSet('__gen:x')).to.throw(CachemeError, /reserves/)
  })
})
