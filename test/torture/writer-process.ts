// A writer process of the torture workload (`--processes N`): it runs the workload's writers
// against the same database and Redis prefix as the readers' process, round by round as that
// process says over IPC, and at some commits asks to be killed (SIGKILL) before cacheme delivers
// the invalidation, as a process that dies right after its commit would.
import type { Transaction } from 'sequelize'
import { configure, registerInvalidModels } from '../../src'
import { tortureIds } from './dataset'
import { openTortureSchema } from './models'
import { Random } from './random'
import { redisOption, type RedisTarget } from './redis-target'
import { sleep } from './sleep'
import { WRITE_KINDS, Writers, type WriteKind } from './writers'

export interface WriterProcessTask {
  readonly databaseUrl: string
  readonly redis: RedisTarget
  readonly prefix: string
  readonly books: number
  /** Writer loops in this process. */
  readonly loops: number
  readonly seed: number
  /** Chance that a commit is the process's last: it asks to be killed before cacheme delivers. */
  readonly dieAtCommit: number
  /** `configure({ outbox })` options, when the run has an outbox. */
  readonly outbox?: { readonly tableName: string; readonly relayAfter: number }
}

/** What the readers' process tells a writer process: write until `until` (ms since the epoch). */
export interface WriterCommand {
  readonly until: number
}

export type WriterReport =
  | { readonly ready: true }
  /** At a commit, before cacheme delivered its invalidation: kill me now. */
  | { readonly dying: true }
  /** The round's writes are done and delivered (or waiting in cacheme's replay queue, or in the outbox). */
  | { readonly idle: { readonly writes: Record<WriteKind, number>; readonly writeErrors: number } }

const WRITER_PAUSE_MS = 5

const task = JSON.parse(process.argv[2]!) as WriterProcessTask
const send = (report: WriterReport) => process.send!(report)
const random = new Random(task.seed)

async function main(): Promise<void> {
  const ids = tortureIds(task.books)
  const schema = openTortureSchema(task.databaseUrl, task.loops + 2)
  configure({
    redis: redisOption(task.redis),
    prefix: task.prefix,
    timeout: 0.25,
    onError: () => {},
    ...(task.outbox ? { outbox: { sequelize: schema.sequelize, ...task.outbox } } : {}),
  })
  registerInvalidModels([schema.User, schema.Book, schema.BookReader, schema.Listing])
  const writers = new Writers(schema, ids, { watch: transaction => dieAtSomeCommits(transaction), transactional: true })
  let rounds = 0
  process.on('message', (command: WriterCommand) => void round(writers, command.until, random.fork(rounds++)))
  send({ ready: true })
}

/** Registered before the transaction's first change, so it runs before cacheme's own after-commit work. */
function dieAtSomeCommits(transaction: Transaction): void {
  if (!random.chance(task.dieAtCommit)) return
  transaction.afterCommit(async () => {
    send({ dying: true })
    await new Promise<never>(() => {})
  })
}

async function round(writers: Writers, until: number, roundRandom: Random): Promise<void> {
  const writes = Object.fromEntries(WRITE_KINDS.map(kind => [kind, 0])) as Record<WriteKind, number>
  let writeErrors = 0
  const loop = async (loopRandom: Random) => {
    while (Date.now() < until) {
      try {
        writes[await writers.one(loopRandom)]++
      } catch {
        writeErrors++
      }
      await sleep(loopRandom.int(0, WRITER_PAUSE_MS))
    }
  }
  await Promise.all(Array.from({ length: task.loops }, (_, index) => loop(roundRandom.fork(index))))
  send({ idle: { writes, writeErrors } })
}

main().catch(error => {
  console.error('torture writer process failed:', error)
  process.exit(1)
})
