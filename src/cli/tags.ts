import { Tag } from '../tags'
import { CliError, EXIT } from './exit'
import { perKey } from './per-key'
import { scanAll, startingWith } from './scan'
import { table, type Output } from './output'
import type { Session } from './session'

/** `cacheme tags`: every tag set under the prefix, with its member count (SCARD: dead members included until pruned). */
export async function listTags(session: Session, out: Output): Promise<number> {
  const { client, layout } = session
  const sets = (await scanAll(client, startingWith(layout.tagSet('')), 'set')).sort()
  const counts = (await perKey(client, sets, (pipeline, set) => pipeline.scard(set))).map(Number)
  const tags = sets.map((set, i) => ({ tag: layout.tagOfSet(set)!, members: counts[i] }))
  out.result({ prefix: layout.prefix, tags }, () =>
    tags.length === 0
      ? `no tags under prefix ${layout.prefix}\n`
      : table(
          ['TAG', 'MEMBERS'],
          tags.map(({ tag, members }) => [tag, String(members)]),
          ['left', 'right'],
        ),
  )
  return EXIT.ok
}

/** `cacheme keys <tag>`: the keys stored under a tag now, as the key function made them. */
export async function listKeys(session: Session, out: Output, tag: string): Promise<number> {
  await requireTag(session, tag)
  const keys = (await new Tag(tag).keys()).sort()
  out.result({ tag, keys }, () => keys.map(key => `${key}\n`).join(''))
  return EXIT.ok
}

/** A tag is known by its set in Redis; the process that declared it may be anywhere. */
export async function requireTag(session: Session, tag: string): Promise<void> {
  const set = session.layout.tagSet(tag)
  if ((await session.client.exists(set)) === 0) {
    throw new CliError(EXIT.notFound, `unknown tag ${JSON.stringify(tag)}: no set ${set} (cacheme tags lists the tags)`)
  }
}
