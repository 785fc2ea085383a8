import fs from 'node:fs'
import path from 'node:path'
import { shutdown } from '../src'
import { bookstoreWorkload } from './bookstore'
import { bulkWorkload } from './bulk'
import { clusterWorkload } from './cluster'
import { codecWorkload } from './codec'
import { machineMarkdown, ratioChart, sectionMarkdown, startRedis, verdictsMarkdown, type Section } from './harness'
import { hitWorkload } from './hit'
import { httpSectionOf } from './http-report'
import { invalidationWorkload } from './invalidation'
import { listWorkload } from './list'
import { memoryWorkload } from './memory'
import { missWorkload } from './miss'
import { peerVersions } from './peer-libraries'

const NOT_MEASURED = [
  '## Not measured yet',
  '',
  '- The instance cache’s write side: refreshing cached instances after a change (`updateInstance`, the claim and the cascade through invalidators) and the express router’s HTTP overhead; its reads are measured in the list and bookstore workloads.',
].join('\n')

async function main(): Promise<void> {
  const started = Date.now()
  const redis = await startRedis()
  const sections: Section[] = []
  try {
    for (const workload of [hitWorkload, missWorkload, listWorkload, invalidationWorkload, memoryWorkload, bookstoreWorkload, bulkWorkload, codecWorkload, clusterWorkload]) {
      const done = await workload(redis)
      for (const section of done) console.log(`\n${sectionMarkdown(section)}\n`)
      sections.push(...done)
    }
    const machine = await machineMarkdown(redis.client(), 'npm run bench')
    const root = path.join(__dirname, '..')
    const file = path.join(root, 'BENCHMARKS.md')
    // npm run bench:http writes its own section, which this run does not measure.
    const httpSection = fs.existsSync(file) ? httpSectionOf(fs.readFileSync(file, 'utf8')) : undefined
    fs.writeFileSync(path.join(__dirname, 'results.svg'), ratioChart(sections))
    const markdown = [
      '# Benchmarks',
      '',
      'Produced by `npm run bench` (each workload alone: `npm run bench:hit`, `bench:miss`, `bench:list`, `bench:invalidation`, `bench:memory`, `bench:bookstore`, `bench:bulk`, `bench:codec`, `bench:cluster`; these print their tables and write nothing).',
      'It runs against a private `redis-server` on a free loopback port (or `REDIS_URL`), with tinybench: each contender gets a warmup and a time budget per round,',
      'contenders run in an order rotated every round, times are the median over rounds of each round’s median, and a ratio is the median over rounds of',
      "(contender / reference) measured in the same round. Ratios below 1 are faster than the workload's reference.",
      'The Redis Cluster workload starts a private Cluster of 3 masters on free loopback ports and measures it beside the standalone server in the same run.',
      'The bookstore workload runs the example on SQLite and on a private PostgreSQL (or `DATABASE_URL`, whose bookstore tables it drops and creates again).',
      '',
      machine,
      `- peers: ${peerVersions()}`,
      `- duration of the whole run: ${Math.round((Date.now() - started) / 1000)} s`,
      '',
      'BentoCache and type-cacheable need ioredis 5 while this package uses ioredis 6, so they are installed apart (with msgpackr, which only the codec workload uses),',
      'into `bench/peers/node_modules` from `bench/peers/package-lock.json` when it is missing or stale (`bench/peers/install.ts`, run by the workloads that use them).',
      '',
      '![ratios](bench/results.svg)',
      '',
      '## Targets',
      '',
      verdictsMarkdown(sections.flatMap(s => s.verdicts ?? [])),
      '',
      '## Results',
      '',
      ...sections.map(s => sectionMarkdown(s) + '\n'),
      ...(httpSection ? [httpSection, ''] : []),
      NOT_MEASURED,
      '',
    ].join('\n')
    fs.writeFileSync(file, markdown)
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
