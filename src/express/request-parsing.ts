import type { Request } from 'express'
import type { Model, ModelStatic } from 'sequelize'
import { pkKindOf, pkOfKind } from '../instance-cache/pk-type'
import type { Pk } from '../instance-cache/row-identity'
import type { ErrorBody } from './responses'

/** A page of the list, as `?offset=&limit=` ask for it. */
export interface Page {
  readonly offset: number
  readonly limit: number
}

/** The page the query asks for, or what is wrong with it. */
export function pageOf(query: Request['query'], pageSize: number, maxPageSize: number): Page | string {
  const number = (name: string, fallback: number, min: number): number | string => {
    const value = query[name]
    if (value === undefined) return fallback
    if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || Number(value) < min) return `${name} must be a whole number >= ${min}`
    return Number(value)
  }
  const offset = number('offset', 0, 0)
  const limit = number('limit', pageSize, 1)
  if (typeof offset === 'string') return offset
  if (typeof limit === 'string') return limit
  return { offset, limit: Math.min(limit, maxPageSize) }
}

/** The primary key a URL's `:pk` segment names, through `parsePk`; undefined when it is malformed. */
export function pkOfSegment(segment: unknown, parsePk: (segment: string) => Pk | undefined): Pk | undefined {
  const pk = typeof segment === 'string' ? parsePk(segment) : undefined
  if ((typeof pk === 'number' && Number.isFinite(pk)) || (typeof pk === 'string' && pk !== '')) return pk
  return undefined
}

/** Parses a URL segment by the primary key's type, into the form the row holds (and the hooks' keys spell). */
export function defaultParsePk(model: ModelStatic<Model>): (segment: string) => Pk | undefined {
  const kind = pkKindOf(model)
  return segment => pkOfKind(kind, segment)
}

/** What a write may set and what a create must (a primary key the database does not make). */
export interface WritableFields {
  readonly fields: readonly string[]
  readonly required?: readonly string[]
}

/** The body's values for these attributes after Sequelize's type checks, or the 400 answer that refuses them. */
export function bodyValues(body: unknown, model: ModelStatic<Model>, { fields, required = [] }: WritableFields): { values: Record<string, unknown> } | { refusal: ErrorBody } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { refusal: { error: 'the body must be a JSON object' } }
  const attributes = model.getAttributes() as Record<string, { type?: { key?: string; validate?: (value: unknown) => unknown } }>
  const values: Record<string, unknown> = {}
  const messages = required.filter(field => !Object.hasOwn(body, field) || (body as Record<string, unknown>)[field] === null).map(field => `${field} is required`)
  for (const field of fields) {
    if (!Object.hasOwn(body, field)) continue
    const value = (body as Record<string, unknown>)[field]
    values[field] = value
    if (value === null) continue
    // What Sequelize's typeValidation would check; a JSON object or array only where the type holds one.
    const type = attributes[field].type
    if (typeof value === 'object' && !STRUCTURED_TYPES.has(type?.key ?? '')) {
      messages.push(`${field}: ${JSON.stringify(value)} is not a valid ${(type?.key ?? 'value').toLowerCase()}`)
      continue
    }
    try {
      type?.validate?.(value)
    } catch (error) {
      messages.push(`${field}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return messages.length === 0 ? { values } : { refusal: { error: 'validation failed', messages } }
}

const STRUCTURED_TYPES = new Set(['JSON', 'JSONB', 'ARRAY', 'RANGE', 'HSTORE', 'GEOMETRY', 'GEOGRAPHY', 'VIRTUAL'])
