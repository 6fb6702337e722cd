// Helpers for the hardening tests (issue 5): an action run that the test can watch and kill
// mid-way (startAction), the post step on its own (runPost), the deploy lock's files on the
// target, and marker files that prove a hostile value never ran.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { effectiveCommands } from '../runner-commands.js'
import { parseCommandFile, runnerEnvironment, type ActionRun, type Project } from './harness.js'

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const DIST = join(ROOT, 'dist/index.js')

export interface Started {
  child: ChildProcess
  /** stdout so far, with the time each line arrived. */
  lines: { at: number; text: string }[]
  stdout(): string
  stderr(): string
  /** Resolves when a stdout line matches (rejects after timeoutMs). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<number>
  done: Promise<ActionRun>
  env: NodeJS.ProcessEnv
  files: { output: string; state: string; summary: string }
  runnerTemp: string
}

/** Starts the main step like runAction does, but hands back the child to watch or kill. */
export function startAction(inputs: Record<string, string>, opts: { env?: NodeJS.ProcessEnv; skipPost?: boolean } = {}): Started {
  const { env, files, runnerTemp } = runnerEnvironment(inputs, opts.env)
  const child = spawn(process.execPath, [DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: { at: number; text: string }[] = []
  let pending = ''
  let stderr = ''
  const waiters: { re: RegExp; resolve: (at: number) => void }[] = []
  child.stdout?.on('data', (d: Buffer) => {
    pending += d.toString()
    let nl: number
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = { at: Date.now(), text: pending.slice(0, nl) }
      pending = pending.slice(nl + 1)
      lines.push(line)
      for (const w of [...waiters]) {
        if (w.re.test(line.text)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line.at)
        }
      }
    }
  })
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const mainDone = new Promise<{ code: number }>(res => child.on('close', (code, signal) => res({ code: code ?? (signal ? 137 : 1) })))
  const done = mainDone.then(async main => {
    const state = parseCommandFile(readFileSync(files.state, 'utf8'))
    const post = opts.skipPost ? { code: 0, stdout: '', stderr: '' } : await runPost(env, state)
    return {
      code: main.code,
      stdout: lines.map(l => l.text).join('\n') + (pending ? `\n${pending}` : ''),
      stderr,
      outputs: parseCommandFile(readFileSync(files.output, 'utf8')),
      state,
      summary: readFileSync(files.summary, 'utf8'),
      runnerTemp,
      post
    }
  })
  return {
    child,
    lines,
    stdout: () => lines.map(l => l.text).join('\n'),
    stderr: () => stderr,
    waitFor(re, timeoutMs = 120_000) {
      const hit = lines.find(l => re.test(l.text))
      if (hit) return Promise.resolve(hit.at)
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no line matching ${re} within ${timeoutMs} ms:\n${lines.map(l => l.text).join('\n')}\n${stderr}`)), timeoutMs)
        waiters.push({ re, resolve: at => (clearTimeout(timer), res(at)) })
      })
    },
    done,
    env,
    files,
    runnerTemp
  }
}

/** The post step alone, with STATE_* from the main step's GITHUB_STATE (as the runner does). */
export function runPost(env: NodeJS.ProcessEnv, state: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const postEnv: NodeJS.ProcessEnv = { ...env }
  for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v
  return new Promise(res => {
    const child = spawn(process.execPath, [DIST], { env: postEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', code => {
      clearTimeout(timer)
      res({ code: code ?? 1, stdout, stderr })
    })
  })
}

/** The deploy user's lock directory on the target (the tests' sshd logs in as this user). */
export const LOCK_DIR = join(homedir(), '.cache', 'fresh-deploy', 'locks')

/** The lock key of a project, computed as lock.sh does (real path + project name). */
export function lockKey(p: Project): string {
  return createHash('sha256').update(`${realpathSync(p.dir)}\n${p.name}`).digest('hex').slice(0, 16)
}

/** Lock files left for a project: an .info (a holder) or a .d dir (mkdir lock) means locked. */
export function lockLeft(p: Project): string[] {
  const key = lockKey(p)
  return existsSync(LOCK_DIR) ? readdirSync(LOCK_DIR).filter(f => f === `${key}.info` || f === `${key}.d`) : []
}

/** Waits until no lock is left for the project (a lock released by a dying connection). */
export async function waitUnlocked(p: Project, timeoutMs = 20_000): Promise<string[]> {
  const end = Date.now() + timeoutMs
  while (lockLeft(p).length > 0 && Date.now() < end) await sleep(250)
  return lockLeft(p)
}

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

/** "Accepted publickey" lines in an sshd log: how many sessions really logged in. */
export function acceptedIn(log: string): number {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(l => l.includes('Accepted publickey')).length : 0
}

/** Whether a file exists inside a container (false when the container is gone). */
export function existsInContainer(cid: string, path: string): boolean {
  if (!cid) return false
  try {
    execFileSync('docker', ['exec', cid, 'test', '-e', path], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

/** Waits for a predicate, polling. */
export async function until(pred: () => boolean, timeoutMs: number, stepMs = 500): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (pred()) return true
    await sleep(stepMs)
  }
  return pred()
}

/**
 * The error commands the runner would act on ("::error" and the legacy "##[error]" anywhere in
 * a line; nothing inside a ::stop-commands::TOKEN block), by the model in ../runner-commands.ts.
 */
export function effectiveErrors(stdout: string): string[] {
  return effectiveCommands(stdout)
    .filter(c => c.name.toLowerCase() === 'error')
    .map(c => c.line)
}
