import type { RedisServer } from '../../tools/redis-server'
import type { TcpProxy } from '../../tools/tcp-proxy'
import type { Figures } from './figures'
import type { Random } from './random'
import { sleep } from './sleep'

type Fault = 'reset' | 'restart' | 'blackhole'
/** Every kind comes early, so that even a short run meets each of them. */
const CYCLE: readonly Fault[] = ['reset', 'restart', 'blackhole']

/** What breaks Redis during a run's fault rounds. */
export interface Faults {
  /** Faults begun so far: a call that saw it change overlapped an outage. */
  readonly outages: number
  /** Redis (or a part of it) is unreachable right now. */
  readonly down: boolean
  /** Injects faults until about `until` (ms since the epoch); Redis is reachable when it returns. */
  run(until: number): Promise<void>
  /** Adds what it did to the run's figures. */
  record(figures: Figures['faults']): void
}

/**
 * Breaks cacheme's way to Redis, one fault at a time: the proxy resets every connection or
 * swallows every byte for a while (a partition), or the server restarts and loses its data.
 */
export class FaultInjector implements Faults {
  cuts = 0
  restarts = 0
  /** Faults begun so far: a call that saw it change overlapped an outage. */
  outages = 0
  /** Redis is unreachable right now. */
  down = false
  #next = 0

  constructor(
    private readonly proxy: TcpProxy,
    private readonly redis: RedisServer,
    private readonly random: Random,
    private readonly maxRestarts: number,
  ) {}

  /** Injects faults after short gaps until `until` (ms since the epoch); Redis is reachable when it returns. */
  async run(until: number): Promise<void> {
    for (;;) {
      const gap = this.random.int(50, 250)
      if (Date.now() + gap >= until) return
      await sleep(gap)
      this.down = true
      this.outages++
      try {
        await this.#inject(this.#nextFault(), Math.max(100, Math.min(300, until - Date.now())))
      } finally {
        this.down = false
      }
    }
  }

  record(figures: Figures['faults']): void {
    Object.assign(figures, { cuts: this.cuts, restarts: this.restarts })
  }

  #nextFault(): Fault {
    for (;;) {
      const fault = CYCLE[this.#next++ % CYCLE.length]
      if (fault !== 'restart' || this.restarts < this.maxRestarts) return fault
    }
  }

  async #inject(fault: Fault, longestMs: number): Promise<void> {
    if (fault === 'restart') {
      this.restarts++
      await this.redis.restart()
      return
    }
    this.cuts++
    this.proxy.cut(fault)
    await sleep(this.random.int(100, longestMs))
    this.proxy.heal()
  }
}
