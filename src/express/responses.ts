import type { NextFunction, Request, Response } from 'express'
import { PkOnlyList, PkOnlyModel } from '../instance-cache/fields'

/** What every refusal sends: what went wrong, and the details when there are several. */
export interface ErrorBody {
  readonly error: string
  readonly messages?: readonly string[]
}

/**
 * A row's cached data as JSON for a client: a PK field becomes the related row's primary key, a
 * PKList field the array of primary keys, a Date its ISO string (null when invalid); arrays and
 * plain objects are converted through, other values are kept.
 */
export function toResponse(data: Record<string, unknown>): Record<string, unknown> {
  return plain(data) as Record<string, unknown>
}

function plain(value: unknown): unknown {
  if (value instanceof PkOnlyModel) return value.pk
  if (value instanceof PkOnlyList) return [...value.pks]
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    // fromEntries defines properties: a "__proto__" field stays a field.
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]))
  }
  return value
}

export function badRequest(res: Response, body: ErrorBody): void {
  res.status(400).json(body)
}

export function notFound(res: Response): void {
  res.status(404).json({ error: 'not found' })
}

/** Answers 405 for the methods a path does not serve; OPTIONS goes on to Express's own answer. */
export function onlyMethods(methods: string): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (req.method === 'OPTIONS') return next()
    res.set('Allow', methods).status(405).json({ error: 'method not allowed' })
  }
}

/** The router's error handler: answers the errors a client caused, passes the others on. */
export function answerClientErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  const answer = clientError(error)
  if (!answer || res.headersSent) return next(error)
  res.status(answer.status).json(answer.body)
}

/** The answer to an error the client caused: a malformed body, a failed validation, a conflict. */
function clientError(error: unknown): { status: number; body: ErrorBody } | undefined {
  if (error === null || typeof error !== 'object') return undefined
  const { name, errors, status, expose, message } = error as { name?: unknown; errors?: unknown; status?: unknown; expose?: unknown; message?: unknown }
  const messages = Array.isArray(errors) ? errors.map(item => String((item as { message?: unknown })?.message ?? item)) : []
  if (name === 'SequelizeUniqueConstraintError') return { status: 409, body: { error: 'conflict', messages } }
  if (name === 'SequelizeForeignKeyConstraintError')
    return { status: 409, body: { error: 'conflict', messages: ['a row it refers to, or that refers to it, does not allow this'] } }
  if (name === 'SequelizeValidationError') return { status: 400, body: { error: 'validation failed', messages } }
  // express.json()'s errors: malformed JSON, too large, unsupported charset.
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) return { status, body: { error: String(message) } }
  return undefined
}
