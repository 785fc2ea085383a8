import { CachemeError } from '../errors'
import { invalidate } from '../invalidation'

/** What one admin invalidation clears: a glob pattern inside the prefix, tags, or both. */
export interface InvalidationRequest {
  readonly pattern: string | null
  readonly tags: readonly string[]
}

/** Past these, a form submission is a mistake or an attack, not an administrator's choice. */
const MAX_TAGS = 500
const MAX_LENGTH = 1024

/** Checks and normalises a request: trimmed, no empty or duplicate tags, at least one target. */
export function checkedRequest(pattern: unknown, tags: unknown): InvalidationRequest {
  const fail = (problem: string): never => {
    throw new CachemeError('INVALID_OPTIONS', `invalidation: ${problem}`)
  }
  if (pattern !== null && pattern !== undefined && typeof pattern !== 'string') fail(`pattern must be a string, got ${typeof pattern}`)
  if (!Array.isArray(tags) && tags !== null && tags !== undefined) fail('tags must be an array of strings')
  const chosenPattern = typeof pattern === 'string' && pattern.trim() !== '' ? pattern.trim() : null
  const chosenTags = [
    ...new Set(
      ((tags ?? []) as unknown[])
        .map(tag => {
          if (typeof tag !== 'string') return fail(`every tag must be a string, got ${typeof tag}`)
          return tag.trim()
        })
        .filter(tag => tag !== ''),
    ),
  ]
  if (chosenPattern === null && chosenTags.length === 0) fail('give a pattern, at least one tag, or both')
  if (chosenPattern !== null && chosenPattern.length > MAX_LENGTH) fail(`the pattern is longer than ${MAX_LENGTH} characters`)
  if (chosenTags.length > MAX_TAGS) fail(`at most ${MAX_TAGS} tags at once, got ${chosenTags.length}`)
  if (chosenTags.some(tag => tag.length > MAX_LENGTH)) fail(`a tag is longer than ${MAX_LENGTH} characters`)
  return { pattern: chosenPattern, tags: chosenTags }
}

/** Runs the invalidation once: the pattern, then each tag. Returns how many entries were removed in all. */
export async function runInvalidation(request: InvalidationRequest): Promise<number> {
  let removed = 0
  if (request.pattern !== null) removed += await invalidate({ pattern: request.pattern })
  for (const tag of request.tags) removed += await invalidate({ tag })
  return removed
}
