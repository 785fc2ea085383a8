import { expect } from 'chai'
import calculateSlot from 'cluster-key-slot'
import { Cluster, Redis } from 'ioredis'
import { scanKeys, type ScanPage } from '../../src/store/key-scan'
import { testRedisUrl } from '../support/fixtures'
import { privateCluster } from '../support/private-cluster'

const NAMES = Array.from({ length: 60 }, (_, i) => `scan-test:${i}`)

async function pages(client: Redis | Cluster, match: string, type?: 'set' | 'hash'): Promise<ScanPage[]> {
  const all: ScanPage[] = []
  for await (const page of scanKeys(client, match, 10, type)) all.push(page)
  return all
}

const namesOf = (scanned: ScanPage[]) => scanned.flatMap(({ names }) => names).sort()

describe('scanKeys', function () {
  this.timeout(30_000)

  it('walks one Redis in pages, of one type when asked, its progress ending at 1', async () => {
    const client = new Redis(testRedisUrl())
    try {
      await Promise.all(NAMES.map((name, i) => (i % 2 === 0 ? client.set(name, 'v') : client.sadd(name, 'm'))))
      const scanned = await pages(client, 'scan-test:*')
      expect(namesOf(scanned)).to.deep.equal([...NAMES].sort())
      expect(scanned.at(-1)!.done).to.equal(1)
      expect(namesOf(await pages(client, 'scan-test:*', 'set'))).to.deep.equal(NAMES.filter((_, i) => i % 2 === 1).sort())
    } finally {
      await client.del(...NAMES)
      await client.quit()
    }
  })

  describe('on a 3-master Redis Cluster', () => {
    const own = privateCluster()

    it('walks every master, where a keyless SCAN reaches one node only', async () => {
      await Promise.all(NAMES.map(name => own.client.set(name, 'v')))
      const masters = new Set(NAMES.map(name => own.client.slots[calculateSlot(name)][0]))
      expect(masters.size, 'the names are spread over the masters').to.equal(3)
      const [, oneNode] = await own.client.scan('0', 'MATCH', 'scan-test:*', 'COUNT', 1000)
      expect(oneNode.length).to.be.below(NAMES.length)

      const scanned = await pages(own.client, 'scan-test:*')
      expect(namesOf(scanned)).to.deep.equal([...NAMES].sort())
      const progress = scanned.map(({ done }) => done)
      expect(progress).to.deep.equal([...progress].sort((a, b) => a - b))
      expect(progress.at(-1)).to.equal(1)
    })
  })
})
