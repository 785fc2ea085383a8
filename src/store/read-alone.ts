import type { Cluster, Redis } from 'ioredis'
import type { EntryRef, KeyLayout } from '../keys'
import { open } from './envelope'
import type { ReadResult } from './store'

/**
 * One read sent on its own: a fresh value costs one GET or HGET; a miss or a stale value also reads
 * the sequence, before anything is computed. `ready` is awaited before that second read only.
 */
export async function readAlone(client: Redis | Cluster, layout: KeyLayout, entry: EntryRef, ready?: Promise<unknown>): Promise<ReadResult> {
  const stored = entry.field === undefined ? await client.get(entry.key) : await client.hget(entry.key, entry.field)
  const found = stored === null ? undefined : open(stored)
  if (found && !found.stale) return { value: found.payload, stale: false, seq: undefined }
  if (ready) await ready
  const seq = await client.get(layout.seq)
  return { value: found?.payload, stale: found?.stale ?? false, seq: seq === null ? 0 : Number(seq) }
}
