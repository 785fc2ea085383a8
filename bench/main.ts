import fs from 'node:fs'
import path from 'node:path'
import { shutdown } from '../src'
import { machineMarkdown, ratioChart, sectionMarkdown, startRedis, type Section } from './harness'
import { hitWorkload } from './hit'
import { invalidationWorkload } from './invalidation'
import { listWorkload } from './list'
import { missWorkload } from './miss'

const NOT_MEASURED = [
  '## Not measured yet',
  '',
  '- Peers on the hit and miss workloads. cache-manager 7 with @keyv/redis is installed as a dev dependency but has no workload file yet.',
  '  BentoCache 1.6 (`peerOptional ioredis ^5.3.2`) and @type-cacheable/ioredis-adapter 15 (`peer ioredis >=5 <6`) do not install beside',
  "  this package's ioredis 6 without `--legacy-peer-deps`, so they are not benchmarked here.",
  '- The instance-cache (`BaseCache`) workloads.',
].join('\n')

async function main(): Promise<void> {
  const started = Date.now()
  const redis = await startRedis()
  const sections: Section[] = []
  try {
    for (const workload of [hitWorkload, missWorkload, listWorkload, invalidationWorkload]) {
      const done = await workload(redis)
      for (const section of done) console.log(`\n${sectionMarkdown(section)}\n`)
      sections.push(...done)
    }
    const machine = await machineMarkdown(redis.client(), 'npm run bench')
    const root = path.join(__dirname, '..')
    fs.writeFileSync(path.join(__dirname, 'results.svg'), ratioChart(sections))
    const markdown = [
      '# Benchmarks',
      '',
      'Produced by `npm run bench` (each workload alone: `npm run bench:hit`, `bench:miss`, `bench:list`, `bench:invalidation`; these print their tables and write nothing).',
      'It runs against a private `redis-server` on a free loopback port (or `REDIS_URL`), with tinybench: each contender gets a warmup and a time budget per round,',
      'contenders run in an order rotated every round, times are the median over rounds of each round’s median, and a ratio is the median over rounds of',
      "(contender / reference) measured in the same round. Ratios below 1 are faster than the workload's reference.",
      '',
      machine,
      `- duration of the whole run: ${Math.round((Date.now() - started) / 1000)} s`,
      '',
      '![ratios](bench/results.svg)',
      '',
      '## Results',
      '',
      ...sections.map(s => sectionMarkdown(s) + '\n'),
      NOT_MEASURED,
      '',
    ].join('\n')
    fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), markdown)
    console.log(`wrote BENCHMARKS.md and bench/results.svg in ${Math.round((Date.now() - started) / 1000)} s`)
  } finally {
    await shutdown()
    await redis.stop()
  }
}

main().catch(error => {
  console.error(error)
  process.exit(1)
})
