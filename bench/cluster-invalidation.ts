import { cacheme, invalidate } from '../src'
import { runtime } from '../src/config'
import { BATCH, type Deployment } from './cluster-deployment'
import { median, type Measured, type Section, type Verdict } from './harness'
import { invalidationRow, longestCommandVerdict, longestOf, slowlog, type SlowlogEntry } from './slowlog'

class BigSetSerializer {
  @cacheme({ key: c => `Row:${c.id}>summary`, invalidKeys: c => [c.set] })
  async summary(id: number, set: string) {
    return { id, set }
  }
}

export async function invalidationSection(deployments: Deployment[]): Promise<Section> {
  const serializer = new BigSetSerializer()
  const results: Measured[] = []
  const verdicts: Verdict[] = []
  let reference = 0
  for (const [size, rounds] of [
    [1000, 3],
    [100_000, 1],
  ]) {
    for (const deployment of deployments) {
      await deployment.use()
      const totals: number[] = []
      const longest: SlowlogEntry[] = []
      const scripts: number[] = []
      for (let round = 0; round < rounds; round++) {
        // A set of its own each round: nothing is flushed, so the Cluster's slot guards stay.
        const set = `Big:${size}:${deployment.name}:${round}`
        const first = size * 10 * (round + 1)
        for (let from = 0; from < size; from += BATCH) {
          await Promise.all(Array.from({ length: Math.min(BATCH, size - from) }, (_, i) => serializer.summary(first + from + i, set)))
        }
        const name = runtime().layout.invalidSet(set)
        const members = await deployment.client.scard(name)
        if (members !== size) throw new Error(`invalidation on ${deployment.name}: the set has ${members} members, expected ${size}`)
        const admins = await deployment.masters()
        await Promise.all(admins.map(admin => admin.call('SLOWLOG', 'RESET')))
        const started = performance.now()
        await invalidate({ invalidKey: set })
        totals.push((performance.now() - started) * 1000)
        if ((await deployment.client.scard(name)) !== 0 || (await deployment.client.exists(`bench:Row:${first + size - 1}`)) !== 0)
          throw new Error(`invalidation on ${deployment.name} left entries`)
        const logs = (await Promise.all(admins.map(slowlog))).flat()
        scripts.push(logs.filter(entry => entry.command.startsWith('EVAL') || entry.command.startsWith('FCALL')).length)
        longest.push(longestOf(logs))
      }
      const total = median(totals)
      if (reference === 0) reference = total / size
      const worst = longestOf(longest)
      results.push(
        invalidationRow(
          `${deployment.name}: invalidate a set of ${size.toLocaleString('en')} members`,
          total,
          size,
          reference,
          rounds,
          ['script calls on all masters (SLOWLOG)', median(scripts)],
          worst,
        ),
      )
      verdicts.push(longestCommandVerdict(`${deployment.name}: `, size, rounds, worst, 'SLOWLOG of every master'))
    }
  }
  return {
    title: 'Redis Cluster: invalidation of one dependency set',
    description:
      'Each round fills one dependency set with hash-field entries made by a decorated method (1000 or 100,000 hashes, spread over the slots on the Cluster), resets SLOWLOG on every master (slowlog-log-slower-than 0), then times `invalidate({ invalidKey })`. The ratio column compares time per member with the standalone 1k set.',
    reference: results[0].name,
    results,
    extraColumns: ['per member', 'script calls on all masters (SLOWLOG)', 'longest Redis command, worst round'],
    chart: false,
    verdicts,
  }
}
