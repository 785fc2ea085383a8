import type { Cluster, Redis } from 'ioredis'
import { escapeGlob } from '../keys'
import { scanKeys, type ScanPage } from '../store/key-scan'

const SCAN_COUNT = 1000

/** A SCAN pattern for the names that start with `start` (a name from KeyLayout, so inside the prefix). */
export function startingWith(start: string): string {
  return `${escapeGlob(start)}*`
}

/** SCAN pages of names matching a glob (from layout.pattern or startingWith: inside the prefix), of one type if given; every master of a Cluster. */
export function scan(client: Redis | Cluster, match: string, type?: 'set' | 'hash'): AsyncGenerator<ScanPage> {
  return scanKeys(client, match, SCAN_COUNT, type)
}

/** Every name a scan yields. */
export async function scanAll(client: Redis | Cluster, match: string, type?: 'set' | 'hash'): Promise<string[]> {
  const all: string[] = []
  for await (const { names } of scan(client, match, type)) all.push(...names)
  return all
}

/** How many fields of a hash match a glob, an HSCAN page at a time. */
export async function countFields(client: Redis | Cluster, hash: string, match: string): Promise<number> {
  let count = 0
  let cursor = '0'
  do {
    const [next, fieldsAndValues] = await client.hscan(hash, cursor, 'MATCH', match, 'COUNT', SCAN_COUNT)
    cursor = next
    count += fieldsAndValues.length / 2
  } while (cursor !== '0')
  return count
}
