import 'reflect-metadata' // legacy decorators with emitDecoratorMetadata: load before any decorated class

// In an application: import { cachemeTags, configure, invalidate, shutdown } from 'cacheme'
import { cachemeTags, configure, invalidate, shutdown } from '../../src'
import { BooksRepository, type BookRow } from './books.repository'
import { BooksService, calls } from './books.service'
import { Injector } from './injector'
import { run } from '../support/run'

/** What the calls below must add up to, so that the script fails when caching does not work. */
const EXPECTED: Record<string, { hits: number; misses: number }> = {
  'BooksService.findOne': { hits: 1, misses: 2 },
  'BooksService.findByAuthor': { hits: 2, misses: 2 },
}

async function main(): Promise<boolean> {
  // REDIS_URL when set, else the embedded in-process store: the script needs nothing installed.
  const url = process.env.REDIS_URL
  configure(url ? { redis: url, prefix: 'nest-example:', ttl: 600 } : { store: 'memory' })
  console.log(`cacheme NestJS-style example — store: ${url ? `Redis at ${url} (REDIS_URL)` : 'in-process memory store'}`)
  try {
    await invalidate({ pattern: '*' }) // start cold, even on a shared Redis holding an earlier run's entries
    const injector = new Injector()
    const service = injector.get(BooksService)
    const repository = injector.get(BooksRepository)

    const step = async <T>(label: string, call: () => Promise<T>, show: (result: T) => string) => {
      const seen = calls.length
      const queries = repository.queries
      const result = await call()
      const outcome =
        calls
          .slice(seen)
          .map(entry => entry.outcome)
          .join(', ') || '-'
      const count = repository.queries - queries
      console.log(`  ${label.padEnd(20)}${outcome.padEnd(6)}${`${count} ${count === 1 ? 'query' : 'queries'}`.padEnd(11)}${show(result)}`)
    }
    const title = (book: BookRow | null) => JSON.stringify(book?.title)
    const titles = (books: BookRow[]) => books.map(book => JSON.stringify(book.title)).join(', ')
    await step('findOne(1)', () => service.findOne(1), title)
    await step('findOne(1)', () => service.findOne(1), title)
    await step('findByAuthor(1)', () => service.findByAuthor(1), titles)
    await step('findByAuthor(1)', () => service.findByAuthor(1), titles)
    await step(
      'rename(1)',
      () => service.rename(1, 'The Left Hand of Darkness (1969)'),
      () => 'a write: invalidates Book:1, and so both entries that read it',
    )
    await step('findOne(1)', () => service.findOne(1), title)
    await step('findByAuthor(1)', () => service.findByAuthor(1), titles)
    await step('findByAuthor(1)', () => service.findByAuthor(1), titles)

    let ok = true
    for (const [tag, expected] of Object.entries(EXPECTED)) {
      const { hits, misses } = cachemeTags[tag].stats()
      console.log(`${tag}: ${hits} hits, ${misses} misses`)
      if (hits !== expected.hits || misses !== expected.misses) {
        console.error(`FAILED: ${tag} should have ${expected.hits} hits and ${expected.misses} misses`)
        ok = false
      }
    }
    return ok
  } finally {
    await shutdown()
  }
}

run(main)
