import type { Cluster, Redis } from 'ioredis'

/** One SCAN page: the names it found, and about how much of the keyspace has been walked, 0 to 1. */
export interface ScanPage {
  readonly names: string[]
  readonly done: number
}

/**
 * SCAN pages of the names matching a glob (of one type if given), empty pages included: each is a
 * step. On a Cluster every master is walked, since a keyless SCAN goes to one node; a master that
 * appears during the walk (a failover, a resharding) is walked too once the others are done.
 */
export async function* scanKeys(client: Redis | Cluster, match: string, count: number, type?: 'set' | 'hash'): AsyncGenerator<ScanPage> {
  if (!client.isCluster) {
    yield* scanNode(client as Redis, match, count, type, 0, 1)
    return
  }
  const cluster = client as Cluster
  const walked = new Set<string>()
  for (;;) {
    const masters = cluster.nodes('master').filter(node => !walked.has(nodeName(node)))
    if (masters.length === 0) return
    for (const [i, node] of masters.entries()) {
      walked.add(nodeName(node))
      yield* scanNode(node, match, count, type, i, masters.length)
    }
  }
}

const nodeName = (node: Redis) => `${node.options.host}:${node.options.port}`

async function* scanNode(node: Redis, match: string, count: number, type: 'set' | 'hash' | undefined, index: number, of: number): AsyncGenerator<ScanPage> {
  let cursor = '0'
  do {
    const [next, names] = type === undefined ? await node.scan(cursor, 'MATCH', match, 'COUNT', count) : await node.scan(cursor, 'MATCH', match, 'COUNT', count, 'TYPE', type)
    cursor = next
    yield { names, done: (index + (cursor === '0' ? 1 : walked(cursor))) / of }
  } while (cursor !== '0')
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
