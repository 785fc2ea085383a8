import { invalidate } from '../invalidation'
import { OptionChecks } from '../option-checks'

/** What one admin invalidation clears: a glob pattern inside the prefix, tags, or both. */
export interface AdminTargets {
  readonly pattern: string | null
  readonly tags: readonly string[]
}

/** Past these, a form submission is a mistake or an attack, not an administrator's choice. */
const MAX_TAGS = 500
const MAX_LENGTH = 1024

/** Checks and normalises the targets: trimmed, no empty or duplicate tags, at least one target. */
export function checkedTargets(pattern: unknown, tags: unknown): AdminTargets {
  const checks = new OptionChecks('invalidation')
  if (pattern !== null && pattern !== undefined && typeof pattern !== 'string') checks.fail(`pattern must be a string, got ${typeof pattern}`)
  if (!Array.isArray(tags) && tags !== null && tags !== undefined) checks.fail('tags must be an array of strings')
  const chosenPattern = typeof pattern === 'string' && pattern.trim() !== '' ? pattern.trim() : null
  const chosenTags = [
    ...new Set(
      ((tags ?? []) as unknown[])
        .map(tag => {
          if (typeof tag !== 'string') return checks.fail(`every tag must be a string, got ${typeof tag}`)
          return tag.trim()
        })
        .filter(tag => tag !== ''),
    ),
  ]
  if (chosenPattern === null && chosenTags.length === 0) checks.fail('give a pattern, at least one tag, or both')
  if (chosenPattern !== null && chosenPattern.length > MAX_LENGTH) checks.fail(`the pattern is longer than ${MAX_LENGTH} characters`)
  if (chosenTags.length > MAX_TAGS) checks.fail(`at most ${MAX_TAGS} tags at once, got ${chosenTags.length}`)
  if (chosenTags.some(tag => tag.length > MAX_LENGTH)) checks.fail(`a tag is longer than ${MAX_LENGTH} characters`)
  return { pattern: chosenPattern, tags: chosenTags }
}

/** Invalidates the targets once: the pattern, then each tag. Returns how many entries were removed in all. */
export async function invalidateTargets(targets: AdminTargets): Promise<number> {
  let removed = 0
  if (targets.pattern !== null) removed += await invalidate({ pattern: targets.pattern })
  for (const tag of targets.tags) removed += await invalidate({ tag })
  return removed
}
