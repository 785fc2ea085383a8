import type { InvalidatorItem } from './model-functions'
import { instanceId, storedModelName, type ModelRef, type Pk, type RowIdentity } from './row-identity'

/**
 * An instance that a change made stale, to refresh next: the model as the invalidator named it
 * (a class by its declared name), the pk as its key type spells it, the version.
 */
export type FollowUp = readonly [model: string, pk: Pk, version: string]

/** Follow-ups to run, and what the cascade has already updated (so that cycles end). Plain JSON, for a job queue. */
export interface CascadeJob {
  readonly followUps: readonly FollowUp[]
  readonly visited?: readonly string[]
}

/** How an instance is named in `CascadeJob.visited`: `question:1:default`, the model in lower case so that each row is visited once. */
export function visitId(model: string, pk: Pk, version: string): string {
  return `${instanceId(storedModelName(model), pk)}:${version}`
}

/**
 * Refreshes the follow-ups, then theirs, level by level until none is left. Each instance is
 * refreshed once per cascade, so a cycle of invalidators (immediate ones too) ends. `resolve`
 * spells a follow-up as the cache keys it (a job from a queue may spell a row otherwise). A
 * follow-up that cannot be resolved or refreshed is reported and the others go on.
 */
export async function runCascade(
  job: CascadeJob,
  resolve: (followUp: FollowUp) => FollowUp,
  refresh: (followUp: FollowUp) => Promise<FollowUp[]>,
  report: (error: unknown, followUp: FollowUp) => void,
): Promise<void> {
  const visited = new Set(job.visited ?? [])
  let level = job.followUps
  while (level.length > 0) {
    const next: FollowUp[] = []
    for (const followUp of level) {
      try {
        const resolved = resolve(followUp)
        const id = visitId(...resolved)
        if (visited.has(id)) continue
        visited.add(id)
        next.push(...(await refresh(resolved)))
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
  /** By instance key, so that an instance named twice (in any spelling) is refreshed once, under the first name given. */
  readonly followUps = new Map<string, FollowUp>()

  constructor(
    private readonly keyFor: (version: string, model: string, pk: Pk) => string,
    private readonly identify: (model: ModelRef, pk: unknown) => RowIdentity,
  ) {}

  add(version: string, items: Iterable<InvalidatorItem>): void {
    for (const item of items) {
      if (typeof item === 'string') {
        this.rawKeys.add(item)
        continue
      }
      const [model, pk, immediate] = item
      const row = this.identify(model, pk)
      const key = this.keyFor(version, row.storedModel, row.pk)
      if (immediate) this.immediate.add(key)
      if (!this.followUps.has(key)) this.followUps.set(key, [row.model, row.pk, version])
    }
  }
}
