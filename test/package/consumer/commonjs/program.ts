// A consumer of the packed cacheme (the root and cacheme/instance-cache), compiled once with legacy decorators and once with TC39 ones.
import assert from 'node:assert/strict'
import { cacheme, cachemeTags, configure, invalidate, shutdown, type Container } from 'cacheme'
import { readInstances } from './instance-cache'

export interface Book {
  id: number
  title: string
}

/** A declared container: `self`, `args`, `result` and the parameter `book` are typed. */
interface TitleCall extends Container<Shelf, [book: Book], string> {
  book: Book
}

export class Shelf {
  computed = 0

  @cacheme<TitleCall>({
    key: c => `Book:${c.book.id}>title`,
    invalidKeys: c => [`Book:${c.args[0].id}`, `Title:${c.result?.toLowerCase()}`],
    hit: (key, result) => void result.toUpperCase(),
    tag: 'shelf-title',
  })
  async title(book: Book): Promise<string> {
    this.computed++
    return book.title.toUpperCase()
  }

  @cacheme({ key: c => `Shelf.count:${c.n}` })
  static async count(n: number): Promise<number> {
    return n * 2
  }

  // @ts-expect-error the container declares a Book argument
  @cacheme<TitleCall>({ key: c => `Book:${c.book.id}` })
  async byId(id: number): Promise<string> {
    return String(id)
  }

  // @ts-expect-error the container declares a string result
  @cacheme<TitleCall>({ key: c => `Book:${c.book.id}` })
  async pages(book: Book): Promise<number> {
    return book.id
  }

  // @ts-expect-error a decorated method returns a Promise
  @cacheme({ key: () => 'sync' })
  sync(): number {
    return 1
  }
}

class Other {
  // @ts-expect-error the container declares self to be a Shelf
  @cacheme<TitleCall>({ key: c => `Book:${c.book.id}` })
  async title(book: Book): Promise<string> {
    return book.title
  }
}

const double = cacheme({ key: c => `double:${c.x}` })(async (x: number) => x * 2)
const triple = cacheme<Container<unknown, [x: number], number>>({ key: c => `triple:${c.args[0].toFixed(0)}` })((x: number) => x * 3)

/** Compiled, never called: wrapped functions and decorated methods keep their parameter types. */
export function wrongCalls(shelf: Shelf): void {
  // @ts-expect-error double takes a number
  void double('21')
  // @ts-expect-error title takes a Book
  void shelf.title(1)
  // @ts-expect-error the container declares a number argument
  cacheme<Container<unknown, [x: number], number>>({ key: c => `${c.args[0]}` })(async (x: string) => x.length)
}

export async function main(mode: string): Promise<void> {
  configure({ store: 'memory', prefix: `pkg-${mode}:` })
  const shelf = new Shelf()

  const first: Promise<string> = shelf.title({ id: 1, title: 'dune' })
  assert.equal(await first, 'DUNE')
  assert.equal(await shelf.title({ id: 1, title: 'changed' }), 'DUNE', 'the second call is a hit')
  assert.equal(shelf.computed, 1)
  assert.deepEqual(await cachemeTags['shelf-title'].keys(), ['Book:1>title'])
  assert.equal(await invalidate({ invalidKey: 'Book:1' }), 1)
  assert.equal(await shelf.title({ id: 1, title: 'changed' }), 'CHANGED')
  assert.equal(await cachemeTags['shelf-title'].invalidate(), 1)

  const count: Promise<number> = Shelf.count(2)
  assert.equal(await count, 4)
  const doubled: Promise<number> = double(21)
  assert.equal(await doubled, 42)
  const tripled: Promise<number> = triple(2)
  assert.equal(await tripled, 6)
  await readInstances()
  await shutdown()
  void Other
  console.log(`cacheme package works with ${mode} decorators`)
}
