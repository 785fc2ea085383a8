import { expect } from 'chai'
import { startExample, type ExampleServer } from '../../bench/http-server'
import { startRedisServer, type RedisServer } from '../../tools/redis-server'

const json = async (url: string) => (await fetch(url)).json()

describe('the HTTP benchmark launcher', function () {
  this.timeout(150_000)
  const servers: ExampleServer[] = []
  // A Redis of their own: tests that look at every key of the shared test Redis must not find the examples'.
  let redis: RedisServer
  before(async () => {
    redis = await startRedisServer()
  })
  after(async () => {
    await Promise.all(servers.map(server => server.stop()))
    await redis?.stop()
  })

  it('serves the Express example cached and the Nest one uncached, each on a port of its own', async () => {
    // Started together, as the benchmark starts its servers.
    const [express, nest] = await Promise.all([startExample('express', { redisUrl: redis.url, cached: true }), startExample('nest', { redisUrl: redis.url, cached: false })])
    servers.push(express, nest)
    for (const server of servers) expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(express.url).not.to.equal(nest.url)

    for (let request = 0; request < 2; request++) {
      const books = (await json(`${express.url}/books`)) as { id: number }[]
      expect(books.map(book => book.id)).to.deep.equal([1, 2, 3, 4, 5, 6])
    }
    // Cached: the second request's author of book 1 was a hit.
    expect(await (await fetch(`${express.url}/metrics`)).text()).to.match(/^cacheme_hits_total\{tag="BookSerializer\.author"\} [1-9]/m)

    expect(await json(`${nest.url}/books/3`)).to.deep.include({ id: 3, title: 'Dawn' })
    // CACHEME_ENABLED=false reached CachemeModule's configuration.
    expect(await json(`${nest.url}/health`)).to.have.nested.property('cacheme.enabled', false)
  })

  it('stops both servers: their ports refuse connections', async () => {
    await Promise.all(servers.map(server => server.stop()))
    for (const server of servers) {
      const refused = await fetch(`${server.url}/books/1`).then(
        () => false,
        () => true,
      )
      expect(refused, server.url).to.equal(true)
    }
  })
})
