import type { InvalidatorItem } from './model-functions'
import { instanceId, modelName, type Pk } from './row-identity'

/** An instance that a change made stale, to refresh next: model (lower case), pk, version. */
export type FollowUp = readonly [model: string, pk: Pk, version: string]

/** Follow-ups to run, and what the cascade has already updated (so that cycles end). Plain JSON, for a job queue. */
export interface CascadeJob {
  readonly followUps: readonly FollowUp[]
  readonly visited?: readonly string[]
}

/** How an instance is named in `CascadeJob.visited`. */
export function visitId(model: string, pk: Pk, version: string): string {
  return `${instanceId(model, pk)}:${version}`
}

/**
 * Refreshes the follow-ups, then theirs, level by level until none is left. Each instance is
 * refreshed once per cascade, so a cycle of invalidators (immediate ones too) ends. A refresh that
 * fails is reported and the others go on.
 */
export async function runCascade(job: CascadeJob, refresh: (followUp: FollowUp) => Promise<FollowUp[]>, report: (error: unknown, followUp: FollowUp) => void): Promise<void> {
  const visited = new Set(job.visited ?? [])
  let level = job.followUps
  while (level.length > 0) {
    const next: FollowUp[] = []
    for (const followUp of level) {
      const id = visitId(...followUp)
      if (visited.has(id)) continue
      visited.add(id)
      try {
        next.push(...(await refresh(followUp)))
      } catch (error) {
        report(error, followUp)
      }
    }
    level = next
  }
}

/**
 * What the invalidators of one refreshed instance asked for, sorted by what is done with it: raw
 * keys to delete, instances to delete at once, follow-ups to refresh next.
 */
export class InvalidatorRequests {
  readonly rawKeys = new Set<string>()
  /** Keys (as `keyFor` makes them) of the instances marked immediate. */
  readonly immediate = new Set<string>()
  /** By instance key, so that an instance named twice is refreshed once. */
  readonly followUps = new Map<string, FollowUp>()

  constructor(private readonly keyFor: (version: string, model: string, pk: Pk) => string) {}

  add(version: string, items: Iterable<InvalidatorItem>): void {
    for (const item of items) {
      if (typeof item === 'string') {
        this.rawKeys.add(item)
        continue
      }
      const [model, pk, immediate] = item
      const name = modelName(model)
      const key = this.keyFor(version, name, pk)
      if (immediate) this.immediate.add(key)
      this.followUps.set(key, [name, pk, version])
    }
  }
}
