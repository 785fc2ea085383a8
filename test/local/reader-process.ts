// A process with the in-process tier on, driven over IPC by test/local/processes.test.ts and
// stress.test.ts. LOCAL_DISABLE switches one mechanism off, to show what it prevents.
import Redis from 'ioredis'
import { cacheme, cachemeEvents, configure } from '../../src'
import { LocalEntries } from '../../src/local/local-entries'
import { PendingReads } from '../../src/local/pending-reads'
import { truthKey, type Reply, type Request } from './reader-protocol'

const { REDIS_URL, PREFIX, LOCAL_DISABLE } = process.env as Record<string, string>

if (LOCAL_DISABLE === 'marker') {
  PendingReads.prototype.spoil = () => {}
  PendingReads.prototype.spoilAll = () => {}
}
if (LOCAL_DISABLE === 'flush') LocalEntries.prototype.clear = () => {}

async function main(): Promise<void> {
  const raw = new Redis(REDIS_URL)
  const serving = new Promise(resolve => cachemeEvents.once('local', resolve))
  configure({ redis: REDIS_URL, prefix: PREFIX, onError: () => {}, local: { heartbeat: 0.2 } })
  const row = cacheme({ key: c => `Row:${c.id}>view`, invalidKeys: c => `Row:${c.id}` })(async (id: number) => Number((await raw.get(truthKey(PREFIX, id))) ?? 0))
  await serving

  const handle = async (request: Request): Promise<Reply> => {
    switch (request.op) {
      case 'get':
        return { value: await row(request.id) }
      case 'watch': {
        // Reply at once, then call until the old value is no longer served: the start of that call is when it stopped.
        process.send!({ watching: true })
        for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
          const started = process.hrtime.bigint()
          if ((await row(request.id)) !== request.old) return { stoppedAt: String(started) }
          await new Promise(resolve => setImmediate(resolve))
        }
        return { stoppedAt: '-1' }
      }
      case 'hammer': {
        let reads = 0
        const until = Date.now() + request.ms
        const loop = async () => {
          while (Date.now() < until) {
            await row(1 + Math.floor(Math.random() * request.ids))
            reads++
            if (reads % 64 === 0) await new Promise(resolve => setImmediate(resolve))
          }
        }
        await Promise.all(Array.from({ length: request.concurrency }, loop))
        return { reads }
      }
      case 'check': {
        const values: number[] = []
        for (let id = 1; id <= request.ids; id++) values.push(await row(id))
        return { values }
      }
    }
  }
  process.on('message', (request: Request) => void handle(request).then(reply => process.send!(reply)))
  process.send!({ ready: true })
}

// Run only as a forked reader, never when a test imports its types.
if (process.send) void main()
