import { cacheme, cachemeSettled } from '../src'
import { CommandSpy, commandStats, compare, describeCommands, formatUs, roundRatio, runAlone, statsDelta, useCacheme } from './harness'
import type { BenchRedis, Contender, Section, Verdict } from './harness'
import { startPeers } from './peer-libraries'

/** A miss costs at most this many times cache-manager's miss, measured in the same run. */
const CACHE_MANAGER_TARGET = 1.2
const CACHE_MANAGER = 'cache-manager wrap (@keyv/redis)'
const STORE_AWAITED = '@cacheme miss, 1 invalid key, until its store is answered (cachemeSettled)'
/** Round trips of a miss: the value with the sequence, then the store. */
const ROUND_TRIPS_TARGET = 2

const value = (n: number) => ({ id: n, title: `book ${n}`, price: 12.5, tags: ['a', 'b'] })
const dependencies = (n: number, count: number) => Array.from({ length: count }, (_, j) => `Dep:${n % 1000}:${j}`)

/** One decorated method per dependency count; every call uses a new key, so every call is a miss. */
class MissSerializer {
  @cacheme({ key: c => `Miss1:${c.n}`, invalidKeys: c => dependencies(c.n, 1) })
  async one(n: number) {
    return value(n)
  }

  @cacheme({ key: c => `Miss5:${c.n}`, invalidKeys: c => dependencies(c.n, 5) })
  async five(n: number) {
    return value(n)
  }

  @cacheme({ key: c => `Miss20:${c.n}`, invalidKeys: c => dependencies(c.n, 20) })
  async twenty(n: number) {
    return value(n)
  }
}

export async function missWorkload(redis: BenchRedis): Promise<Section[]> {
  const client = redis.client()
  const admin = redis.client()
  const peers = await startPeers(redis)
  await useCacheme(client)
  const serializer = new MissSerializer()
  let n = 0
  const methods = { 1: (i: number) => serializer.one(i), 5: (i: number) => serializer.five(i), 20: (i: number) => serializer.twenty(i) }

  // Commands per miss, counted twice: a spy on the client and the server's INFO commandstats.
  const extra: Record<string, Record<string, string>> = {}
  const verdicts: Verdict[] = []
  const spy = new CommandSpy(client)
  for (const [count, method] of Object.entries(methods)) {
    const calls = 200
    // One miss first, so that the store script is loaded and its first call needs no EVAL after a NOSCRIPT.
    await method(1_000_000_000 + n++)
    await new Promise(resolve => setTimeout(resolve, 50))
    spy.reset()
    const before = await commandStats(admin)
    for (let i = 0; i < calls; i++) await method(1_000_000_000 + n++)
    // A miss returns before its store is answered: the last stores finish before Redis is asked.
    await cachemeSettled()
    const after = await commandStats(admin)
    const perCall = spy.commands / calls
    // The store is one script call; the reads before the computation are plain commands.
    const storeCalls = (spy.byName.get('evalsha') ?? 0) + (spy.byName.get('eval') ?? 0)
    const stores = storeCalls / calls
    const server = statsDelta(before, after)
    server.delete('info')
    // Redis 7 counts the calls a script makes too: EVAL/EVALSHA are the round trips, the rest runs inside them.
    const scripts = ((server.get('evalsha') ?? 0) + (server.get('eval') ?? 0)) / calls
    const inside = [...server].filter(([name]) => !name.startsWith('eval'))
    // Less the plain commands the client sent itself (the reads before the computation).
    const insideTotal = inside.reduce((sum, [, c]) => sum + c, 0) / calls - (perCall - stores)
    const roundTrips = spy.writes / calls
    extra[count] = {
      'round trips per miss (socket writes)': roundTrips.toFixed(2),
      'commands per miss (client spy)': perCall.toFixed(2),
      'of which the store': stores.toFixed(2),
      'EVAL/EVALSHA per miss (INFO commandstats)': scripts.toFixed(2),
      'Redis calls inside the scripts': insideTotal.toFixed(1),
      'Redis commands per miss (INFO commandstats)': describeCommands(server, calls),
    }
    verdicts.push({
      target: `a miss with ${count} invalid key${count === '1' ? '' : 's'} in ≤ ${ROUND_TRIPS_TARGET} round trips (the value with the sequence, then the store)`,
      measured: `${spy.writes} socket writes for ${calls} misses (client spy)`,
      met: roundTrips <= ROUND_TRIPS_TARGET,
      verdict: roundTrips <= ROUND_TRIPS_TARGET ? 'yes' : `no, ${roundTrips.toFixed(2)} round trips`,
    })
    verdicts.push({
      target: `a miss with ${count} invalid key${count === '1' ? '' : 's'} stores in 1 round trip`,
      measured: `${storeCalls} store script calls for ${calls} misses (client spy); ${scripts.toFixed(2)} EVAL/EVALSHA per miss on the server`,
      met: storeCalls === calls,
      verdict: storeCalls === calls ? 'yes' : `no, ${stores.toFixed(2)} store calls per miss`,
    })
  }
  spy.restore()

  // The peers' misses: the same value under a new key each call; the tagging peer tags it with the first dependency.
  const peerMiss = (peer: (typeof peers)[number]) => () => {
    const i = n++
    return peer.cached(`Miss:${i}`, async () => value(i), dependencies(i, 1)[0])
  }
  for (const peer of peers) {
    const calls = 200
    await peerMiss(peer)()
    const before = await commandStats(admin)
    for (let i = 0; i < calls; i++) await peerMiss(peer)()
    extra[peer.name] = { 'Redis commands per miss (INFO commandstats)': describeCommands(statsDelta(before, await commandStats(admin)), calls) }
  }

  const contenders: (Contender & { extra?: Record<string, string> })[] = [
    { name: 'ioredis SET', run: () => client.set(`plain:${n++}`, JSON.stringify(value(n))) },
    {
      name: 'ioredis GET (miss) + SET',
      run: async () => {
        const key = `plain:${n++}`
        if ((await client.get(key)) === null) await client.set(key, JSON.stringify(value(n)))
      },
    },
    ...Object.entries(methods).map(([count, method]) => ({
      name: `@cacheme miss, ${count} invalid key${count === '1' ? '' : 's'}`,
      run: () => method(n++),
      extra: extra[count],
    })),
    // What the caller does not wait for: the same miss until Redis has answered its store.
    { name: STORE_AWAITED, run: () => methods[1](n++).then(cachemeSettled), extra: extra[1] },
    ...peers.map(peer => ({ name: `${peer.name} miss`, run: peerMiss(peer), extra: extra[peer.name] })),
  ]
  const results = await compare(contenders, { rounds: 5, time: 250 })
  const cacheManager = results.find(result => result.name === `${CACHE_MANAGER} miss`)
  const oneKey = results.find(result => result.name === '@cacheme miss, 1 invalid key')!
  const awaited = results.find(result => result.name === STORE_AWAITED)!
  if (cacheManager) {
    const ratio = roundRatio(oneKey, cacheManager)
    verdicts.unshift({
      target: `@cacheme miss with 1 invalid key ≤ ${CACHE_MANAGER_TARGET}× ${CACHE_MANAGER}'s miss`,
      measured: `@cacheme time / cache-manager time = ${ratio.toFixed(2)} (${formatUs(oneKey.medianUs)} vs ${formatUs(cacheManager.medianUs)} per miss); until the store is answered ${roundRatio(awaited, cacheManager).toFixed(2)} (${formatUs(awaited.medianUs)})`,
      met: ratio <= CACHE_MANAGER_TARGET,
      verdict: ratio <= CACHE_MANAGER_TARGET ? 'yes' : `no, ${ratio.toFixed(2)}×`,
    })
  }
  const columns = [
    'round trips per miss (socket writes)',
    'commands per miss (client spy)',
    'of which the store',
    'EVAL/EVALSHA per miss (INFO commandstats)',
    'Redis calls inside the scripts',
    'Redis commands per miss (INFO commandstats)',
  ]
  for (const peer of peers) await peer.close()
  return [
    {
      title: 'Miss path: compute + store',
      description:
        'Every call uses a new key. A decorated miss reads the value and the invalidation sequence in one round trip, runs the computation (a small object) and returns its result; one store script, sent before the caller resumes, writes the value behind it and adds it to its dependency sets and its tag set. The row "until its store is answered" waits for that script too (cachemeSettled()). Dependency keys are shared by 1000 entries each, so the sets are large enough for lazy pruning to run. The peers compute and store the same value under a new key with their memoizing call (BentoCache `getOrSet`, cache-manager `wrap`, a type-cacheable `@Cacheable` method), no expiry; the tagging BentoCache tags it with the first dependency key.',
      reference: contenders[0].name,
      results: results.map((r, i) => ({
        ...r,
        extra: contenders[i].extra ?? {
          'round trips per miss (socket writes)': i === 0 ? '1' : '2',
          'commands per miss (client spy)': i === 0 ? '1' : '2',
          'of which the store': '1',
          'Redis commands per miss (INFO commandstats)': i === 0 ? 'SET 1' : 'GET 1, SET 1',
        },
      })),
      extraColumns: columns,
      notes: [
        'Redis 7 counts the commands a script runs as well as the EVAL/EVALSHA itself, so the last column lists both for @cacheme.',
        'A round trip is one write of the client’s socket to the kernel: the value and the sequence leave together, then the store script. cache-manager’s miss is a GET and then a SET.',
      ],
      verdicts,
    },
  ]
}

if (require.main === module) void runAlone(missWorkload)
