import 'reflect-metadata' // legacy decorators with emitDecoratorMetadata: load before any decorated class

import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
// In an application: import { configure, invalidate, shutdown } from 'cacheme'
import { configure, invalidate, shutdown } from '../../src'
import { chooseStore } from '../support/choose-store'
import { createApp } from './app'
import { Invalidation, seed, sequelize } from './models'
import { selfCheck } from './self-check'
import { run } from '../support/run'
import { serveOrCheck, serveSettings } from '../support/serve'

/**
 * Serves the example on PORT (default 3000). With `--once` (or EXAMPLE_ONCE=1) it listens on a free
 * port instead, runs the self-check and exits: 0 when every step did what it should.
 */
async function main(): Promise<boolean> {
  const { once, port, cacheEnabled } = serveSettings()
  const store = await chooseStore({ prefix: 'express-example:', ttl: 600 })
  configure({ ...store.options, enabled: cacheEnabled })
  await invalidate({ pattern: '*' }) // start cold, even on a shared Redis holding an earlier run's entries
  await seed()
  const adminUser = 'admin'
  const adminPassword = process.env.ADMIN_PASSWORD ?? randomBytes(9).toString('base64url')
  const app = createApp({ invalidations: Invalidation, adminUser, adminPassword, adminSecret: process.env.ADMIN_SECRET })

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, '127.0.0.1', () => resolve(listening)).once('error', reject)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const stop = async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
    await sequelize.close()
    await shutdown()
    await store.server?.stop()
  }

  console.log(`cacheme Express example — store: ${store.label}`)
  console.log(`listening on ${url}`)
  console.log(`  books     ${url}/books`)
  console.log(`  metrics   ${url}/metrics`)
  console.log(`  admin     ${url}/admin/  (user ${adminUser}, password ${once ? '(generated)' : adminPassword})`)
  return serveOrCheck(once, () => selfCheck(url, adminUser, adminPassword, line => console.log(line)), stop)
}

run(main, error => (error instanceof Error ? error.message : error))
