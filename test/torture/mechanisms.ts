import sinon from 'sinon'
import * as conflictingRows from '../../src/sequelize/conflicting-rows'
import * as counters from '../../src/sequelize/counters'
import * as instanceRows from '../../src/sequelize/instance-rows'
import * as sequelizeInternals from '../../src/sequelize/sequelize-internals'
import * as transactionReads from '../../src/sequelize/transaction-reads'
import { LocalEntries } from '../../src/local/local-entries'
import { PendingReads } from '../../src/local/pending-reads'
import type { Store } from '../../src/store/store'
import { disableStaleWriteGuard } from './guard'

/**
 * The mechanisms that keep the cache from serving stale values, each switched off in turn by a
 * control run to show that the workload needs it and that the comparison catches its absence:
 * - `guard`: the store's stale-write guard (a value computed while its rows changed is refused);
 * - `transactionReads`: a value computed from reads in a transaction that has written (or in an
 *   older snapshot) is not stored for others;
 * - `clsBypass`: inside a CLS transaction that has written, a decorated call computes afresh and
 *   reads its own writes;
 * - `outbox`: a change's invalidation is written in its own transaction, so a relay delivers it
 *   when its process dies after the commit (only meaningful with writer processes that are killed).
 */
export const MECHANISMS = ['guard', 'transactionReads', 'clsBypass', 'outbox'] as const

/**
 * What the hooks do on the write paths that need more than the row in hand, each of which can be
 * switched off too, to show that the workload takes that path and the comparison sees it missed:
 * - `movedRows`: an upsert or a bulkCreate with updateOnDuplicate reads the rows it may update first
 *   (their old owner);
 * - `computedValues`: a bulk update with values the database computes reads its rows back;
 * - `partialRows`: an instance loaded with some columns has the others read before its write;
 * - `counters`: increment and decrement, which run no hooks, are wrapped.
 */
export const WRITE_PATHS = ['movedRows', 'computedValues', 'partialRows', 'counters'] as const
/**
 * What keeps the in-process tier of the reader processes (`--local`) coherent, each of which can
 * be switched off in those processes:
 * - `pendingReads`: a reply that arrives after the invalidation of its key is returned but not kept;
 * - `reconnectFlush`: the tier is emptied when one of its connections drops (the messages sent
 *   meanwhile are lost) or the heartbeat goes unanswered.
 */
export const LOCAL_MECHANISMS = ['pendingReads', 'reconnectFlush'] as const
export type Mechanism = (typeof MECHANISMS)[number] | (typeof WRITE_PATHS)[number] | (typeof LOCAL_MECHANISMS)[number]

/** What a control run says it switched off. */
export const SWITCHED_OFF: Record<Mechanism, string> = {
  guard: 'stale-write guard off',
  transactionReads: 'transaction reads stored',
  clsBypass: 'CLS bypass off',
  outbox: 'no outbox',
  movedRows: 'moved rows: old keys unread',
  computedValues: 'computed values: no read-back',
  partialRows: 'partial instances: unread columns',
  counters: 'counters unseen',
  pendingReads: 'tier: no pending-read marker',
  reconnectFlush: 'tier: no flush on reconnect',
}

/**
 * Switches one mechanism off in this process until the returned function is called; before the
 * models are registered (counters are wrapped then). The product has no switch for these,
 * deliberately: the guard is bypassed by wrapping the store, the others by stubbing the module
 * that cacheme's code asks. The outbox is off by not configuring it (see the workload).
 */
export function switchOff(mechanism: Mechanism | undefined, store: Store): () => void {
  switch (mechanism) {
    case 'guard':
      disableStaleWriteGuard(store)
      return () => {}
    case 'transactionReads':
      return stubbed(sinon.stub(transactionReads, 'readsMayBeCached').returns(true))
    case 'clsBypass':
      return stubbed(sinon.stub(transactionReads, 'insideWrittenTransaction').returns(false))
    case 'movedRows':
      return stubbed(sinon.stub(conflictingRows, 'findConflicting').resolves([]))
    case 'computedValues':
      return stubbed(sinon.stub(sequelizeInternals, 'isComputed').returns(false))
    case 'partialRows':
      return stubbed(sinon.stub(instanceRows, 'readUnloadedColumns').resolves())
    case 'counters':
      return stubbed(sinon.stub(counters, 'watchCounters'))
    case 'pendingReads': {
      const spoil = sinon.stub(PendingReads.prototype, 'spoil')
      const spoilAll = sinon.stub(PendingReads.prototype, 'spoilAll')
      return () => (spoil.restore(), spoilAll.restore())
    }
    case 'reconnectFlush':
      return stubbed(sinon.stub(LocalEntries.prototype, 'clear'))
    default:
      return () => {}
  }
}

function stubbed(stub: sinon.SinonStub): () => void {
  return () => stub.restore()
}
