// Runs target-side scripts: over one OpenSSH ControlMaster connection, or on this runner.
// Either way the script goes to `bash -s` on stdin; nothing is spliced into a command line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { StringDecoder } from 'node:string_decoder'
import * as core from '@actions/core'

/** A result line of a target-side script: "@@fd KEY VALUE". */
export interface RemoteRecord {
  key: string
  value: string
}

export interface RunResult {
  code: number
  records: RemoteRecord[]
  /** The last lines of the script's log output (stdout and stderr), for error messages. */
  outputTail: string
}

export interface RunOptions {
  /** Called for every result line as it arrives (progress such as "waiting for the lock"). */
  onRecord?: (record: RemoteRecord) => void
  /** Keep the script's output out of the log (it is still returned in records). */
  quiet?: boolean
}

/** A long-running script whose stdin stays open until release() (the deploy lock). */
export interface Held {
  /** Resolves with the result when the script ends (after release, or on its own). */
  done: Promise<RunResult>
  release(): Promise<RunResult>
}

export interface Transport {
  /** "ssh user@host:port" or "local": where scripts run, for logs and errors. */
  readonly where: string
  run(script: string, options?: RunOptions): Promise<RunResult>
  hold(script: string, options?: RunOptions): Held
}

const RECORD_PREFIX = '@@fd '
const OUTPUT_TAIL_LINES = 30

export function parseRecord(line: string): RemoteRecord | undefined {
  if (!line.startsWith(RECORD_PREFIX)) return undefined
  const rest = line.slice(RECORD_PREFIX.length)
  const space = rest.indexOf(' ')
  return space < 0 ? { key: rest, value: '' } : { key: rest.slice(0, space), value: rest.slice(space + 1) }
}

/** Splits a byte stream into lines, calling onLine for each complete one. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending = ''
  // A pipe chunk can end inside a multi-byte character: decode across chunk borders.
  const decoder = new StringDecoder('utf8')
  return {
    push(chunk: Buffer) {
      pending += decoder.write(chunk)
      let nl: number
      while ((nl = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, nl).replace(/\r$/, ''))
        pending = pending.slice(nl + 1)
      }
    },
    end() {
      pending += decoder.end()
      if (pending !== '') onLine(pending)
      pending = ''
    }
  }
}

/**
 * Forwards target output to the log with workflow commands switched off: a line such as
 * "::add-mask::" or "::set-output" printed by a build or the app must not act on the runner.
 */
function logRemoteLine(line: string): void {
  const token = randomBytes(8).toString('hex')
  if (line.includes('::')) {
    process.stdout.write(`::stop-commands::${token}\n${line}\n::${token}::\n`)
  } else {
    process.stdout.write(`${line}\n`)
  }
}

/**
 * Logs text that came from the target (e.g. the service's own log lines) in one block, with
 * workflow commands switched off as logRemoteLine does: an app that prints "::error::" or
 * "::add-mask::" must not act on the runner.
 */
export function logUntrusted(text: string): void {
  if (!text.includes('::')) {
    process.stdout.write(`${text}\n`)
    return
  }
  const token = randomBytes(8).toString('hex')
  process.stdout.write(`::stop-commands::${token}\n${text}\n::${token}::\n`)
}

/**
 * Starts `command args` with the script on stdin and collects its result lines.
 * keepOpen leaves stdin open until the caller ends it (see hold()).
 */
export function spawnScript(
  command: string,
  args: string[],
  script: string,
  options: RunOptions & { keepOpen?: boolean; env?: NodeJS.ProcessEnv } = {}
): { child: ChildProcessWithoutNullStreams; done: Promise<RunResult> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env })
  const records: RemoteRecord[] = []
  const tail: string[] = []
  const logLine = (line: string): void => {
    tail.push(line)
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift()
    if (!options.quiet) logRemoteLine(line)
  }
  const out = lineSplitter(line => {
    const record = parseRecord(line)
    if (record) {
      records.push(record)
      options.onRecord?.(record)
    } else {
      logLine(line)
    }
  })
  const err = lineSplitter(logLine)
  child.stdout.on('data', (c: Buffer) => out.push(c))
  child.stderr.on('data', (c: Buffer) => err.push(c))
  // A script that exits early closes its stdin; writing the rest must not crash the runner.
  child.stdin.on('error', () => undefined)
  child.stdin.write(script)
  if (!options.keepOpen) child.stdin.end()
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', e => reject(new Error(`could not start ${command}: ${e.message}`)))
    child.on('close', (code, signal) => {
      out.end()
      err.end()
      resolve({ code: code ?? (signal ? 128 + 15 : 1), records, outputTail: tail.join('\n') })
    })
  })
  return { child, done }
}

function holdWith(command: string, args: string[], script: string, options: RunOptions = {}): Held {
  const { child, done } = spawnScript(command, args, script, { ...options, keepOpen: true })
  return {
    done,
    async release() {
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGTERM'), 10_000)
      try {
        return await done
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

/** Scripts run here, on the runner (a self-hosted runner on the target host). */
export class LocalTransport implements Transport {
  readonly where = 'local'

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    return spawnScript('bash', ['-s'], script, options).done
  }

  hold(script: string, options: RunOptions = {}): Held {
    return holdWith('bash', ['-s'], script, options)
  }
}

/** Scripts run over an existing ControlMaster connection (see ssh.ts, which opens it). */
export class SshTransport implements Transport {
  constructor(
    readonly where: string,
    private readonly sshArgs: string[],
    private readonly host: string
  ) {}

  private args(): string[] {
    return [...this.sshArgs, '-o', 'ControlMaster=no', '--', this.host, 'bash -s']
  }

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    return spawnScript('ssh', this.args(), script, options).done
  }

  hold(script: string, options: RunOptions = {}): Held {
    return holdWith('ssh', this.args(), script, options)
  }
}

export function debugArgs(args: string[]): void {
  core.debug(`ssh ${args.join(' ')}`)
}
