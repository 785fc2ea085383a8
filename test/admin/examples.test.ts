import { expect } from 'chai'
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { redisServerAvailable, startRedisServer, type RedisServer } from '../../tools/redis-server'

const ROOT = resolve(__dirname, '../..')

/**
 * A Redis of the examples' own: tests that look at every key of the shared test Redis must not
 * find theirs. Without redis-server on PATH they run on the memory store.
 */
let redis: RedisServer | undefined

/** Runs an npm script as a user would; resolves to its exit code and output. */
function npmRun(script: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis?.url }
  if (!redis) delete env.REDIS_URL
  return new Promise(done => {
    const child = execFile(
      'npm',
      ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])],
      {
        cwd: ROOT,
        env,
        timeout: 60_000,
      },
      (error, stdout, stderr) => done({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    )
    child.stdin?.end()
  })
}

describe('examples', function () {
  this.timeout(90_000)
  before(async () => {
    if (redisServerAvailable()) redis = await startRedisServer()
  })
  after(() => redis?.stop())
  const storeLine = () => (redis ? `store: Redis at ${redis.url} (REDIS_URL)` : 'store: in-process memory store')

  it('npm run demo caches the bookstore and recomputes exactly what a change made stale', async () => {
    const { code, stdout, stderr } = await npmRun('demo')
    expect(code, `${stdout}\n${stderr}`).to.equal(0)
    expect(stdout).to.include(storeLine())
    // Not "-> 1 SQL queries": on a loaded machine a cold write can time out, and that entry is computed again.
    expect(stdout, stdout).to.match(/^warm cache vs uncached: [\d.]+x faster, \d+ -> \d+ SQL queries$/m)
    expect(stdout, stdout).to.match(/^exactly the \d+ entries that depended on User:17 were recomputed/m)
    // The JSON API from the instance cache: one SQL query for a warm page, none for a warm book, and one MGET on Redis.
    const redisCommands = (count: number) => (redis ? `, ${count} Redis commands?` : '')
    expect(stdout, stdout).to.match(/^the JSON API of cacheme\/express on http:\/\/127\.0\.0\.1:\d+, books from the instance cache/m)
    expect(stdout, stdout).to.match(
      new RegExp(`^GET /books\\?limit=100 \\(100 items\\): cold \\d+ SQL quer(y|ies)(, \\d+ Redis commands?)? [\\d.]+ ms; warm 1 SQL query${redisCommands(1)} [\\d.]+ ms$`, 'm'),
    )
    expect(stdout, stdout).to.match(new RegExp(`^GET /books/500: cold 1 SQL query(, \\d+ Redis commands?)? [\\d.]+ ms; warm 0 SQL queries${redisCommands(1)} [\\d.]+ ms$`, 'm'))
    expect(stdout, stdout).to.match(/^GET \/books\/100000: 404 \{"error":"not found"\}/m)
    expect(stdout, stdout).to.match(/^PATCH \/books\/500 \{"title":"(.+), 2nd edition"\}: 200, /m)
    expect(stdout, stdout).to.match(new RegExp(`^GET /books/500 after the PATCH: "(.+), 2nd edition", 0 SQL queries${redisCommands(1)} [\\d.]+ ms$`, 'm'))
  })

  it('npm run example:express -- --once serves the API, the metrics and the admin, and checks them', async () => {
    const { code, stdout, stderr } = await npmRun('example:express', '--once')
    expect(code, `${stdout}\n${stderr}`).to.equal(0)
    expect(stdout).to.include(storeLine())
    expect(stdout).to.match(/^listening on http:\/\/127\.0\.0\.1:\d+$/m)
    expect(stdout).to.match(/GET \/books \(cold\)\s+200, 6 books; 12 misses, 0 hits/)
    expect(stdout).to.match(/GET \/books \(warm\)\s+200; 12 hits, 0 misses/)
    expect(stdout).to.match(/GET \/books\/2\s+author "Ursula K\. Le Guin"/)
    expect(stdout).to.match(/GET \/metrics\s+200, cacheme_hits_total\{tag="BookSerializer\.author"\} \d+/)
    expect(stdout).to.match(/GET \/admin\/ \(no password\)\s+401/)
    expect(stdout).to.match(/POST \/admin\/invalidate \(no token\)\s+403/)
    expect(stdout).to.match(/history: admin invalidated tag BookSerializer\.reviews, 6 removed/)
    expect(stdout.trimEnd().split('\n').at(-1)).to.equal('self-check passed')
  })

  it('npm run example:nest -- --once serves a Nest app over sequelize-typescript models, and checks its hits, misses and health', async () => {
    const { code, stdout, stderr } = await npmRun('example:nest', '--once')
    expect(code, `${stdout}\n${stderr}`).to.equal(0)
    expect(stdout).to.include(storeLine())
    expect(stdout).to.match(/^listening on http:\/\/127\.0\.0\.1:\d+$/m)
    const outcomes = [...stdout.matchAll(/^ {2}(GET|PATCH) (\S+)\s+(miss|hit|-)\s+(\d+) quer/gm)].map(match => `${match[1]} ${match[2]} ${match[3]} ${match[4]}`)
    expect(outcomes).to.deep.equal([
      'GET /books/1 miss 1',
      'GET /books/1 hit 0',
      'GET /authors/1/books miss 1',
      'GET /authors/1/books hit 0',
      'PATCH /books/1 - 2',
      'GET /books/1 miss 1',
      'GET /authors/1/books miss 1',
      'GET /authors/1/books hit 0',
      'GET /health - 0',
    ])
    expect(stdout).to.match(/GET \/health\s+-\s+0 queries\s+\{"cacheme":\{"status":"up","store":"(redis|memory)","answering":true/)
    expect(stdout).to.include('BooksService.findOne: 1 hits, 2 misses')
    expect(stdout).to.include('BooksService.findByAuthor: 2 hits, 2 misses')
    expect(stdout.trimEnd().split('\n').at(-1)).to.equal('self-check passed')
  })
})
