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
