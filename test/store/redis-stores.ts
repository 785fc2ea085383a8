import Redis from 'ioredis'
import { escapeGlob, type KeyLayout } from '../../src/keys'
import { RedisStore } from '../../src/store/redis-store'
import { testRedisUrl } from '../support/fixtures'

export interface RedisStores {
  /** A RedisStore for the layout, on a client shared by every store of this suite. */
  create(layout: KeyLayout): Promise<RedisStore>
  /** Deletes every key the stores wrote and quits the client. */
  cleanup(): Promise<void>
}

/** RedisStores on the test Redis for one run of the conformance suite. */
export function redisStores(): RedisStores {
  let client: Redis | undefined
  const prefixes: string[] = []
  return {
    async create(layout) {
      // Created on first use: the test Redis is only known once global setup has run.
      client ??= new Redis(testRedisUrl())
      prefixes.push(layout.prefix)
      return new RedisStore(client, layout)
    },
    async cleanup() {
      if (!client) return
      for (const prefix of prefixes.splice(0)) {
        for await (const keys of client.scanStream({ match: `${escapeGlob(prefix)}*`, count: 1000 }) as AsyncIterable<string[]>) {
          if (keys.length > 0) await client.unlink(...keys)
        }
      }
      await client.quit()
      client = undefined
    },
  }
}
