import { expect } from 'chai'
import sinon from 'sinon'
import { CachemeError } from '../../src'
import { Deadlines } from '../../src/resilience/deadlines'
import { deferred } from '../support/backends'

describe('Deadlines', () => {
  let clock: sinon.SinonFakeTimers
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 1_000 })))
  afterEach(() => clock.restore())

  it('settles as the operation does', async () => {
    const deadlines = new Deadlines(100)
    expect(await deadlines.run(async () => 'done')).to.equal('done')
    const failing = deadlines.run(async () => {
      throw new Error('broken')
    })
    expect(await failing.catch((error: Error) => error.message)).to.equal('broken')
  })

  it('rejects with STORE_TIMEOUT within a quarter timeout past the deadline, and ignores a late answer', async () => {
    const deadlines = new Deadlines(100)
    const answer = deferred<string>()
    const running = deadlines.run(() => answer.promise)
    let outcome: unknown
    running.then(
      value => (outcome = value),
      error => (outcome = error),
    )
    await clock.tickAsync(99)
    expect(outcome).to.equal(undefined)
    await clock.tickAsync(26)
    expect(outcome).to.be.instanceOf(CachemeError).with.property('code', 'STORE_TIMEOUT')
    answer.resolve('late')
    await clock.tickAsync(1)
    expect(outcome).to.be.instanceOf(CachemeError)
  })

  it('moves the deadline on progress, so that the timeout bounds each step', async () => {
    const deadlines = new Deadlines(100)
    const answer = deferred<string>()
    let progress!: () => void
    const running = deadlines.run(step => {
      progress = step
      return answer.promise
    })
    for (let step = 0; step < 5; step++) {
      await clock.tickAsync(80)
      progress()
    }
    answer.resolve('after 400 ms in steps of 80')
    expect(await running).to.equal('after 400 ms in steps of 80')
  })

  it('keeps no timer once nothing is pending', async () => {
    const deadlines = new Deadlines(100)
    await deadlines.run(async () => 1)
    await clock.tickAsync(25)
    expect(clock.countTimers()).to.equal(0)
  })
})
