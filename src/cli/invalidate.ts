import { invalidate, type InvalidateTarget, type TargetKind } from '../invalidation'
import { CliError, EXIT } from './exit'
import { countFields, scan } from './scan'
import { plural, type Output } from './output'
import { Progress } from './progress'
import type { Session } from './session'
import { requireTag } from './tags'

export interface Target {
  readonly kind: TargetKind
  readonly value: string
}

export interface InvalidateFlags {
  /** Count what would be invalidated, remove nothing. */
  readonly dryRun: boolean
  /** false: entries with grace are deleted, not kept stale. */
  readonly grace: boolean
}

/**
 * A pattern without `>` deletes whole Redis keys (a hash holds several entries), one with `>` hash
 * fields; the others count entries.
 */
function unitOf({ kind, value }: Target): [one: string, many: string] {
  if (kind !== 'pattern') return ['entry', 'entries']
  return value.includes('>') ? ['hash field', 'hash fields'] : ['key', 'keys']
}
const SUBJECT: Record<TargetKind, (value: string) => string> = {
  key: value => `(key ${value})`,
  invalidKey: value => `depending on ${value}`,
  tag: value => `tagged ${value}`,
  pattern: value => `matching ${value}`,
}

/** `cacheme invalidate`: one key, the dependents of an invalid key, a tag's entries, or a pattern's keys. */
export async function invalidateCommand(session: Session, out: Output, target: Target, flags: InvalidateFlags): Promise<number> {
  checkName(session, target)
  if (target.kind === 'tag') await requireTag(session, target.value)
  const progress = new Progress(out.io.stderr, out.io.isTTY && target.kind === 'pattern')
  let count: number
  try {
    count = flags.dryRun ? await wouldInvalidate(session, target, progress) : await invalidateNow(session, target, flags, progress)
  } finally {
    progress.clear()
  }
  if (target.kind === 'key' && count === 0) {
    throw new CliError(EXIT.notFound, `no entry ${JSON.stringify(target.value)}: nothing to invalidate`)
  }
  const { kind, value } = target
  out.result(
    { target: { [kind]: value }, dryRun: flags.dryRun, count },
    () =>
      `${flags.dryRun ? 'would invalidate' : 'invalidated'} ${plural(count, ...unitOf(target))} ${SUBJECT[kind](value)}` +
      `${flags.dryRun ? ' (dry run: nothing was removed)' : ''}\n`,
  )
  return EXIT.ok
}

/** Names the library would refuse are refused before anything is counted or removed. */
function checkName({ layout }: Session, { kind, value }: Target): void {
  if (kind === 'key') layout.entry(value, '--key')
  if (kind === 'invalidKey') layout.invalidSet(value, '--invalid-key')
  if (kind === 'tag') layout.tagSet(value)
  if (kind === 'pattern') layout.match(value, '--pattern')
}

/** What the invalidation would count, read without removing anything. */
async function wouldInvalidate(session: Session, target: Target, progress: Progress): Promise<number> {
  const { kind, value } = target
  const { client, layout, store } = session
  switch (kind) {
    case 'key': {
      const { key, field } = layout.entry(value, '--key')
      return field === undefined ? client.exists(key) : client.hexists(key, field)
    }
    // Live members: the dead ones are in the sets too, but an invalidation does not count them.
    case 'invalidKey':
      return (await store.liveMembers(layout.invalidSet(value))).length
    case 'tag':
      return (await store.liveMembers(layout.tagSet(value))).length
    case 'pattern':
      return countMatching(session, target, progress)
  }
}

/**
 * The deletion itself is the library's `invalidate()`: a pattern must raise the prefix-wide guard
 * before deleting, or a computation that started earlier stores its stale value afterwards, and
 * only the store knows how. It gives no progress, so on a terminal a pattern is first counted by
 * a SCAN of our own, with a bar (the user also learns the size before anything is removed); the
 * deletion then shows a line until it is done. The count printed is the library's.
 */
async function invalidateNow(session: Session, target: Target, { grace }: InvalidateFlags, progress: Progress): Promise<number> {
  if (progress.enabled) {
    const matched = await countMatching(session, target, progress)
    progress.update(`deleting ${plural(matched, ...unitOf(target))} matching ${target.value}...`, undefined, true)
  }
  const count = await invalidate({ [target.kind]: target.value, grace } as InvalidateTarget)
  session.throwFaults()
  return count
}

/** Keys (or, with `>`, hash fields) a pattern invalidation would delete: entries only, never cacheme's own bookkeeping. */
async function countMatching({ client, layout }: Session, target: Target, progress: Progress): Promise<number> {
  const { keys, field } = layout.match(target.value, '--pattern')
  const counted = (count: number) => `${plural(count, ...unitOf(target))} match ${target.value}`
  let matched = 0
  for await (const { names, done } of scan(client, keys, field === undefined ? undefined : 'hash')) {
    const entries = names.filter(name => layout.isEntryName(name))
    if (field === undefined) matched += entries.length
    else for (const hash of entries) matched += await countFields(client, hash, field)
    progress.update(counted(matched), done)
  }
  progress.update(counted(matched), 1, true)
  return matched
}
