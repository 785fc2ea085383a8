import type { Writer } from './output'

const WIDTH = 24
/** Redrawing more often than this only costs terminal time. */
const REDRAW_MS = 100

/** One line on a terminal, redrawn in place (`\r`, then erase to its end); nothing when disabled. */
export class Progress {
  #drawnAt = 0
  #drawn = false

  constructor(
    readonly stream: Writer,
    readonly enabled: boolean,
  ) {}

  /** `done` from 0 to 1 draws a bar before the text. */
  update(text: string, done?: number, force = false): void {
    if (!this.enabled) return
    const now = Date.now()
    if (!force && now - this.#drawnAt < REDRAW_MS) return
    this.#drawnAt = now
    this.#drawn = true
    this.stream.write(`\r${done === undefined ? '' : `${bar(done)} `}${text}\x1b[K`)
  }

  /** Erases the line, so the result is printed on a clean one. */
  clear(): void {
    if (!this.#drawn) return
    this.stream.write('\r\x1b[K')
    this.#drawn = false
  }
}

function bar(done: number): string {
  const filled = Math.round(Math.min(Math.max(done, 0), 1) * WIDTH)
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(done * 100)).padStart(3)}%`
}
