import { expect } from 'chai'
import Redis from 'ioredis'
import { startTcpProxy, type TcpProxy } from '../tools/tcp-proxy'
import { sleep } from './support/backends'
import { testRedisUrl } from './support/fixtures'

/** Fails fast: no retries, no waiting for a connection, a short command timeout. */
function impatientClient(url: string): Redis {
  return new Redis(url, {
    commandTimeout: 300,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => 50,
  })
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(20)
  }
}

const ready = (client: Redis) => until(() => client.status === 'ready')
const pings = (client: Redis) =>
  client.ping().then(
    reply => reply === 'PONG',
    () => false,
  )

describe('tcp proxy', () => {
  let proxy: TcpProxy
  const clients: Redis[] = []
  const client = () => {
    const created = impatientClient(proxy.url)
    created.on('error', () => {}) // connection errors are what these tests provoke
    clients.push(created)
    return created
  }

  beforeEach(async () => {
    const target = new URL(testRedisUrl())
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
  })

  afterEach(async () => {
    for (const created of clients.splice(0)) created.disconnect()
    await proxy.close()
  })

  it('forwards commands to the target', async () => {
    const redis = client()
    await ready(redis)
    expect(proxy.url).to.equal(`redis://127.0.0.1:${proxy.port}`)
    expect(await redis.ping()).to.equal('PONG')
    await redis.set('tcp-proxy:k', 'v')
    expect(await redis.get('tcp-proxy:k')).to.equal('v')
    expect(proxy.connections).to.equal(1)
  })

  it('reset: drops the connections, refuses new ones, and forwards again once healed', async () => {
    const redis = client()
    await ready(redis)
    proxy.cut('reset')
    expect(proxy.connections).to.equal(0)
    await sleep(100)
    let error: Error | undefined
    await redis.ping().catch(caught => (error = caught))
    expect(error).to.be.instanceOf(Error)
    await sleep(200) // several reconnection attempts, each reset
    expect(redis.status).to.not.equal('ready')
    expect(proxy.connections).to.equal(0)

    proxy.heal()
    await ready(redis)
    expect(await redis.ping()).to.equal('PONG')
  })

  it('blackhole: commands time out on an open socket; heal closes it so the client reconnects', async () => {
    const redis = client()
    await ready(redis)
    proxy.cut('blackhole')
    const started = Date.now()
    let error: Error | undefined
    await redis.ping().catch(caught => (error = caught))
    expect(error?.message).to.match(/timed out/i)
    expect(Date.now() - started).to.be.within(250, 1000)
    expect(proxy.connections).to.equal(1) // the socket stays open, as behind a partition

    proxy.heal()
    await until(() => pings(redis))
    expect(proxy.connections).to.equal(1)
  })

  it('blackhole: a connection made during the cut hears nothing either', async () => {
    proxy.cut('blackhole')
    const redis = new Redis(proxy.url, { commandTimeout: 300, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
    redis.on('error', () => {})
    clients.push(redis)
    let error: Error | undefined
    await redis.ping().catch(caught => (error = caught))
    expect(error?.message).to.match(/timed out/i)
    expect(redis.status).to.not.equal('ready')

    proxy.heal()
    await until(() => pings(redis))
  })

  it('a healthy client reaches the target again after reset and blackhole cuts in a row', async () => {
    const redis = client()
    await ready(redis)
    for (const mode of ['reset', 'blackhole', 'reset'] as const) {
      proxy.cut(mode)
      expect(await pings(redis)).to.equal(false)
      proxy.heal()
      await until(() => pings(redis))
    }
  })

  it('close ends every connection', async () => {
    const redis = client()
    await ready(redis)
    await proxy.close()
    expect(proxy.connections).to.equal(0)
    expect(await pings(redis)).to.equal(false)
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 1 }) // afterEach closes a proxy
  })
})
