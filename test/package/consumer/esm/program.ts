// An ES module consumer of the packed cacheme, compiled once with legacy decorators and once with
// TC39 ones: named imports from every entry point, run against the Redis at CACHEME_REDIS_URL.
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { cacheme, cachemeEvents, cachemeTags, configure, invalidate, metricsHandler, openTelemetry, shutdown, type Container } from 'cacheme'
import { cachemeAdmin } from 'cacheme/admin'
import { toResponse } from 'cacheme/express'
import { CachemeModule } from 'cacheme/nest'
import { checkNamedExports } from './named-exports.js'

interface Author {
  id: number
  name: string
}

/** The container of `Authors.display`: its parameter, `self` and result are typed. */
interface DisplayCall extends Container<Authors, [author: Author], string> {
  author: Author
}

export class Authors {
  computed = 0

  @cacheme<DisplayCall>({ key: c => `Author:${c.author.id}>display`, invalidKeys: c => [`Author:${c.author.id}`], tag: 'esm-display' })
  async display(author: Author): Promise<string> {
    this.computed++
    return `${author.name} (#${author.id})`
  }

  // @ts-expect-error the container declares a string result
  @cacheme<DisplayCall>({ key: c => `Author:${c.author.id}>id` })
  async id(author: Author): Promise<number> {
    return author.id
  }
}

export async function main(mode: string): Promise<void> {
  const redis = process.env.CACHEME_REDIS_URL
  configure({ ...(redis ? { redis } : { store: 'memory' }), prefix: `pkg-esm-${mode}-${process.pid}:` })
  // @opentelemetry/api is not installed here: this does nothing, and does not fail.
  const detachTelemetry = openTelemetry()
  let hits = 0
  cachemeEvents.on('hit', () => hits++)

  const authors = new Authors()
  assert.equal(await authors.display({ id: 7, name: 'Le Guin' }), 'Le Guin (#7)')
  assert.equal(await authors.display({ id: 7, name: 'renamed' }), 'Le Guin (#7)', 'the second call is a hit')
  assert.equal(hits, 1)
  assert.deepEqual(await cachemeTags['esm-display'].keys(), ['Author:7>display'])
  assert.equal(await invalidate({ invalidKey: 'Author:7' }), 1)
  assert.equal(await authors.display({ id: 7, name: 'renamed' }), 'renamed (#7)')
  assert.equal(authors.computed, 2)

  assert.deepEqual(toResponse({ id: 1, published: new Date(0) }), { id: 1, published: '1970-01-01T00:00:00.000Z' })
  assert.equal(CachemeModule.forRoot({ store: 'memory' }).module, CachemeModule)
  const app = express()
  app.use('/admin', cachemeAdmin({ authorize: () => true }))
  app.get('/metrics', metricsHandler())
  const server = app.listen(0, '127.0.0.1')
  await new Promise(resolve => server.once('listening', resolve))
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const admin = await fetch(`${base}/admin/`)
    assert.equal(admin.status, 200)
    assert.match(await admin.text(), /esm-display/)
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^cacheme_hits_total\{tag="esm-display"\} 1$/m)
  } finally {
    server.close()
  }

  const entryPoints = await checkNamedExports()
  detachTelemetry()
  await cachemeTags['esm-display'].invalidate()
  await shutdown()
  console.log(`cacheme package works from ES modules with ${mode} decorators (${entryPoints.join(', ')}) on ${redis ? 'Redis' : 'the memory store'}`)
}
