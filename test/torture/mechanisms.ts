import sinon from 'sinon'
import * as transactionReads from '../../src/sequelize/transaction-reads'
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
export type Mechanism = (typeof MECHANISMS)[number]

/** What a control run says it switched off. */
export const SWITCHED_OFF: Record<Mechanism, string> = {
  guard: 'stale-write guard off',
  transactionReads: 'transaction reads stored',
  clsBypass: 'CLS bypass off',
  outbox: 'no outbox',
}

/**
 * Switches one mechanism off in this process until the returned function is called. The product
 * has no switch for these, deliberately: the guard is bypassed by wrapping the store, the
 * transaction checks by stubbing the module the memoizer asks. The outbox is off by not
 * configuring it (see the workload).
 */
export function switchOff(mechanism: Mechanism | undefined, store: Store): () => void {
  switch (mechanism) {
    case 'guard':
      disableStaleWriteGuard(store)
      return () => {}
    case 'transactionReads': {
      const stub = sinon.stub(transactionReads, 'readsMayBeCached').returns(true)
      return () => stub.restore()
    }
    case 'clsBypass': {
      const stub = sinon.stub(transactionReads, 'insideWrittenTransaction').returns(false)
      return () => stub.restore()
    }
    default:
      return () => {}
  }
}
