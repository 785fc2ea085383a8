import { expect } from 'chai'
import { cacheme, configure } from '../src'
import { deferred, redisClient } from './support/backends'

/**
 * Processes are simulated by configurations: each `configure()` has its own in-flight table, so a
 * second configuration on the same Redis and prefix misses like another process would.
 */
describe('cross-process lease', () => {
  const startProcess = (prefix: string) => configure({ redis: redisClient(), prefix, onError: () => {} })
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

  it('computes itself once the lease time has passed', async () => {
    const shared = prefix()
    const { fn, gate, started, computations } = computation(0.1)
    startProcess(shared)
    const first = fn()
    await started
    startProcess(shared)
    const second = fn()
    await new Promise(resolve => setTimeout(resolve, 300))
    gate.resolve()
    await Promise.all([first, second])
    expect(computations()).to.equal(2)
  })
})
