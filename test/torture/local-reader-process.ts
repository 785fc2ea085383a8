// A reader process of the torture workload with the in-process tier on (`--processes N --local`):
// it runs the workload's cached computations against the same database and Redis prefix, through
// the same faulty proxy, while the readers' process and the writer processes change the rows. Over
// IPC it reads until told to stop, holds the probe entry in its tier and watches it go (the
// propagation delay), and compares everything it serves with a fresh computation.
import { cacheme, cachemeEvents, configure } from '../../src'
import { runtime } from '../../src/config'
import { metrics } from '../../src/metrics'
import { compareWithFresh } from './comparison'
import { tortureIds } from './dataset'
import { PROBE_INVALID_KEY, REARM_WAIT_MS, probeTruthKey, type LocalReaderCommand, type LocalReaderReport, type LocalReaderTask } from './local-reader-protocol'
import { switchOff } from './mechanisms'
import { openTortureSchema } from './models'
import { Random } from './random'
import { createReaders } from './readers'
import { directClient, redisOption } from './redis-target'
import { sleep } from './sleep'

const WATCH_MS = 2000
const YIELD_EVERY = 16
/** Calls of the probe before it must have come from the tier. */
const HOLD_CALLS = 10
/** How long reads go on through a tier that served again at a round end. */
const READ_THROUGH_TIER_MS = 250

const task = JSON.parse(process.argv[2]!) as LocalReaderTask
const send = (report: LocalReaderReport) => process.send!(report)
const PROBE_TAG = 'torture-probe'
/** Calls the tier answered: of the readers, or of the probe. */
const localHits = (probe = false) => [...metrics.all()].reduce((sum, [tag, stats]) => sum + ((tag === PROBE_TAG) === probe ? stats.localHits : 0), 0)

async function main(): Promise<void> {
  const schema = openTortureSchema(task.databaseUrl, task.loops + 2)
  const direct = directClient(task.direct)
  const serving = new Promise(resolve => cachemeEvents.once('local', resolve))
  configure({ redis: redisOption(task.redis), prefix: task.prefix, timeout: 0.25, onError: () => {}, local: { heartbeat: task.heartbeatMs / 1000 } })
  switchOff(task.off, runtime().store)
  const readers = createReaders(schema, tortureIds(task.books), new Random(task.seed))
  const probe = cacheme({ tag: PROBE_TAG, key: () => 'TortureProbe>value', invalidKeys: () => PROBE_INVALID_KEY })(async () => Number(await direct.get(probeTruthKey(task.prefix))))
  await serving
  let tierServing = true
  cachemeEvents.on('local', (state: string) => (tierServing = state === 'serving'))
  /** Waits (a bounded time) until the tier serves; resolves to how long that took. */
  const tierServes = async () => {
    const started = Date.now()
    while (!tierServing && Date.now() - started < REARM_WAIT_MS) await sleep(20)
    return Date.now() - started
  }

  let reading: { stop: boolean; done: Promise<{ reads: number; errors: number }> } | undefined
  const read = (random: Random) => {
    const state = { stop: false, done: undefined as unknown as Promise<{ reads: number; errors: number }> }
    readers.jitter = true
    state.done = (async () => {
      let reads = 0
      let errors = 0
      await Promise.all(
        Array.from({ length: task.loops }, async (_, index) => {
          const loopRandom = random.fork(index)
          while (!state.stop) {
            const reader = loopRandom.pick(readers.readers)
            try {
              // The rows the writers change most often, half of the time: their entries are re-read as they change.
              await reader.cached(loopRandom.pickSkewed(reader.domain))
            } catch {
              errors++
            }
            // Hits from the tier resolve without I/O: without a turn of the event loop now and then, `stop` would never arrive.
            if (++reads % YIELD_EVERY === 0) await new Promise(resolve => setImmediate(resolve))
          }
        }),
      )
      return { reads, errors }
    })()
    return state
  }

  let rounds = 0
  const handle = async (command: LocalReaderCommand): Promise<LocalReaderReport | undefined> => {
    switch (command.op) {
      case 'read':
        reading = read(new Random(task.seed).fork(++rounds))
        return undefined
      case 'stop': {
        // A fault near the end of the round may leave the tier re-arming (ioredis's reconnect backoff
        // takes seconds on a busy machine): reads go on until it serves again, and a moment through
        // it, so that every round reads through the tier.
        const rearmMs = await tierServes()
        if (rearmMs > 0) await sleep(READ_THROUGH_TIER_MS)
        const current = reading!
        current.stop = true
        reading = undefined
        const { reads, errors } = await current.done
        return { read: { reads, errors, hits: readers.hits, localHits: localHits(), rearmMs } }
      }
      case 'hold': {
        // Computed or read from Redis, then kept, then served from the tier (unless the tier is bypassed meanwhile).
        for (let i = 0; i < HOLD_CALLS; i++) {
          const before = localHits(true)
          if ((await probe()) !== command.value) return { held: false }
          if (localHits(true) > before) return { held: true }
        }
        return { held: false }
      }
      case 'watch': {
        // Replies at once, then calls until the old value is no longer served: the start of that call is when it stopped.
        send({ watching: true })
        for (const deadline = Date.now() + WATCH_MS; Date.now() < deadline;) {
          const started = process.hrtime.bigint()
          if ((await probe()) !== command.old) return { stoppedAt: String(started) }
          await new Promise(resolve => setImmediate(resolve))
        }
        return { stoppedAt: '-1' }
      }
      case 'compare':
        readers.jitter = false
        return { compared: await compareWithFresh(readers) }
    }
  }
  process.on(
    'message',
    (command: LocalReaderCommand) =>
      void handle(command).then(
        report => report && send(report),
        error => {
          console.error('torture local reader failed:', error)
          process.exit(1)
        },
      ),
  )
  send({ ready: true })
}

main().catch(error => {
  console.error('torture local reader process failed:', error)
  process.exit(1)
})
