import { Injectable } from './injector'

export interface BookRow {
  id: number
  title: string
  authorId: number
}

/** Stands in for a database table; counts its queries so the script can show what the cache saves. */
@Injectable()
export class BooksRepository {
  queries = 0
  readonly #rows = new Map<number, BookRow>([
    [1, { id: 1, title: 'The Left Hand of Darkness', authorId: 1 }],
    [2, { id: 2, title: 'The Lathe of Heaven', authorId: 1 }],
    [3, { id: 3, title: 'Dawn', authorId: 2 }],
  ])

  async findById(id: number): Promise<BookRow | undefined> {
    this.queries++
    const row = this.#rows.get(id)
    return row && { ...row }
  }

  async findByAuthor(authorId: number): Promise<BookRow[]> {
    this.queries++
    return [...this.#rows.values()].filter(row => row.authorId === authorId).map(row => ({ ...row }))
  }

  async rename(id: number, title: string): Promise<BookRow> {
    this.queries++
    const row = this.#rows.get(id)
    if (!row) throw new Error(`no book ${id}`)
    row.title = title
    return { ...row }
  }
}
