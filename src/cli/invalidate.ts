import { invalidate, type InvalidateTarget, type TargetKind } from '../invalidation'
import { CliError, EXIT } from './exit'
import { scan } from './scan'
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

/** A pattern deletes whole Redis keys (a hash holds several entries); the others count entries. */
const UNIT: Record<TargetKind, string> = { key: 'entry', invalidKey: 'entry', tag: 'entry', pattern: 'key' }
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
      `${flags.dryRun ? 'would invalidate' : 'invalidated'} ${plural(count, UNIT[kind], kind === 'pattern' ? 'keys' : 'entries')} ${SUBJECT[kind](value)}` +
      `${flags.dryRun ? ' (dry run: nothing was removed)' : ''}\n`,
  )
  return EXIT.ok
}

/** Names the library would refuse are refused before anything is counted or removed. */
function checkName({ layout }: Session, { kind, value }: Target): void {
  if (kind === 'key') layout.entry(value, '--key')
  if (kind === 'invalidKey') layout.invalidSet(value, '--invalid-key')
}

/** What the invalidation would count, read without removing anything. */
async function wouldInvalidate(session: Session, { kind, value }: Target, progress: Progress): Promise<number> {
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
      return countMatching(session, value, progress)
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
    const matched = await countMatching(session, target.value, progress)
    progress.update(`deleting ${plural(matched, 'key')} matching ${target.value}...`, undefined, true)
  }
  const count = await invalidate({ [target.kind]: target.value, grace } as InvalidateTarget)
  session.throwFaults()
  return count
}

/** Keys a pattern invalidation would delete: entries only, never cacheme's own bookkeeping. */
async function countMatching({ client, layout }: Session, pattern: string, progress: Progress): Promise<number> {
  let matched = 0
  for await (const { names, done } of scan(client, layout.pattern(pattern))) {
    matched += names.filter(name => layout.isEntryName(name)).length
    progress.update(`${plural(matched, 'key')} match ${pattern}`, done)
  }
  progress.update(`${plural(matched, 'key')} match ${pattern}`, 1, true)
  return matched
}
