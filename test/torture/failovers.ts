import type { RedisCluster } from '../../tools/redis-cluster'
import { killMaster, rejoin, waitForFailover } from '../cluster/master-kills'
import type { Faults } from './faults'
import type { Figures } from './figures'
import type { Random } from './random'
import { sleep } from './sleep'

/**
 * Kills a master of the Cluster (SIGKILL) once per fault round, up to `maxKills` in a run, the
 * masters in turn: its replica takes over after the cluster's node timeout, then the killed node
 * comes back empty as a replica of it, so that its shard can fail over again.
 */
export class FailoverInjector implements Faults {
  kills = 0
  outages = 0
  down = false

  constructor(
    private readonly cluster: RedisCluster,
    private readonly random: Random,
    private readonly maxKills: number,
  ) {}

  /** One kill and its failover, then the rejoin; the round's writers go on meanwhile. */
  async run(until: number): Promise<void> {
    if (this.kills >= this.maxKills) return
    await sleep(this.random.int(0, Math.max(0, until - Date.now())))
    const failover = await killMaster(this.cluster, this.kills++)
    this.down = true
    this.outages++
    try {
      await waitForFailover(this.cluster, failover)
    } finally {
      this.down = false
    }
    await rejoin(this.cluster, failover)
  }

  record(figures: Figures['faults']): void {
    figures.failovers = this.kills
  }
}
