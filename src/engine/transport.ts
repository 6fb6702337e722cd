// Runs target-side scripts: over one OpenSSH ControlMaster connection, or on this runner.
// Either way the script goes to `bash -s` on stdin; nothing is spliced into a command line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { StringDecoder } from 'node:string_decoder'
import { RECORD_PREFIX } from './records.js'

/** A result line of a target-side script: "@@fd-NONCE KEY VALUE" (see records.ts). */
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
  /** Receives the script's log lines (stdout and stderr) instead of the log. */
  onLine?: (line: string) => void
  /** Where log lines go when neither onLine nor quiet is given (the transport's own log). */
  log?: (line: string) => void
  /**
   * No script is expected after this one (the verify of a deploy that goes well): over ssh, no
   * spare session is opened for it. A later script, if any (heal, rollback, logs), opens its own.
   */
  last?: boolean
  /**
   * hold() only: write a newline to the script's stdin every this many seconds, so that the
   * held script knows the runner is still there (the lock releases itself after three silent
   * periods, whatever TCP says).
   */
  keepalive?: number
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
  /** Ends what the transport keeps open for later scripts (never a held script). */
  close(): void
}

const OUTPUT_TAIL_LINES = 30

/** A result line of this run (its nonce); any other line, "@@fd …" included, is log text. */
export function parseRecord(line: string, prefix = RECORD_PREFIX): RemoteRecord | undefined {
  if (!line.startsWith(prefix)) return undefined
  const rest = line.slice(prefix.length)
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
 * Starts `command args` with the script on stdin and collects its result lines.
 * keepOpen leaves stdin open until the caller ends it (see hold()).
 */
export function spawnScript(
  command: string,
  args: string[],
  script: string,
  options: RunOptions & { keepOpen?: boolean; env?: NodeJS.ProcessEnv } = {}
): { child: ChildProcessWithoutNullStreams; done: Promise<RunResult> } {
  return feedScript(startSession(command, args, options.env), script, options)
}

/** A started `bash -s` process that has not been given its script yet. */
interface Session {
  command: string
  child: ChildProcessWithoutNullStreams
  /** Set when the process could not be started (the 'error' event may come before use). */
  spawnError?: Error
}

function startSession(command: string, args: string[], env?: NodeJS.ProcessEnv): Session {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env })
  const session: Session = { command, child }
  child.on('error', e => (session.spawnError = e))
  // A script that exits early closes its stdin; writing the rest must not crash the runner.
  child.stdin.on('error', () => undefined)
  return session
}

/**
 * Sends the script to a started session and collects its result lines. Output that came
 * before (a spare session's shell start-up) waits in the paused streams and is read here.
 */
function feedScript(
  session: Session,
  script: string,
  options: RunOptions & { keepOpen?: boolean } = {}
): { child: ChildProcessWithoutNullStreams; done: Promise<RunResult> } {
  const { child, command } = session
  const records: RemoteRecord[] = []
  const tail: string[] = []
  const logLine = (line: string): void => {
    tail.push(line)
    if (tail.length > OUTPUT_TAIL_LINES) tail.shift()
    if (options.onLine) options.onLine(line)
    else if (!options.quiet) options.log?.(line)
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
  child.stdin.write(script)
  if (!options.keepOpen) child.stdin.end()
  const done = new Promise<RunResult>((resolve, reject) => {
    const failed = (e: Error): void => reject(new Error(`could not start ${command}: ${e.message}`))
    if (session.spawnError) failed(session.spawnError)
    child.on('error', failed)
    child.on('close', (code, signal) => {
      out.end()
      err.end()
      resolve({ code: code ?? (signal ? 128 + 15 : 1), records, outputTail: tail.join('\n') })
    })
  })
  return { child, done }
}

function holdWith(session: Session, script: string, options: RunOptions = {}): Held {
  const { child, done } = feedScript(session, script, { ...options, keepOpen: true })
  const keepalive = options.keepalive
    ? setInterval(() => {
        if (!child.stdin.writableEnded && !child.stdin.destroyed) child.stdin.write('\n')
      }, options.keepalive * 1000)
    : undefined
  keepalive?.unref()
  const stop = (): void => clearInterval(keepalive)
  done.then(stop, stop)
  return {
    done,
    async release() {
      stop()
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

  /** log: where a script's output goes (the front end's log of untrusted text). */
  constructor(private readonly log: (line: string) => void = () => undefined) {}

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    return spawnScript('bash', ['-s'], script, { log: this.log, ...options }).done
  }

  hold(script: string, options: RunOptions = {}): Held {
    return holdWith(startSession('bash', ['-s']), script, { log: this.log, ...options })
  }

  close(): void {}
}

/**
 * Scripts run over an existing ControlMaster connection (see ssh.ts, which opens it).
 *
 * Every script still gets its own session and its own `bash -s`, but the session for the next
 * script is opened while the current one runs: a session costs a round trip plus the remote
 * user's shell start-up (sshd runs `$SHELL -c 'bash -s'`, and bash reads ~/.bashrc when started
 * by sshd; one with pyenv or nvm in it takes 0.1-0.5 s of CPU), and six steps paid it one after
 * the other. A spare session waits on its stdin and runs nothing until it is given a script.
 * It is opened once the current script has printed something (its own shell start-up is over,
 * so the two do not compete for the target's CPU), and not at all after a script marked last.
 */
export class SshTransport implements Transport {
  private spare: Session | undefined
  private closed = false

  constructor(
    readonly where: string,
    private readonly sshArgs: string[],
    private readonly host: string,
    private readonly log: (line: string) => void = () => undefined
  ) {}

  private args(): string[] {
    return [...this.sshArgs, '-o', 'ControlMaster=no', '--', this.host, 'bash -s']
  }

  /** The spare session (when it is still alive) or a new one. */
  private session(options: RunOptions): Session {
    let session = this.spare
    this.spare = undefined
    if (!session || session.spawnError || session.child.exitCode !== null || session.child.signalCode !== null) {
      if (session) discard(session)
      session = startSession('ssh', this.args())
    }
    if (!options.last) {
      session.child.stdout.once('data', () => {
        if (!this.spare && !this.closed) this.spare = startSession('ssh', this.args())
      })
    }
    return session
  }

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    return feedScript(this.session(options), script, { log: this.log, ...options }).done
  }

  hold(script: string, options: RunOptions = {}): Held {
    return holdWith(this.session(options), script, { log: this.log, ...options })
  }

  close(): void {
    this.closed = true
    if (this.spare) discard(this.spare)
    this.spare = undefined
  }
}

/**
 * Ends a session that was never given a script. It has run nothing, so it is stopped rather
 * than waited for (its remote shell may still be reading ~/.bashrc).
 */
function discard(session: Session): void {
  session.child.stdin.end()
  session.child.stdout.resume()
  session.child.stderr.resume()
  session.child.kill('SIGTERM')
}
