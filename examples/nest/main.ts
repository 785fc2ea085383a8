import 'reflect-metadata' // legacy decorators with emitDecoratorMetadata, as Nest needs: load before any decorated class

import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { NestFactory } from '@nestjs/core'
// In an application: import { invalidate } from 'cacheme'
import { invalidate } from '../../src'
import { chooseStore } from '../support/choose-store'
import { run } from '../support/run'
import { serveOrCheck, serveSettings } from '../support/serve'
import { AppModule } from './app.module'
import { seed } from './models'
import { selfCheck } from './self-check'

/**
 * Serves the example on PORT (default 3000). With `--once` (or EXAMPLE_ONCE=1) it listens on a free
 * port instead, runs the self-check and exits: 0 when every step did what it should.
 */
async function main(): Promise<boolean> {
  const { once, port } = serveSettings()
  const store = await chooseStore({})
  // The application reads REDIS_URL through ConfigService: hand it a private redis-server's.
  if (store.server) process.env.REDIS_URL = store.server.url
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
  await app.init()
  await invalidate({ pattern: '*' }) // start cold, even on a shared Redis holding an earlier run's entries
  await seed()
  await app.listen(port, '127.0.0.1')
  const url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`
  const stop = async () => {
    // Closes the HTTP server, then the providers: CachemeService closes the Redis connection it opened.
    await app.close()
    await store.server?.stop()
  }

  console.log(`cacheme NestJS example — store: ${store.label}`)
  console.log(`listening on ${url}`)
  console.log(`  a book           ${url}/books/1`)
  console.log(`  books of author  ${url}/authors/1/books`)
  console.log(`  health           ${url}/health`)
  return serveOrCheck(once, () => selfCheck(url, line => console.log(line)), stop)
}

run(main, error => (error instanceof Error ? error.message : error))
