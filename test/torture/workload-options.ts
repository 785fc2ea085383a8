import { SWITCHED_OFF, type Mechanism } from './mechanisms'

export interface WorkloadOptions {
  readonly durationMs: number
  /** Concurrent reader loops. */
  readonly readers: number
  /** Concurrent writer loops in the readers' process. */
  readonly writers: number
  /** Writer processes besides, each killed (SIGKILL) at random moments and at some commits, and replaced. */
  readonly processes: number
  /** As many reader processes as `processes`, with the in-process tier on (`--local`). */
  readonly local?: boolean
  /** Books in the table: bulk writes take ranges of hundreds of them. */
  readonly books: number
  /** Cut the connection to Redis and restart it while the workload runs. */
  readonly faults: boolean
  /** The mechanism a control run switches off; none: every mechanism on. */
  readonly off?: Mechanism
  readonly seed: number
  /** End after the first round whose comparison found a stale value (a control that has shown its point). */
  readonly stopAtFirstStale?: boolean
}

/** The run's mode, as the figures name it. */
export function modeOf(options: Pick<WorkloadOptions, 'off'>): string {
  return options.off ? SWITCHED_OFF[options.off] : 'all on'
}
