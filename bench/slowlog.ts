import type { Redis } from 'ioredis'
import { formatUs, type Measured, type Verdict } from './harness'

/** No single Redis command may block a server longer than this, in µs, while a set is invalidated. */
export const LONGEST_COMMAND_TARGET_US = 10_000

export interface SlowlogEntry {
  micros: number
  command: string
}

/** Every command a server logged (run with slowlog-log-slower-than 0), but SLOWLOG itself. */
export async function slowlog(admin: Redis): Promise<SlowlogEntry[]> {
  const entries = (await admin.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[]][]
  return entries.map(([, , micros, args]) => ({ micros, command: String(args[0]).toUpperCase() })).filter(entry => entry.command !== 'SLOWLOG')
}

/** The longest of the entries; 0 µs when there are none. */
export const longestOf = (entries: readonly SlowlogEntry[]): SlowlogEntry => entries.reduce((max, entry) => (entry.micros > max.micros ? entry : max), { micros: 0, command: '' })

const ms = (entry: SlowlogEntry) => `${(entry.micros / 1000).toFixed(2)} ms`

/** The row of one invalidation's results: its time per member and its longest command. */
export function invalidationRow(
  name: string,
  totalUs: number,
  size: number,
  referencePerMemberUs: number,
  rounds: number,
  scripts: [string, number],
  worst: SlowlogEntry,
): Measured {
  return {
    name,
    medianUs: totalUs,
    ratio: totalUs / size / referencePerMemberUs,
    rounds,
    samples: rounds,
    extra: { 'per member': formatUs(totalUs / size), [scripts[0]]: String(scripts[1]), 'longest Redis command, worst round': `${ms(worst)} (${worst.command})` },
  }
}

/** Whether no command took longer than the target while `size` members were invalidated; `where` names the servers read. */
export function longestCommandVerdict(subject: string, size: number, rounds: number, worst: SlowlogEntry, where: string): Verdict {
  const met = worst.micros <= LONGEST_COMMAND_TARGET_US
  return {
    target: `${subject}no Redis command over ${LONGEST_COMMAND_TARGET_US / 1000} ms while invalidating a set of ${size.toLocaleString('en')} members`,
    measured: `longest command ${ms(worst)} (${worst.command}), the worst of ${rounds} round${rounds === 1 ? '' : 's'} (${where})`,
    met,
    verdict: met ? 'yes' : `no, ${ms(worst)}`,
  }
}
