import { configureBackend } from '../support/backends'
import type { TestDatabase } from '../support/fixtures'
import { memoizedTitle, openShelf, seedShelf, shelfUrl, ShelfCache, staleness, type Shelf, type Staleness } from './shelf'

/** A suite's shelf, shared with writer processes: opened with its outbox table before the suite's tests, closed after. */
export interface ShelfSuite {
  readonly url: string
  readonly shelf: Shelf
  readonly cache: ShelfCache
  readonly title: (id: number) => Promise<string>
  /** The prefix `cached()` configured last. */
  readonly prefix: string
  /** cacheme configured under a prefix of its own, with the outbox or not; the shelf seeded, no outbox row; every value cached. */
  cached(outbox: boolean): Promise<Staleness>
  /** What the cache serves now, compared with the rows. */
  staleness(): Promise<Staleness>
  outboxRows(): Promise<number>
}

export function shelfSuite(db: TestDatabase, relayAfter: number): ShelfSuite {
  const state = {} as { -readonly [K in keyof ShelfSuite]: ShelfSuite[K] }
  const outboxOptions = () => ({ outbox: { sequelize: state.shelf.sequelize, relayAfter } })
  before(async () => {
    state.url = shelfUrl(db)
    state.shelf = openShelf(state.url)
    configureBackend('redis', outboxOptions())
    await state.shelf.sequelize.sync({ force: true })
    state.cache = new ShelfCache(state.shelf)
    state.cache.registerModels([state.shelf.Book, state.shelf.Owner])
    state.title = memoizedTitle(state.shelf)
  })
  after(() => state.shelf.sequelize.close())
  state.staleness = () => staleness(state.shelf, state.cache, state.title)
  state.outboxRows = () => state.shelf.sequelize.models.cacheme_outbox.count()
  state.cached = async outbox => {
    state.prefix = configureBackend('redis', outbox ? outboxOptions() : {})
    await seedShelf(state.shelf)
    await state.shelf.sequelize.models.cacheme_outbox.destroy({ where: {} })
    return state.staleness()
  }
  return state
}
