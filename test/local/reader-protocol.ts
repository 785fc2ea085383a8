// What test/local/reader-process.ts is asked over IPC, and answers.

export type Request =
  | { readonly op: 'get'; readonly id: number }
  | { readonly op: 'watch'; readonly id: number; readonly old: number }
  | { readonly op: 'hammer'; readonly ids: number; readonly ms: number; readonly concurrency: number }
  | { readonly op: 'check'; readonly ids: number }

export type Reply = { value: number } | { watching: true } | { stoppedAt: string } | { reads: number } | { values: number[] }

/** Where the rows' true values live, outside the cache's prefix. */
export const truthKey = (prefix: string, id: number) => `truth:${prefix}${id}`
