/** Where a command writes; the process streams in the bin, buffers in tests. */
export interface CliIo {
  readonly stdout: Writer
  readonly stderr: Writer
  /** stderr is a terminal: progress lines are shown there. */
  readonly isTTY: boolean
}

export interface Writer {
  write(text: string): unknown
}

/** Prints a command's result: one JSON document with `--json`, else text for a person. */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  result(document: unknown, text: () => string): void {
    this.io.stdout.write(this.json ? `${JSON.stringify(document, null, 2)}\n` : text())
  }
}

export type Align = 'left' | 'right'

/** Columns padded to their widest cell; numbers read best right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map(row => row[i].length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [headers, ...rows].map(line).join('\n') + '\n'
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}
