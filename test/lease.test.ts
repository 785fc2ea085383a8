import { expect } from 'chai'
import sinon from 'sinon'
import { cacheme, configure } from '../src'
import { runtime } from '../src/config'
import { deferred, redisClient, TEST_STORE_OPTIONS } from './support/backends'

/**
 * Processes are simulated by configurations: each `configure()` has its own in-flight table, so a
 * second configuration on the same Redis and prefix misses like another process would.
 */
describe('cross-process lease', () => {
  const startProcess = (prefix: string) => configure({ redis: redisClient(), prefix, onError: () => {}, ...TEST_STORE_OPTIONS })
  const prefix = () => `lease${Date.now()}${Math.random().toString(36).slice(2, 6)}:`

  function computation(lease: number) {
    const gate = deferred()
    const started = deferred()
    let computations = 0
    const fn = cacheme({ key: () => 'Report:1', lease })(async () => {
      computations++
      started.resolve()
      await gate.promise
      return `report ${computations}`
    })
    return { fn, gate, started: started.promise, computations: () => computations }
  }

  it('lets one process compute while another waits for the value it stores', async () => {
    const shared = prefix()
    const { fn, gate, started, computations } = computation(5)
    startProcess(shared)
    const first = fn()
    await started
    startProcess(shared) // another process
    const second = fn()
    await new Promise(resolve => setTimeout(resolve, 100))
    gate.resolve()
    expect(await Promise.all([first, second])).to.deep.equal(['report 1', 'report 1'])
    expect(computations()).to.equal(1)
  })

  it('serves the value another process stored, and gave its lease back for, after this one missed', async () => {
    const shared = prefix()
    const { fn, gate, started, computations } = computation(5)
    startProcess(shared)
    const first = fn()
    await started
    startProcess(shared)
    // This process has missed; it reaches for the lease only once the first has stored and released.
    const store = runtime().store
    const acquire = store.acquireLease.bind(store)
    const delayed = sinon.stub(store, 'acquireLease').callsFake(async (name: string, ms: number) => {
      gate.resolve()
      await first
      return acquire(name, ms)
    })
    try {
      expect(await fn()).to.equal('report 1')
    } finally {
      delayed.restore()
    }
    expect(computations()).to.equal(1)
  })

  it('computes itself once the lease time has passed', async () => {
    const shared = prefix()
    const { fn, gate, started, computations } = computation(0.1)
    startProcess(shared)
    const first = fn()
    await started
    startProcess(shared)
    const second = fn()
    // The first holds its computation open until the second, its lease time passed, computes too.
    for (const deadline = Date.now() + 5_000; computations() < 2 && Date.now() < deadline;) await new Promise(resolve => setTimeout(resolve, 10))
    gate.resolve()
    await Promise.all([first, second])
    expect(computations()).to.equal(2)
  })
})
