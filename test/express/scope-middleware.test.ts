import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import express from 'express'
import { cacheme } from '../../src'
import { cachemeScopeMiddleware } from '../../src/express'
import { configureBackend, redisClient } from '../support/backends'
import { hgetsDuring } from '../support/command-spy'

describe('cachemeScopeMiddleware (cacheme/express)', () => {
  let server: Server | undefined
  let base: string

  const comments = cacheme({ key: c => `Post:${c.args[0]}>comments` })(async (id: number) => [`comment on ${id}`])

  /** A serializer that asks for the same key twice, as a list and its latest item often do. */
  async function serializePost(id: number) {
    return { id, comments: await comments(id), latest: (await comments(id)).at(-1) }
  }

  async function start(scoped: boolean): Promise<void> {
    const app = express()
    app.use(express.json())
    if (scoped) app.use(cachemeScopeMiddleware())
    app.post('/posts/:id', async (req, res) => {
      res.json({ ...(await serializePost(Number(req.params.id))), echo: req.body })
    })
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening)).once('error', reject)
    })
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  beforeEach(async () => {
    configureBackend('redis')
    await comments(1) // cached in Redis
  })

  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise(resolve => server?.close(resolve))
    server = undefined
  })

  const request = () => fetch(`${base}/posts/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }).then(response => response.json())

  it('answers a key asked twice in one request from memory, after a body parser', async () => {
    await start(true)
    let body: unknown
    expect(await hgetsDuring(redisClient(), async () => (body = await request()))).to.equal(1)
    expect(body).to.deep.equal({ id: 1, comments: ['comment on 1'], latest: 'comment on 1', echo: { a: 1 } })
    // Each request has its own scope.
    expect(await hgetsDuring(redisClient(), request)).to.equal(1)
  })

  it('reads Redis for each call without it', async () => {
    await start(false)
    expect(await hgetsDuring(redisClient(), request)).to.equal(2)
  })
})
