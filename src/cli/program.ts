import { Command, CommanderError, Option } from 'commander'
import { CachemeError } from '../errors'
import { TARGET_KINDS, type TargetKind } from '../invalidation'
import { CliError, EXIT } from './exit'
import { runGc } from './gc'
import { inspect } from './inspect'
import { invalidateCommand } from './invalidate'
import { Output, type CliIo } from './output'
import { relayCommand } from './relay'
import { Session, messageOf } from './session'
import { stats } from './stats'
import { listKeys, listTags } from './tags'

export type { CliIo } from './output'

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  not found: an unknown tag, an absent key
  2  usage error
  3  bad Redis URL, Redis unreachable, not answering or failing
  4  relay: the database unreachable or failing`

interface Globals {
  readonly redis?: string
  readonly cluster?: boolean
  readonly prefix: string
  readonly json?: boolean
}

type Handler = (session: Session, out: Output) => Promise<number>

/**
 * Runs the `cacheme` command with these arguments (without `node` and the script) and resolves
 * to its exit code. It configures cacheme for the process while it runs and shuts it down after.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok
  const program = buildProgram(io, code => (exitCode = code))
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message or the help already; asked-for help exits with 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    }
    if (error instanceof CliError) {
      io.stderr.write(`cacheme: ${error.message}\n`)
      return error.exitCode
    }
    throw error
  }
}

function buildProgram(io: CliIo, finished: (code: number) => void): Command {
  const program = new Command('cacheme')
    .description('Look into and manage what cacheme keeps in Redis.')
    .option('--redis <url>', `Redis URL (default: $REDIS_URL, else ${DEFAULT_REDIS_URL}); a node of a Redis Cluster is detected, and the Cluster used`)
    .option('--cluster', 'connect to the Redis Cluster the --redis node belongs to, without asking the node first')
    .option('--prefix <prefix>', 'the prefix cacheme is configured with (it ends with : / . or |)', 'CM:')
    .option('--json', 'print one JSON document instead of text')
    .configureOutput({ writeOut: text => io.stdout.write(text), writeErr: text => io.stderr.write(text) })
    .exitOverride()
    .showHelpAfterError('(cacheme --help shows the commands)')
    .addHelpText('after', EXIT_CODES_HELP)

  /** Connects, runs the command, maps what went wrong to an exit code, and always disconnects. */
  const connected = async (command: Command, handler: Handler) => {
    const { redis, cluster, prefix, json } = command.optsWithGlobals<Globals>()
    const url = redis ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL
    let session: Session | undefined
    try {
      session = await Session.open(url, prefix, { cluster: cluster === true })
      finished(await handler(session, new Output(io, json === true)))
    } catch (error) {
      throw cliErrorOf(error, session)
    } finally {
      await session?.close()
    }
  }

  program
    .command('tags')
    .description('list the tags that have entries under the prefix, with their member counts')
    .action((_options, command: Command) => connected(command, listTags))

  program
    .command('keys')
    .description('list the keys stored under a tag now, as the key function made them')
    .argument('<tag>')
    .action((tag: string, _options, command: Command) => connected(command, (session, out) => listKeys(session, out, tag)))

  program
    .command('inspect')
    .description('show an entry: its value, freshness, deadlines, and the dependency and tag sets that list it (found by scanning every set under the prefix)')
    .argument('<key>', 'a cache key as the key function makes it, e.g. Book:1>owner')
    .action((key: string, _options, command: Command) => connected(command, (session, out) => inspect(session, out, key)))

  const targets: Record<TargetKind, Option> = {
    key: new Option('--key <key>', 'one entry'),
    invalidKey: new Option('--invalid-key <key>', 'every entry depending on it (what a change of that row does)'),
    tag: new Option('--tag <tag>', 'every entry of a tag'),
    pattern: new Option('--pattern <glob>', "every key matching a Redis glob inside the prefix; '<hash glob>><field glob>' matches hash fields (progress shown on a terminal)"),
  }
  const targetFlags = TARGET_KINDS.map(kind => targets[kind].long).join(', ')
  const invalidateCmd = program.command('invalidate').description(`invalidate entries: give exactly one of ${targetFlags}`)
  for (const kind of TARGET_KINDS) invalidateCmd.addOption(targets[kind].conflicts(TARGET_KINDS.filter(other => other !== kind)))
  invalidateCmd
    .option('--dry-run', 'count what would be invalidated, remove nothing')
    .option('--no-grace', 'delete entries that have grace instead of keeping them stale')
    .action((options: Record<string, unknown>, command: Command) => {
      const kind = TARGET_KINDS.find(name => options[name] !== undefined)
      if (kind === undefined) command.error(`error: invalidate needs one of ${targetFlags}`, { exitCode: EXIT.usage })
      const target = { kind, value: String(options[kind]) }
      const flags = { dryRun: options.dryRun === true, grace: options.grace !== false }
      return connected(command, (session, out) => invalidateCommand(session, out, target, flags))
    })

  program
    .command('stats')
    .description('per-tag hits, misses, hit rate, stores, invalidations, errors and mean compute time, summed over every process')
    .action((_options, command: Command) => connected(command, stats))

  program
    .command('gc')
    .description('remove dead members from dependency and tag sets and expired hash fields (gc())')
    .action((_options, command: Command) => connected(command, runGc))

  program
    .command('relay')
    .description('deliver the invalidations the outbox table holds for processes that could not (a worker; --once for one pass)')
    .option('--database <url>', 'the application database, e.g. postgres://user@db/app or sqlite:/srv/app.sqlite (default: $DATABASE_URL)')
    .option('--table <name>', 'the outbox table', 'cacheme_outbox')
    .option('--relay-after <seconds>', 'deliver rows recorded longer ago than this', Number, 2)
    .option('--interval <seconds>', 'seconds between two passes', Number, 1)
    .option('--once', 'one pass, then print what was delivered and exit')
    .action((options: { database?: string; table: string; relayAfter: number; interval: number; once?: boolean }, command: Command) => {
      const flags = { ...options, database: options.database ?? process.env.DATABASE_URL, once: options.once === true }
      return connected(command, (session, out) => relayCommand(session, out, flags))
    })

  return program
}

/**
 * Rejected names and options are usage errors; anything else from Redis or the store means Redis
 * failed. Programming errors keep their stack.
 */
function cliErrorOf(error: unknown, session: Session | undefined): unknown {
  if (error instanceof CliError || error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return error
  if (error instanceof CachemeError && error.code.startsWith('INVALID_')) return new CliError(EXIT.usage, error.message)
  return new CliError(EXIT.redis, session ? `Redis at ${session.url} failed: ${session.failureMessage(error)}` : `Redis failed: ${messageOf(error)}`)
}
