/**
 * How an example serves: its settings, read from the command line and the environment, and the end
 * of its `main` once it listens. Unset, each example serves on port 3000 with caching on;
 * bench/http.ts serves both on free ports, cached and not, to measure them. DATABASE_URL, read by
 * each example's own database setup, puts its tables in another database.
 */
export interface ServeSettings {
  /** `--once` or EXAMPLE_ONCE=1: listen on a free port, run the self-check and exit. */
  readonly once: boolean
  /** PORT (default 3000); 0, a free port, with `once`. */
  readonly port: number
  /** CACHEME_ENABLED (see cacheEnabled). */
  readonly cacheEnabled: boolean
}

export function serveSettings(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const once = argv.includes('--once') || env.EXAMPLE_ONCE === '1'
  return { once, port: once ? 0 : Number(env.PORT ?? 3000), cacheEnabled: cacheEnabled(env.CACHEME_ENABLED) }
}

/** CACHEME_ENABLED=false (or 0, off) serves the example uncached: the same app, `configure({ enabled: false })`. */
export function cacheEnabled(value: string | undefined): boolean {
  return !/^(false|0|off)$/i.test(value?.trim() ?? '')
}

/**
 * The end of an example's `main` once its server listens: with `once`, runs the self-check and
 * stops; otherwise serves until Ctrl-C or SIGTERM, then stops and exits.
 */
export async function serveOrCheck(once: boolean, selfCheck: () => Promise<void>, stop: () => Promise<void>): Promise<boolean> {
  if (once) {
    try {
      await selfCheck()
      return true
    } finally {
      await stop()
    }
  }
  console.log('press Ctrl-C to stop')
  await new Promise<void>(resolve => process.once('SIGINT', resolve).once('SIGTERM', resolve))
  // A private redis-server stops on the same signal, so the client may be left retrying it:
  // give the cleanup a second, then exit.
  await Promise.race([stop(), new Promise(resolve => setTimeout(resolve, 1000))])
  process.exit(0)
}
