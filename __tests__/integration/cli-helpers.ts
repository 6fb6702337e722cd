// The `fresh-deploy` command, through its bundle (node dist/cli.js), against the real sshd,
// Docker and compose. It runs as a user of its own whose home holds ~/.ssh/config (a host
// alias with IdentityFile) and ~/.ssh/known_hosts: OpenSSH takes ~ from the password database,
// not from HOME, so only a real user shows that the default path reads them.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { IT_DIR } from './paths.js'
import { makeProject, projectInputs, sshd, type Project } from './harness.js'

export const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
export const CLI = join(ROOT, 'dist/cli.js')
export const HEX64 = /^[0-9a-f]{64}$/
export const IMAGE_ID = /^sha256:[0-9a-f]{64}$/

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

export const state = { user: '', home: '', work: '', uid: 0, gid: 0 }
/** Everything the command printed in this file's runs (checked for key bytes at the end). */
export const outputs: string[] = []

/** A user whose home (from the password database) is a fresh directory with ~/.ssh set up. */
export function setUpUser(user: string): void {
  const USER = user
  state.user = user
  // One home per IT_DIR, made afresh: usermod cannot move the home of a user whose processes
  // run (an ssh master of a run that was killed lives on for ControlPersist).
  state.home = join(IT_DIR, `cli-home-${user}`)
  const home = state.home
  rmSync(home, { recursive: true, force: true })
  mkdirSync(home, { recursive: true })
  let known = ''
  try {
    known = execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).split(':')[5] ?? ''
  } catch {
    execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/bash', USER], { stdio: 'pipe' })
    known = home
  }
  if (known !== home) execFileSync('usermod', ['-d', home, USER], { stdio: 'pipe' })
  state.uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim())
  state.gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim())
  const s = sshd()
  const ssh = join(home, '.ssh')
  mkdirSync(ssh, { mode: 0o700 })
  copyFileSync(s.userKey, join(ssh, 'deploy_key'))
  chmodSync(join(ssh, 'deploy_key'), 0o600)
  writeFileSync(join(ssh, 'config'), ['Host fdtarget', '  HostName 127.0.0.1', `  Port ${s.port}`, '  User root', '  IdentityFile ~/.ssh/deploy_key', ''].join('\n'), { mode: 0o600 })
  writeFileSync(join(ssh, 'known_hosts'), s.knownHosts, { mode: 0o600 })
  state.work = join(home, 'work')
  mkdirSync(state.work)
  mkdirSync(join(home, 'tmp'))
  execFileSync('chown', ['-R', `${state.uid}:${state.gid}`, home])
}

/** node dist/cli.js ARGS as that user, in its work directory (or cwd). */
export function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise(done => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? state.work,
      uid: state.uid,
      gid: state.gid,
      env: { PATH: process.env.PATH, HOME: state.home, USER: state.user, LANG: 'C.UTF-8', TMPDIR: join(state.home, 'tmp'), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000)
    child.on('close', code => {
      clearTimeout(timer)
      outputs.push(stdout, stderr)
      done({ code: code ?? 1, stdout, stderr })
    })
  })
}

export function expectCode(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`expected exit ${code}, got ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`)
}

/** ssh logins that sshd accepted so far (a usage error must not log in at all). */
export function logins(): number {
  return readFileSync(sshd().log, 'utf8').split('\n').filter(l => l.includes('Accepted publickey')).length
}

export function probeOf(json: { probes: { name: string; verdict: string; reason: string }[] }, name: string): { verdict: string; reason: string } {
  const p = json.probes.find(x => x.name === name)
  if (!p) throw new Error(`no probe ${name}`)
  return p
}

export function writeConfig(p: Project, extra: Record<string, string> = {}): void {
  const lines = Object.entries({ host: 'fdtarget', ...projectInputs(p), ...extra }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
  writeFileSync(join(state.work, 'fresh-deploy.yml'), `# written by the test\n${lines.join('\n')}\n`)
  execFileSync('chown', [`${state.uid}:${state.gid}`, join(state.work, 'fresh-deploy.yml')])
}

/**
 * A copy of examples/app whose healthcheck allows 30 s per check: on a machine loaded by many
 * test runs, the 3 s of the example are not enough for python to start.
 */
export async function makeCliProject(label: string): Promise<Project> {
  const p = await makeProject(label)
  const file = join(p.dir, 'compose.yaml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('timeout: 3s', 'timeout: 30s'))
  return p
}
