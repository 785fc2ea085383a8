import autocannon from 'autocannon'

export interface Load {
  readonly requestsPerSecond: number
  /** autocannon records latencies in whole milliseconds. */
  readonly p99Ms: number
  readonly requests: number
}

/** Answers each connection gets in a warm-up, at least; the 1-connection warm-up gets WARMUP_ANSWERS. */
const WARMUP_ANSWERS_PER_CONNECTION = 2
const WARMUP_ANSWERS = 50

/**
 * `connections` keep-alive connections, each sending the next request as soon as its answer
 * arrives and going through `paths` in turn, until `until` is met. Fails on any error or non-2xx
 * answer: a benchmark of error pages would measure the wrong thing.
 */
async function run(url: string, paths: readonly string[], connections: number, until: { duration: number } | { amount: number }): Promise<autocannon.Result> {
  const result = await autocannon({ url, connections, ...until, requests: paths.map(path => ({ method: 'GET', path })) })
  if (result.errors || result.timeouts || result.non2xx) {
    throw new Error(`${url}${paths[0]} at ${connections} connections: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`)
  }
  return result
}

/**
 * Unmeasured: a number of answers rather than a time, so that no request is left in flight when it
 * ends however slow the server is.
 */
export async function warmUp(url: string, paths: readonly string[], connections: number): Promise<void> {
  await run(url, paths, connections, { amount: Math.max(WARMUP_ANSWERS, WARMUP_ANSWERS_PER_CONNECTION * connections) })
}

/** Measured for `seconds`; fails when no request was answered in that time. */
export async function drive(url: string, paths: readonly string[], connections: number, seconds: number): Promise<Load> {
  const result = await run(url, paths, connections, { duration: seconds })
  if (!result.requests.total) throw new Error(`${url}${paths[0]} at ${connections} connections: no answer within ${seconds} s`)
  // autocannon drops the requests in flight when the time is up, but the server still works on
  // them: none takes longer than the slowest answer, and the next run must not pay for them.
  await new Promise(resolve => setTimeout(resolve, result.latency.max + 100))
  return { requestsPerSecond: result.requests.total / result.duration, p99Ms: result.latency.p99, requests: result.requests.total }
}
