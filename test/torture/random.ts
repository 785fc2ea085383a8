/** A seeded pseudo-random stream (mulberry32), so a run's choices repeat for the same seed. */
export class Random {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0
    let t = this.#state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]
  }

  /** Like `pick`, but half the time one of the first `hot` items: some rows change often, most rarely. */
  pickSkewed<T>(items: readonly T[], hot = 3): T {
    return this.chance(0.5) ? items[Math.floor(this.next() * Math.min(hot, items.length))] : this.pick(items)
  }

  /** A random subset of `items`, each kept with probability `probability`. */
  subset<T>(items: readonly T[], probability = 0.3): T[] {
    return items.filter(() => this.chance(probability))
  }

  /** An independent stream for one worker, so workers do not perturb each other's choices. */
  fork(index: number): Random {
    return new Random(Math.imul(this.#state ^ (index + 1), 0x9e3779b1))
  }
}
