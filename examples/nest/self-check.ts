// In an application: import { cachemeTags } from 'cacheme'
import { cachemeTags } from '../../src'
import { calls, type BookData } from './books.service'
import { sql } from './models'

/** What the requests below must add up to, so that the check fails when caching does not work. */
const EXPECTED: Record<string, { hits: number; misses: number }> = {
  'BooksService.findOne': { hits: 1, misses: 2 },
  'BooksService.findByAuthor': { hits: 2, misses: 2 },
}

/** A request sequence that shows each call's hit or miss and its SQL queries, and fails loudly when caching does not work. */
export async function selfCheck(base: string, log: (line: string) => void): Promise<void> {
  const check = (ok: boolean, problem: string) => {
    if (!ok) throw new Error(`self-check failed: ${problem}`)
  }
  const step = async (method: string, path: string, show: (body: unknown) => string, body?: unknown) => {
    const seen = calls.length
    const queries = sql.queries
    const response = await fetch(base + path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    const answer = (await response.json()) as unknown
    check(response.ok, `${method} ${path} answered ${response.status}`)
    const outcome =
      calls
        .slice(seen)
        .map(call => call.outcome)
        .join(', ') || '-'
    const count = sql.queries - queries
    log(`  ${`${method} ${path}`.padEnd(24)}${outcome.padEnd(6)}${`${count} ${count === 1 ? 'query' : 'queries'}`.padEnd(11)}${show(answer)}`)
  }
  const title = (book: unknown) => JSON.stringify((book as BookData).title)
  const titles = (books: unknown) => (books as BookData[]).map(book => JSON.stringify(book.title)).join(', ')

  log('self-check:')
  await step('GET', '/books/1', title)
  await step('GET', '/books/1', title)
  await step('GET', '/authors/1/books', titles)
  await step('GET', '/authors/1/books', titles)
  await step('PATCH', '/books/1', () => 'a write through Sequelize: its hooks invalidate Book:1, and so both entries that read it', {
    title: 'The Left Hand of Darkness (1969)',
  })
  await step('GET', '/books/1', title)
  await step('GET', '/authors/1/books', titles)
  await step('GET', '/authors/1/books', titles)
  await step('GET', '/health', health => JSON.stringify(health))

  for (const [tag, expected] of Object.entries(EXPECTED)) {
    const { hits, misses } = cachemeTags[tag].stats()
    log(`${tag}: ${hits} hits, ${misses} misses`)
    check(hits === expected.hits && misses === expected.misses, `${tag} should have ${expected.hits} hits and ${expected.misses} misses`)
  }
  log('self-check passed')
}
