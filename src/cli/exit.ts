/** What the process exit status tells a script. */
export const EXIT = {
  ok: 0,
  /** An unknown tag, an absent key. */
  notFound: 1,
  /** Bad arguments or options. */
  usage: 2,
  /** A bad Redis URL, a Redis that cannot be reached, does not answer or fails a command. */
  redis: 3,
  /** `relay`: the application database cannot be reached or fails a query. */
  database: 4,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** A failure the command explains in one line and ends with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message)
  }
}
