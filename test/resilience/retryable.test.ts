import { expect } from 'chai'
import { ReplyError } from 'ioredis'
import { CachemeError } from '../../src/errors'
import { isRetryable } from '../../src/resilience/retryable'

describe('isRetryable', () => {
  it('retries what may pass: a timeout, a store that is skipped, a lost connection', () => {
    expect(isRetryable(new CachemeError('STORE_TIMEOUT', 'the store did not answer within 250 ms'))).to.equal(true)
    expect(isRetryable(new CachemeError('STORE_UNAVAILABLE', 'the store is being skipped'))).to.equal(true)
    expect(isRetryable(new Error('Connection is closed.'))).to.equal(true)
  })

  it('retries the replies of a server that is loading, busy, full or failing over', () => {
    for (const reply of [
      'LOADING Redis is loading the dataset in memory',
      'BUSY Redis is busy running a script',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'CLUSTERDOWN The cluster is down',
      'MASTERDOWN Link with MASTER is down',
      "READONLY You can't write against a read only replica.",
      "OOM command not allowed when used memory > 'maxmemory'.",
      'NOREPLICAS Not enough good replicas to write.',
      'MOVED 3999 127.0.0.1:6381',
      'ASK 3999 127.0.0.1:6381',
    ]) {
      expect(isRetryable(new ReplyError(reply)), reply).to.equal(true)
    }
  })

  it('never retries a reply that will be given again, an error of the program, or what is not an error', () => {
    for (const reply of [
      'ERR user_script:52: Script attempted to access a non local key in a cluster node script',
      "CROSSSLOT Keys in request don't hash to the same slot",
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      "NOPERM this user has no permissions to run the 'scan' command",
    ]) {
      expect(isRetryable(new ReplyError(reply)), reply).to.equal(false)
    }
    expect(isRetryable(new RangeError('Maximum call stack size exceeded'))).to.equal(false)
    expect(isRetryable(new TypeError('Cannot read properties of undefined'))).to.equal(false)
    expect(isRetryable(new CachemeError('STORE_FAILED', '"CM:Book:1" holds a string, not a hash'))).to.equal(false)
    expect(isRetryable('a string')).to.equal(false)
  })
})
