import type { Model, ModelStatic, Transaction, WhereOptions } from 'sequelize'
import { report } from '../config'
import { OptionChecks } from '../option-checks'
import { asUpdated, matchesMoreThan, rowPages, type RowLookup } from './affected-rows'

/** Rows a bulk write may touch and still be invalidated row by row, unless its model sets `cachemeBulkLimit`. */
export const DEFAULT_BULK_LIMIT = 10_000

/** Most bulk writes touch a few rows: a first page this small reads them in one query, and costs little when it is full. */
const FIRST_PAGE_ROWS = 100

export type BulkOperation = 'Update' | 'Destroy' | 'Restore'

/** A bulk write touches more rows than its model's bulk limit, or rows that could not be read. */
const PAST_LIMIT = Symbol('cacheme.pastBulkLimit')

/**
 * What a bulk write's before-hook found: the values of the rows it is about to touch, a page
 * each (an instance holds several times its plain values), or PAST_LIMIT.
 */
export type AffectedRows = { readonly pages: Record<string, unknown>[][] } | typeof PAST_LIMIT

interface BulkOptions {
  readonly transaction?: Transaction | null
  /** The values of a bulk update. */
  readonly attributes?: Record<string, unknown>
}

/**
 * Before a bulk write: the rows `where` matches, read in pages in the write's transaction (and
 * locked in it, see findRows), keeping only their values. When the first (small) page is full, one
 * query tells whether they are more than the model's bulk limit, before any more is read: then none
 * is kept, so memory is bounded by the limit whatever the write touches, and a write past it costs
 * that page and that query. Rows that cannot be read may be any: the write is then treated as past the
 * limit, and the fault reported.
 */
export async function readAffected(model: ModelStatic<Model>, where: WhereOptions, lookup: RowLookup): Promise<AffectedRows> {
  try {
    const limit = bulkLimit(model)
    const pages: Record<string, unknown>[][] = []
    let rows = 0
    for await (const page of rowPages(model, where, lookup, { firstPageRows: FIRST_PAGE_ROWS, maxRows: limit + 1 })) {
      rows += page.length
      if (rows > limit) return PAST_LIMIT
      if (pages.length === 0 && page.length === FIRST_PAGE_ROWS && Number.isFinite(limit) && (await matchesMoreThan(model, where, lookup, limit))) return PAST_LIMIT
      pages.push(page.map(row => row.dataValues as Record<string, unknown>))
    }
    return { pages }
  } catch (error) {
    report(error, { operation: 'invalidate', key: model.name })
    return PAST_LIMIT
  }
}

/**
 * After it: each page of rows, as they were and, for an update, as they are, is told to `changed`
 * (the model's listeners, with the page that names its intent) and dropped. Past the limit there
 * are no pages: the caller invalidates every entry under the prefix instead, once the write is
 * committed (a guard for the whole prefix and the deletion of every entry, in bounded steps, keep
 * the no-stale guarantee without a key per row).
 */
export async function announceAffected(
  model: ModelStatic<Model>,
  affected: AffectedRows,
  operation: BulkOperation,
  options: BulkOptions,
  changed: (rows: readonly Model[], page: object) => Promise<void> | undefined,
): Promise<void> {
  if (affected === PAST_LIMIT) return
  const lookup = { transaction: options.transaction }
  for (let values = affected.pages.shift(); values !== undefined; values = affected.pages.shift()) {
    const rows = model.bulkBuild(values, { raw: true, isNewRecord: false })
    await changed(operation === 'Update' ? [...rows, ...(await asUpdated(model, rows, options.attributes, lookup))] : rows, values)
  }
}

/** Whether a bulk write touches more rows than its model's limit: every entry under the prefix is then invalidated instead. */
export function isPastLimit(affected: AffectedRows): boolean {
  return affected === PAST_LIMIT
}

/** The pages of rows a bulk write found (none past the limit), each also naming its intent. */
export function pagesOf(affected: AffectedRows): readonly Record<string, unknown>[][] {
  return affected === PAST_LIMIT ? [] : affected.pages
}

/** A model's `static cachemeBulkLimit`: a whole number of rows, or Infinity never to invalidate everything. */
function bulkLimit(model: ModelStatic<Model>): number {
  const limit = (model as { cachemeBulkLimit?: unknown }).cachemeBulkLimit ?? DEFAULT_BULK_LIMIT
  return limit === Infinity ? limit : new OptionChecks(model.name).wholeNumber('cachemeBulkLimit', limit, 0, 'rows')
}
