import { cacheme, invalidate } from '../src'
import { median, runAlone, useCacheme, type BenchRedis, type Section, type Verdict } from './harness'
import { invalidationRow, longestCommandVerdict, longestOf, slowlog, type SlowlogEntry } from './slowlog'

class BigSetSerializer {
  @cacheme({ key: c => `Row:${c.id}>summary`, invalidKeys: c => [`Big:${c.size}`] })
  async summary(id: number, size: number) {
    return { id, size }
  }
}

export async function invalidationWorkload(redis: BenchRedis): Promise<Section[]> {
  const client = redis.client({ enableAutoPipelining: true })
  const admin = redis.client()
  await admin.config('SET', 'slowlog-log-slower-than', '0')
  await admin.config('SET', 'slowlog-max-len', '100000')
  await useCacheme(client)
  const serializer = new BigSetSerializer()
  const results: Section['results'] = []
  const verdicts: Verdict[] = []
  let referencePerMember = 0
  for (const [size, rounds] of [
    [1000, 7],
    [100_000, 3],
  ]) {
    const totals: number[] = []
    const longest: SlowlogEntry[] = []
    const commands: number[] = []
    for (let round = 0; round < rounds; round++) {
      await admin.flushdb()
      for (let from = 0; from < size; from += 500) {
        await Promise.all(Array.from({ length: Math.min(500, size - from) }, (_, i) => serializer.summary(from + i, size)))
      }
      const members = await admin.scard(`bench:Big:${size}:invalid`)
      if (members !== size) throw new Error(`invalidation: the set has ${members} members, expected ${size}`)
      await admin.call('SLOWLOG', 'RESET')
      const started = performance.now()
      const removed = await invalidate({ invalidKey: `Big:${size}` })
      totals.push((performance.now() - started) * 1000)
      const log = await slowlog(admin)
      if ((await admin.exists(`bench:Row:${size - 1}`)) !== 0 || (await admin.scard(`bench:Big:${size}:invalid`)) !== 0) throw new Error('invalidation left entries')
      void removed
      commands.push(log.filter(e => e.command.startsWith('EVAL')).length)
      longest.push(longestOf(log))
    }
    const total = median(totals)
    const worst = longestOf(longest)
    if (referencePerMember === 0) referencePerMember = total / size
    results.push(
      invalidationRow(
        `invalidate a set of ${size.toLocaleString('en')} members`,
        total,
        size,
        referencePerMember,
        rounds,
        ['script calls (EVALSHA in SLOWLOG)', median(commands)],
        worst,
      ),
    )
    verdicts.push(longestCommandVerdict('', size, rounds, worst, 'SLOWLOG'))
  }
  await admin.flushdb()
  return [
    {
      title: 'Invalidation of one dependency set',
      description:
        'Each round fills one dependency set with entries made by a decorated method (hash fields of 1000 or 100,000 hashes), resets SLOWLOG (slowlog-log-slower-than 0, so every command is logged with its server time), then times `invalidate({ invalidKey })`, which empties the set in script calls of at most 256 members (the first also raises the sequence; each stamps the guard). The ratio column compares time per member with the 1k set.',
      reference: results[0].name,
      results,
      extraColumns: ['per member', 'script calls (EVALSHA in SLOWLOG)', 'longest Redis command, worst round'],
      chart: false,
      verdicts,
    },
  ]
}

if (require.main === module) void runAlone(invalidationWorkload)
