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

  it('refuses a prefix that does not end with a separator, which would reach names of other applications', () => {
    for (const prefix of ['app', 'CM', 'a:b']) {
      expect(() => new KeyLayout(prefix), prefix)
        .to.throw(CachemeError, /prefix must end with one of : \/ \. \|/)
        .with.property('code', 'INVALID_CONFIG')
    }
    for (const prefix of ['CM:', 'app/', 'app.', 'app|', 't[1]x*:']) expect(new KeyLayout(prefix).prefix).to.equal(prefix)
  })

  it('refuses a prefix with a lone surrogate', () => {
    expect(() => new KeyLayout('app\uD800:')).to.throw(CachemeError, /lone surrogate/)
  })

  describe('lone surrogates, which Redis stores as U+FFFD so that different keys collide', () => {
    const lone = ['\uD800', '\uDBFF', 'Book:\uDC00', 'x\uDFFF>f', 'Book:1>\uD83D', '\uDE00\uD83D']
    const refusal = (act: () => unknown): string | undefined => {
      try {
        act()
      } catch (error) {
        return error instanceof CachemeError ? `${error.code}: ${error.message}` : String(error)
      }
      return undefined
    }

    for (const text of lone) {
      it(`refuses ${JSON.stringify(text)} as a key, an invalid key, a tag and a pattern`, () => {
        expect(refusal(() => layout.entry(text, 'Serializer.method'))).to.match(/^INVALID_KEY: Serializer\.method: .*lone surrogate/)
        expect(refusal(() => layout.invalidSet(text, 'Serializer.method'))).to.match(/^INVALID_KEY: Serializer\.method: .*lone surrogate/)
        expect(refusal(() => layout.tagSet(text))).to.match(/^INVALID_KEY: tag ".*lone surrogate/)
        expect(refusal(() => layout.match(text, '--pattern'))).to.match(/^INVALID_KEY: --pattern: .*lone surrogate/)
      })
    }

    it('accepts characters outside the BMP, whose surrogates come in pairs', () => {
      expect(layout.entry('Book:\u{1F600}>\u{1F601}', 'm').field).to.equal('\u{1F601}')
      expect(layout.invalidSet('User:\u{1F600}')).to.equal('CM:User:\u{1F600}:invalid')
      expect(layout.tagSet('\u{1F600}')).to.equal('CM:__tag:\u{1F600}')
      expect(layout.match('\u{1F600}*', 'm').keys).to.equal('CM:\u{1F600}*')
    })
  })

  describe('patterns', () => {
    it('match whole keys without >, and hash fields with one: <hash glob>><field glob>', () => {
      expect(layout.match('Book:*', 'm')).to.deep.equal({ keys: 'CM:Book:*', field: undefined })
      expect(layout.match('HB:*>owner', 'm')).to.deep.equal({ keys: 'CM:HB:*', field: 'owner' })
      expect(layout.match('HB:[12]>o*', 'm')).to.deep.equal({ keys: 'CM:HB:[12]', field: 'o*' })
      expect(new KeyLayout('a*[b]:').match('*>*', 'm')).to.deep.equal({ keys: 'a\\*\\[b\\]:*', field: '*' })
    })

    it('split at the first >: a second one or an empty side is in no key, and matches nothing', () => {
      expect(layout.match('<b>x*</b>', 'm')).to.deep.equal({ keys: 'CM:<b', field: 'x*</b>' })
      expect(layout.match('>owner', 'm')).to.deep.equal({ keys: 'CM:', field: 'owner' })
      expect(layout.match('HB:*>', 'm')).to.deep.equal({ keys: 'CM:HB:*', field: '' })
    })
  })
})
