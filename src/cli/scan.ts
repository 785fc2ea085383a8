import type { Redis } from 'ioredis'
import { escapeGlob } from '../keys'

const SCAN_COUNT = 1000

/** A SCAN pattern for the names that start with `start` (a name from KeyLayout, so inside the prefix). */
export function startingWith(start: string): string {
  return `${escapeGlob(start)}*`
}

export interface ScanPage {
  readonly names: string[]
  /** About how much of the keyspace has been walked, 0 to 1. */
  readonly done: number
}

/** SCAN pages of names matching a glob (from layout.pattern or startingWith: inside the prefix), of one type if given. */
export async function* scan(client: Redis, match: string, type?: 'set' | 'hash'): AsyncGenerator<ScanPage> {
  let cursor = '0'
  do {
    const [next, names] =
      type === undefined ? await client.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT) : await client.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT, 'TYPE', type)
    cursor = next
    yield { names, done: cursor === '0' ? 1 : walked(cursor) }
  } while (cursor !== '0')
}

/** Every name a scan yields. */
export async function scanAll(client: Redis, match: string, type?: 'set' | 'hash'): Promise<string[]> {
  const all: string[] = []
  for await (const { names } of scan(client, match, type)) all.push(...names)
  return all
}

/** How many fields of a hash match a glob, an HSCAN page at a time. */
export async function countFields(client: Redis, hash: string, match: string): Promise<number> {
  let count = 0
  let cursor = '0'
  do {
    const [next, fieldsAndValues] = await client.hscan(hash, cursor, 'MATCH', match, 'COUNT', SCAN_COUNT)
    cursor = next
    count += fieldsAndValues.length / 2
  } while (cursor !== '0')
  return count
}

/**
 * SCAN walks hash buckets in reverse-binary order, so the cursor's bits reversed are the share of
 * buckets already visited: an honest fraction for a progress bar, without counting keys first.
 */
function walked(cursor: string): number {
  let value = BigInt(cursor)
  let reversed = 0n
  for (let bit = 0; bit < 64; bit++) {
    reversed = (reversed << 1n) | (value & 1n)
    value >>= 1n
  }
  return Number(reversed) / 2 ** 64
}
