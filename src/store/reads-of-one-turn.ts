import type { EntryRef } from '../keys'

/** A read waiting in a batch, with how to answer it. */
export interface WaitingRead<T> {
  readonly entry: EntryRef
  readonly resolve: (read: T) => void
  readonly reject: (error: unknown) => void
}

/**
 * Gathers the reads issued in one turn of the event loop and hands them to `flush` together at the
 * end of the current tick (process.nextTick, before any I/O), so that a lone read waits for nothing.
 */
export class ReadsOfOneTurn<T> {
  #waiting: WaitingRead<T>[] = []

  constructor(private readonly flush: (batch: WaitingRead<T>[]) => void) {}

  read(entry: EntryRef): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#waiting.length === 0) process.nextTick(() => this.#handOver())
      this.#waiting.push({ entry, resolve, reject })
    })
  }

  #handOver(): void {
    const batch = this.#waiting
    this.#waiting = []
    this.flush(batch)
  }
}
