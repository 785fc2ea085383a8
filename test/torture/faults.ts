import type { RedisServer } from '../../tools/redis-server'
import type { CutMode, TcpProxy } from '../../tools/tcp-proxy'
import { sleep, type Random } from './random'

/**
 * Breaks cacheme's way to Redis at random moments, one fault at a time: the proxy resets every
 * connection or swallows every byte for a while, or the server restarts and loses its data.
 */
export class FaultInjector {
  cuts = 0
  restarts = 0
  /** Faults begun so far: a call that saw it change overlapped an outage. */
  outages = 0
  /** Redis is unreachable right now. */
  down = false

  constructor(
    private readonly proxy: TcpProxy,
    private readonly redis: RedisServer,
    private readonly random: Random,
    private readonly maxRestarts: number,
  ) {}

  /** Injects faults until `deadline` (ms since the epoch), then leaves Redis reachable. */
  async run(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      await sleep(this.random.int(150, 600))
      if (Date.now() >= deadline) break
      this.down = true
      this.outages++
      try {
        if (this.restarts < this.maxRestarts && this.random.chance(0.25)) await this.#restart()
        else await this.#cut(this.random.pick<CutMode>(['reset', 'blackhole']))
      } finally {
        this.down = false
      }
    }
  }

  async #cut(mode: CutMode): Promise<void> {
    this.cuts++
    this.proxy.cut(mode)
    await sleep(this.random.int(100, 700))
    this.proxy.heal()
  }

  async #restart(): Promise<void> {
    this.restarts++
    await this.redis.restart()
  }
}
