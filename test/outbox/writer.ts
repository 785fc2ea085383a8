// A writer process for the durability tests: it changes books and then stops at the point the
// test names, where the test kills it (SIGKILL) or lets it shut down. It talks to the test over IPC.
import { configure, shutdown } from '../../src'
import { runtime } from '../../src/config'
import { openShelf, ShelfCache } from './shelf'

/** Where the writer stops. */
export type StopPoint =
  /** Inside a transaction, right after its commit resolved and before cacheme delivers the invalidation. */
  | 'commit'
  /** Outside a transaction, right after the write and before cacheme delivers the invalidation. */
  | 'write'
  /** After the transaction and cacheme's delivery attempt (queued when Redis is paused). */
  | 'delivered'
  /** Like 'delivered', then a graceful shutdown(). */
  | 'shutdown'

export interface WriterTask {
  readonly database: string
  readonly redis: string
  readonly prefix: string
  readonly outbox: boolean
  readonly stop: StopPoint
  /** cacheme's Redis timeout, in seconds. */
  readonly timeout?: number
  /** shutdown({ wait }), in seconds. */
  readonly wait?: number
}

/** What the writer tells the test. */
export type WriterMessage = { readonly at: 'ready' | StopPoint; readonly pending?: number } | { readonly fault: string; readonly code?: string }

const task = JSON.parse(process.argv[2]!) as WriterTask
const send = (message: WriterMessage) => process.send!(message)
/** Holds the writer where it is until it is killed. */
const forever = () => new Promise<never>(() => {})

async function main(): Promise<void> {
  const shelf = openShelf(task.database)
  configure({
    redis: task.redis,
    prefix: task.prefix,
    timeout: task.timeout,
    onError: error => send({ fault: error instanceof Error ? error.message : String(error), code: (error as { code?: string }).code }),
    ...(task.outbox ? { outbox: { sequelize: shelf.sequelize, relayAfter: 0.2 } } : {}),
  })
  // Installed before cacheme's hooks, so it runs first: the write is done, cacheme has not delivered.
  if (task.stop === 'write') shelf.Book.addHook('afterUpdate', () => (send({ at: 'write' }), forever()))
  new ShelfCache(shelf).registerModels([shelf.Book, shelf.Owner])
  send({ at: 'ready' })
  await new Promise(resolve => process.once('message', resolve))

  if (task.stop === 'write') {
    await (await shelf.Book.findByPk(1))!.update({ title: 'new 1', ownerId: 2 })
    return
  }
  await shelf.sequelize.transaction(async transaction => {
    // Registered before the change's, so it runs first, as the commit resolves.
    if (task.stop === 'commit') transaction.afterCommit(() => (send({ at: 'commit' }), forever()))
    for (const id of [1, 2, 3]) await (await shelf.Book.findByPk(id, { transaction }))!.update({ title: `new ${id}`, ownerId: 2 }, { transaction })
  })
  const pending = runtime().pendingInvalidations?.() ?? 0
  if (task.stop === 'delivered') {
    send({ at: 'delivered', pending })
    await forever()
  }
  await shutdown({ wait: task.wait })
  await shelf.sequelize.close()
  send({ at: 'shutdown', pending })
  process.disconnect()
}

main().catch(error => {
  send({ fault: `writer failed: ${error instanceof Error ? error.stack : String(error)}` })
  process.exit(1)
})
