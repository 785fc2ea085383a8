import type { Model, ModelStatic } from 'sequelize'

/**
 * The part of a listener's job that any process can deliver knowing no application code (the
 * `cacheme relay` command): the dependency keys whose sets it empties, and the instance cache
 * entries it deletes (and the dependency sets named by them). A listener adds what only it can do.
 */
export interface ChangeJob {
  readonly invalidKeys?: readonly string[]
  /** false: entries with grace are deleted too, not kept stale. */
  readonly grace?: boolean
  /** Instance keys as `keyFor` makes them, without the prefix. */
  readonly instances?: readonly string[]
  /** Every entry under the prefix: a bulk write past its model's `cachemeBulkLimit`. */
  readonly everything?: boolean
}

/** What a listener will do about a change. */
export interface ChangeWork<Job extends ChangeJob = ChangeJob> {
  /** The work as plain JSON, asked for at hook time when an outbox records it. */
  job(): Job
  /**
   * Does the work with the rows the hook gave, once the change is committed. Resolves to false
   * when some of it waits in this process for its store to answer again: an outbox then keeps the
   * change for a relay.
   */
  run(): Promise<boolean>
}

/**
 * Told of every change to a model's rows, at hook time, with the rows as they are and, for an
 * update, as they were. It takes what it needs from them then (by the commit Sequelize has
 * forgotten the previous values, and the application may change the instances again) and says
 * what work the change needs, if any. `deliver` does a job the outbox kept, in whatever process
 * relays it, at any later time: delivering a job twice, or late, must be harmless.
 */
export interface ChangeListener<Job extends ChangeJob = ChangeJob> {
  /** Names the listener's jobs in the outbox, so that a relay finds who delivers them. */
  readonly name: string
  changed(model: ModelStatic<Model>, rows: readonly Model[]): ChangeWork<Job> | undefined
  /** Resolves as `ChangeWork.run` does. */
  deliver(model: ModelStatic<Model>, job: Job): Promise<boolean>
}
