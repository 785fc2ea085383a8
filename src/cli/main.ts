#!/usr/bin/env node
import { run } from './program'

/** Exit status of an internal error (a bug), as sysexits' EX_SOFTWARE: apart from the documented ones. */
const INTERNAL_ERROR = 70

run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true }).then(
  code => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`cacheme: internal error: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exitCode = INTERNAL_ERROR
  },
)
