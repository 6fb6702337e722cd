// The command line's side of the engine's Reporter: one line per step (live, with its elapsed
// time, on a terminal), the target's output indented beneath, no private key byte ever.
import type { Reporter, StepName, StepRecord } from '../engine/reporter.js'

export interface CliStream {
  write(text: string): unknown
  isTTY?: boolean
}

export interface CliReporterOptions {
  /** Where the log goes: stdout, or stderr with --json. */
  out: CliStream
  /** Colors (a terminal without NO_COLOR). */
  color: boolean
  /** A step's line is redrawn with its elapsed time while it runs (a terminal). */
  live: boolean
  /** --quiet: nothing but what the caller prints itself. */
  quiet: boolean
  debug: boolean
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const
export type Color = keyof typeof CODES

export function paint(on: boolean, color: Color, text: string): string {
  return on ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text
}

/**
 * Text from the target (build output, the app's logs) may hold escape sequences that move the
 * cursor or retitle the terminal: shown as text, never obeyed.
 */
export function sanitize(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b./g, '').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
}

const MARKS = { ok: ['✓', 'green'], failed: ['✗', 'red'], skipped: ['-', 'dim'] } as const

export class CliReporter implements Reporter {
  private secrets: string[] = []
  private current: { name: StepName; title: string; started: number } | undefined
  private timer: NodeJS.Timeout | undefined
  private drawn = false

  constructor(private readonly o: CliReporterOptions) {}

  /** Every secret replaced by ***. */
  redact(text: string): string {
    let out = text
    for (const s of this.secrets) out = out.split(s).join('***')
    return out
  }

  /** Writes whole lines, keeping a live step line below them. */
  private print(text: string): void {
    if (this.o.quiet) return
    this.clearLive()
    this.o.out.write(`${this.redact(text)}\n`)
    this.drawLive()
  }

  private clearLive(): void {
    if (this.drawn) this.o.out.write('\r\u001b[2K')
    this.drawn = false
  }

  private drawLive(): void {
    if (!this.o.live || !this.current) return
    const c = this.current
    const seconds = ((Date.now() - c.started) / 1000).toFixed(1)
    const columns = (this.o.out as { columns?: number }).columns ?? 100
    const line = `  ${c.name.padEnd(11)} ${seconds.padStart(5)} s  ${c.title}`
    this.o.out.write(`\r\u001b[2K${paint(this.o.color, 'bold', this.redact(line).slice(0, Math.max(20, columns - 1)))}`)
    this.drawn = true
  }

  stepStarted(name: StepName, title: string): void {
    this.current = { name, title, started: Date.now() }
    if (this.o.quiet) return
    if (this.o.live) {
      this.drawLive()
      this.timer = setInterval(() => {
        this.clearLive()
        this.drawLive()
      }, 100)
      this.timer.unref()
    } else {
      this.print(`  ${name.padEnd(11)} …  ${title}`)
    }
  }

  stepEnded(step: StepRecord): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.current = undefined
    const [mark, color] = MARKS[step.status]
    const time = step.status === 'skipped' ? 'skipped' : `${step.seconds.toFixed(1).padStart(5)} s`
    const text = `${mark} ${step.name.padEnd(11)} ${time}${step.note ? `  ${step.note}` : ''}`
    this.print(this.o.color ? `${paint(true, color, `${mark} ${step.name.padEnd(11)}`)}${text.slice(mark.length + 12)}` : text)
  }

  info(text: string): void {
    this.print(`    ${text}`)
  }

  warning(text: string): void {
    this.print(paint(this.o.color, 'yellow', `warning: ${text}`))
  }

  debug(text: string): void {
    if (this.o.debug) this.print(paint(this.o.color, 'dim', `debug: ${text}`))
  }

  untrusted(text: string): void {
    for (const line of text.split('\n')) this.print(paint(this.o.color, 'dim', `    │ ${sanitize(line)}`))
  }

  block(title: string, text: string, options: { untrusted?: boolean } = {}): void {
    this.print(`    ${title}:`)
    for (const line of text.split('\n')) this.print(`    │ ${options.untrusted ? sanitize(line) : line}`)
  }

  secret(value: string): void {
    if (value === '' || this.secrets.includes(value)) return
    this.secrets.push(value)
    // The longest first, so that a whole key is replaced before its lines are.
    this.secrets.sort((a, b) => b.length - a.length)
  }

  /** Stops the live line (before the caller prints the result). */
  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.clearLive()
  }
}
