import type { InvalidationModel } from './invalidation-model'

/** One invalidation of the history, as the page shows it. */
export interface HistoryRow {
  readonly when: Date
  readonly who: string
  readonly pattern: string | null
  readonly tags: readonly string[]
  readonly removed: number
}

/** The newest `limit` rows of the history, or why they could not be read; nothing when no history is kept. */
export async function readHistory(history: InvalidationModel | undefined, limit: number): Promise<{ rows?: HistoryRow[]; error?: string }> {
  if (history === undefined) return {}
  try {
    const rows = await history.findAll({
      order: [
        ['when', 'DESC'],
        ['id', 'DESC'],
      ],
      limit,
    })
    return { rows: rows.map(row => ({ when: row.when, who: row.who, pattern: row.pattern, tags: row.tags, removed: row.removed })) }
  } catch (error) {
    return { rows: [], error: `The history could not be read: ${error instanceof Error ? error.message : String(error)}` }
  }
}
