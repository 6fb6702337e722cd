// The deploy lock's script (lock.sh, as the runner builds it) run by a test: held open on its
// stdin like the runner holds it, with or without the runner's keepalive newlines.
import { RECORD_PREFIX } from '../src/engine/records.js'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash } from 'node:crypto'
import { buildScript, forBashStdin } from '../src/engine/scripts.js'

export interface LockRun {
  child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  /** Resolves true when stdout has a line starting "@@fd KEY", false after timeoutMs. */
  waitFor(key: string, timeoutMs?: number): Promise<boolean>
  /** The exit code, once it has exited. */
  exited: Promise<number | null>
  /** Starts (or stops, with 0) the keepalive newlines every ms milliseconds. */
  keepalive(ms: number): void
  /** Closes stdin (the runner's release) and waits for the exit. */
  release(): Promise<number | null>
}

export interface LockOptions {
  project: string
  name?: string
  flock: 'yes' | 'no'
  timeout?: number
  runId?: string
  heartbeat?: number
  /** The command that runs `bash -s` (e.g. runuser … -- bash -s), default bash -s. */
  command?: string[]
  env?: NodeJS.ProcessEnv
  /** Keepalive period in ms from the start; 0: none (a silent runner). */
  keepaliveMs?: number
}

export function lockKeyOf(realPath: string, name = 'p'): string {
  return createHash('sha256').update(`${realPath}\n${name}`).digest('hex').slice(0, 16)
}

export function startLock(o: LockOptions): LockRun {
  const vars: Record<string, string | number> = {
    FD_PROJECT_DIR: o.project,
    FD_PROJECT_NAME: o.name ?? 'p',
    FD_LOCK_TIMEOUT: o.timeout ?? 30,
    FD_RUN_ID: o.runId ?? 'run-1',
    FD_REF: 'main',
    FD_HAVE_FLOCK: o.flock
  }
  if (o.heartbeat !== undefined) vars.FD_LOCK_HEARTBEAT = o.heartbeat
  const [cmd, ...args] = o.command ?? ['bash', '-s']
  const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  // Result lines carry this run's nonce (records.ts); shown here as plain "@@fd KEY" lines.
  child.stdout.on('data', d => (out += String(d).split(RECORD_PREFIX).join('@@fd ')))
  child.stderr.on('data', d => (err += d))
  child.stdin.on('error', () => undefined)
  const exited = new Promise<number | null>(res => child.on('close', code => res(code)))
  child.stdin.write(forBashStdin(buildScript('lock', vars)))
  let timer: NodeJS.Timeout | undefined
  const keepalive = (ms: number): void => {
    clearInterval(timer)
    timer = ms > 0 ? setInterval(() => child.stdin.writable && child.stdin.write('\n'), ms) : undefined
    timer?.unref()
  }
  keepalive(o.keepaliveMs ?? 0)
  void exited.then(() => clearInterval(timer))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(key, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      const has = (): boolean => out.split('\n').some(l => l === `@@fd ${key}` || l.startsWith(`@@fd ${key} `))
      while (!has() && Date.now() < deadline && child.exitCode === null) await new Promise(r => setTimeout(r, 20))
      return has()
    },
    exited,
    keepalive,
    async release() {
      clearInterval(timer)
      child.stdin.end()
      return exited
    }
  }
}
