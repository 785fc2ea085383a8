import Redis from 'ioredis'
import { escapeGlob } from '../../src/keys'
import { RedisStore } from '../../src/store/redis-store'
import { testRedisUrl } from '../support/fixtures'
import { storeConformance } from './conformance'

let client: Redis | undefined
const prefixes: string[] = []

storeConformance(
  'RedisStore',
  async layout => {
    // Created on first use: the test Redis is only known once global setup has run.
    client ??= new Redis(testRedisUrl())
    prefixes.push(layout.prefix)
    return new RedisStore(client, layout)
  },
  async () => {
    if (!client) return
    for (const prefix of prefixes.splice(0)) {
      for await (const keys of client.scanStream({ match: `${escapeGlob(prefix)}*`, count: 1000 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await client.unlink(...keys)
      }
    }
    await client.quit()
    client = undefined
  },
)
