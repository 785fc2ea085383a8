/** Runs an example's `main`: exit code 0 when it reports success, 1 when it fails or throws. */
export function run(main: () => Promise<boolean>, describeError: (error: unknown) => unknown = error => error): void {
  main().then(
    ok => {
      process.exitCode = ok ? 0 : 1
    },
    error => {
      console.error(describeError(error))
      process.exitCode = 1
    },
  )
}
