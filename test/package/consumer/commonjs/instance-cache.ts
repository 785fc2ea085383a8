// The instance cache through its own entry point, over two tables kept in memory.
import assert from 'node:assert/strict'
import * as root from 'cacheme'
import { BaseCache, PkOnlyModel, type BaseCacheOptions, type CachedInstance, type InvalidatorItem, type Pk } from 'cacheme/instance-cache'

interface Author {
  id: number
  name: string
}

interface Novel {
  id: number
  title: string
  authorId: number
}

const authors = new Map<Pk, Author>([[1, { id: 1, name: 'Herbert' }]])
const novels = new Map<Pk, Novel>([[7, { id: 7, title: 'Dune', authorId: 1 }]])

/** Authors by the naming convention, novels by registration. */
class LibraryCache extends BaseCache {
  constructor(options?: BaseCacheOptions) {
    super(options)
    this.register<Novel>('Novel', {
      serializer: novel => Object.fromEntries([['id', novel.id], ['title', novel.title], this.fieldToJson('PK', 'author', 'Author', novel.authorId)]),
      loader: pk => novels.get(Number(pk)),
    })
  }

  author_default_serializer(author: Author) {
    return { id: author.id, name: author.name }
  }

  author_default_loader(pk: Pk) {
    return authors.get(Number(pk))
  }

  author_default_invalidator(author: Author): InvalidatorItem[] {
    return [...novels.values()].filter(novel => novel.authorId === author.id).map(novel => ['Novel', novel.id] as const)
  }
}

/** Compiled, never called: the options are typed. */
export function wrongOptions(): void {
  // @ts-expect-error ttl is a number of seconds
  void new LibraryCache({ ttl: '60' })
  // @ts-expect-error a scheduler takes the cascade's job
  void new BaseCache({ scheduler: (job: number) => job })
}

export async function readInstances(): Promise<void> {
  assert.equal(root.BaseCache, BaseCache, 'the package root and cacheme/instance-cache export one class')
  const cache = new LibraryCache({ ttl: 60 })
  const read = (): Promise<Map<string, CachedInstance>> =>
    cache.getInstances([
      ['Novel', 7],
      ['Author', 1],
    ])

  const [novel] = (await read()).get('Novel:7')!
  assert.equal(novel.title, 'Dune')
  assert.ok(novel.author instanceof PkOnlyModel && novel.author.pk === 1, 'a PK field reads back as a PkOnlyModel')

  authors.get(1)!.name = 'Frank Herbert'
  assert.deepEqual(await cache.updateInstance('Author', 1), [['Novel', 7, 'default']])
  const [author] = (await read()).get('Author:1')!
  assert.equal(author.name, 'Frank Herbert')
  await cache.close()
}
