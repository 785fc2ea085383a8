import { expect } from 'chai'
import { cacheme, cachemeTags, CachemeError, invalidate } from '../../src'
import { BACKENDS, configureBackend } from '../support/backends'

for (const backend of BACKENDS) {
  describe(`@cacheme as a standard (TC39) decorator on the ${backend} store`, () => {
    beforeEach(() => configureBackend(backend))

    class ChapterSerializer {
      computed = 0

      @cacheme({ key: c => `Chapter:${c.chapter.id}>title`, invalidKeys: c => `Chapter:${c.chapter.id}` })
      async title(chapter: { id: number; title: string }) {
        this.computed++
        return `${chapter.title} (by ${this.constructor.name})`
      }

      @cacheme({ key: c => `count:${c.self.name}:${c.n}` })
      static async count(n: number) {
        return n * 2
      }
    }

    it('memoizes a method and reads parameters by name', async () => {
      const serializer = new ChapterSerializer()
      expect(await serializer.title({ id: 1, title: 'One' })).to.equal('One (by ChapterSerializer)')
      expect(await serializer.title({ id: 1, title: 'changed' })).to.equal('One (by ChapterSerializer)')
      expect(serializer.computed).to.equal(1)
      await invalidate({ invalidKey: 'Chapter:1' })
      expect(await serializer.title({ id: 1, title: 'changed' })).to.equal('changed (by ChapterSerializer)')
    })

    it('registers the default tag ClassName.methodName once the class is set up', async () => {
      const serializer = new ChapterSerializer()
      await serializer.title({ id: 2, title: 'Two' })
      expect(await cachemeTags['ChapterSerializer.title'].keys()).to.deep.equal(['Chapter:2>title'])
      await ChapterSerializer.count(3)
      expect(await cachemeTags['ChapterSerializer.count'].keys()).to.deep.equal(['count:ChapterSerializer:3'])
    })

    it('names the method in errors raised at call time', async () => {
      class Broken {
        @cacheme({ key: () => 'a>b>c' })
        async method() {
          return 1
        }
      }
      const error = await new Broken().method().catch((caught: unknown) => caught)
      expect(error).to.be.instanceOf(CachemeError)
      expect((error as Error).message).to.match(/^Broken\.method: .*more than one '>'/)
    })

    it('keys a parameter named __proto__ by its argument', async () => {
      class Echo {
        @cacheme({ key: c => `TP:${c.__proto__}` })
        async echo(__proto__: number) {
          return __proto__
        }

        @cacheme({ key: c => `TSP:${c.__proto__}` })
        static async echo(__proto__: number) {
          return __proto__
        }
      }
      expect([await new Echo().echo(1), await new Echo().echo(2)]).to.deep.equal([1, 2])
      expect([await Echo.echo(1), await Echo.echo(2)]).to.deep.equal([1, 2])
    })
  })
}

describe('@cacheme as a standard decorator, when applied', () => {
  it('refuses bad options naming the method', () => {
    expect(() => {
      class Serializer {
        @cacheme({ key: () => 'k', ttl: -1 })
        async method() {
          return 1
        }
      }
      void Serializer
    }).to.throw(CachemeError, /^@cacheme on method \(an instance method: a standard decorator is not told its class\): ttl must be a number of seconds >= 0/)
  })

  it('names the class of a static method it refuses, and the class is not defined', () => {
    let defined = false
    expect(() => {
      class StaticSerializer {
        @cacheme({ key: () => 'k', ttl: -1 })
        static async method() {
          return 1
        }
        static readonly marker = (defined = true)
      }
      void StaticSerializer
    }).to.throw(CachemeError, /^@cacheme on StaticSerializer\.method: ttl must be a number of seconds >= 0/)
    expect(defined).to.equal(false)
  })

  it('names the class of a static accessor it refuses', () => {
    expect(() => {
      class StaticAccessor {
        @(cacheme({ key: () => 'k' }) as any)
        static get value() {
          return 1
        }
      }
      void StaticAccessor
    }).to.throw(CachemeError, /^@cacheme on StaticAccessor\.value: applies to methods, not to a getter/)
  })

  it('refuses an accessor', () => {
    expect(() => {
      class Serializer {
        @(cacheme({ key: () => 'k' }) as any)
        get value() {
          return 1
        }
      }
      void Serializer
    }).to.throw(CachemeError, /applies to methods, not to a getter/)
  })
})
