// Runs the bundled action the way the runner does: INPUT_* variables (with action.yml's
// defaults), GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY files, then the post step with
// STATE_* variables. Nothing here stands in for ssh, Docker or compose.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { IT_DIR, SSHD_FILE, baseImage } from './paths.js'
import { freePort, type SshdInfo } from './sshd.js'

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const DIST = join(ROOT, 'dist/index.js')

export function sshd(): SshdInfo {
  return JSON.parse(readFileSync(SSHD_FILE(), 'utf8')) as SshdInfo
}

/** action.yml's defaults, read from the file itself (expressions left to the test). */
export function actionDefaults(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'action.yml'), 'utf8')
  const inputs = text.slice(text.indexOf('\ninputs:'), text.indexOf('\noutputs:'))
  const defaults: Record<string, string> = {}
  let current = ''
  for (const line of inputs.split('\n')) {
    const name = /^ {2}([a-z0-9-]+):\s*$/.exec(line)
    if (name) current = name[1]
    const def = /^ {4}default:\s*(.*)$/.exec(line)
    if (def && current) defaults[current] = def[1].replace(/^'(.*)'$/, '$1')
  }
  if (!('project-dir' in defaults)) defaults['project-dir'] = ''
  return defaults
}

export interface ActionRun {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
  runnerTemp: string
  post: { code: number; stdout: string; stderr: string }
}

/** GITHUB_OUTPUT / GITHUB_STATE file format: name<<DELIM\nvalue\nDELIM */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    out[m[1]] = value.join('\n')
  }
  return out
}

function runNode(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise(resolvePromise => {
    const child = spawn(process.execPath, [DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', code => {
      clearTimeout(timer)
      resolvePromise({ code: code ?? 1, stdout, stderr })
    })
  })
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  skipPost?: boolean
}

/** A runner's files (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY, RUNNER_TEMP) and the
 * environment of a step: INPUT_* from action.yml's defaults and the given inputs. */
export function runnerEnvironment(inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}): {
  env: NodeJS.ProcessEnv
  files: { output: string; state: string; summary: string }
  runnerTemp: string
} {
  const work = mkdtempSync(join(IT_DIR, 'run-'))
  const files = { output: join(work, 'output'), state: join(work, 'state'), summary: join(work, 'summary') }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const runnerTemp = join(work, 'runner-temp')
  execFileSync('mkdir', ['-p', runnerTemp])
  const all = { ...actionDefaults(), ref: 'test-revision', 'github-token': '', ...inputs }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: runnerTemp,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    ...extraEnv
  }
  for (const [k, v] of Object.entries(all)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v
  return { env, files, runnerTemp }
}

export async function runAction(inputs: Record<string, string>, opts: RunOptions = {}): Promise<ActionRun> {
  const { env, files, runnerTemp } = runnerEnvironment(inputs, opts.env)
  const main = await runNode(env, opts.timeoutMs ?? 300_000)
  const state = parseCommandFile(readFileSync(files.state, 'utf8'))
  let post = { code: 0, stdout: '', stderr: '' }
  if (!opts.skipPost) {
    const postEnv: NodeJS.ProcessEnv = { ...env }
    for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v
    post = await runNode(postEnv, 60_000)
  }
  return {
    ...main,
    outputs: parseCommandFile(readFileSync(files.output, 'utf8')),
    state,
    summary: readFileSync(files.summary, 'utf8'),
    runnerTemp,
    post
  }
}

/** SSH inputs for the test sshd (root on 127.0.0.1, host key pinned). */
export function sshInputs(extra: Record<string, string> = {}): Record<string, string> {
  const s = sshd()
  return { host: '127.0.0.1', port: String(s.port), username: 'root', 'ssh-key': s.userKeyText, 'ssh-known-hosts': s.knownHosts, ...extra }
}

export interface Project {
  dir: string
  name: string
  port: number
  url: string
}

let counter = 0

/** A fresh copy of examples/app with its own compose project name and port. */
export async function makeProject(label: string): Promise<Project> {
  const dir = mkdtempSync(join(IT_DIR, `${label}-`))
  cpSync(join(ROOT, 'examples/app'), dir, { recursive: true, filter: src => !src.includes('__pycache__') })
  const port = await freePort()
  const name = `fdit-${label}-${process.pid}-${counter++}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')
  writeFileSync(join(dir, '.env'), `BASE_IMAGE=${baseImage()}\nAPP_PORT=${port}\n`)
  return { dir, name, port, url: `http://127.0.0.1:${port}/version` }
}

export function projectInputs(p: Project, extra: Record<string, string> = {}): Record<string, string> {
  return { 'project-dir': p.dir, 'compose-project-name': p.name, 'verify-url': p.url, 'verify-interval': '1', 'health-timeout': '60', 'verify-timeout': '20', ...extra }
}

export function removeProject(p: Project): void {
  try {
    execFileSync('docker', ['compose', '-p', p.name, '--project-directory', p.dir, 'down', '-v', '--remove-orphans', '-t', '1'], { stdio: 'pipe', cwd: p.dir })
  } catch {
    /* best effort */
  }
  try {
    const images = execFileSync('docker', ['images', '-q', '--filter', `reference=${p.name}*`], { encoding: 'utf8' }).split('\n').filter(Boolean)
    if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'pipe' })
    // The rollback target's tag (fresh-deploy/previous:PROJECT.SERVICE).
    const previous = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=fresh-deploy/previous:${p.name}.*`], { encoding: 'utf8' }).split('\n').filter(Boolean)
    if (previous.length) execFileSync('docker', ['rmi', ...previous], { stdio: 'pipe' })
  } catch {
    /* best effort */
  }
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

/** The service container of a project (running or not), or ''. */
export function serviceContainer(p: Project, service = 'backend'): string {
  return docker('ps', '-a', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p.name}`, '--filter', `label=com.docker.compose.service=${service}`).split('\n')[0] ?? ''
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    return { status: res.status, body: await res.text() }
  } catch {
    return { status: 0, body: '' }
  }
}

export function setVersion(p: Project, version: string): void {
  writeFileSync(join(p.dir, 'src/app/version.py'), `VERSION = ${JSON.stringify(version)}\n`)
}

export function probe(run: ActionRun, name: string): { name: string; verdict: string; expected: string; found: string; reason: string } {
  const probes = JSON.parse(run.outputs.probes || '[]') as { name: string; verdict: string; expected: string; found: string; reason: string }[]
  const found = probes.find(p => p.name === name)
  if (!found) throw new Error(`no probe ${name} in ${run.outputs.probes}`)
  return found
}

/** Everything a run printed, for assertion messages. */
export function transcript(run: ActionRun): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}\n--- post\n${run.post.stdout}${run.post.stderr}`
}

export function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : []
}

/**
 * A healthcheck's test (compose YAML, a JSON array) that asks http://127.0.0.1:PORT/PATH for a
 * 200 with bash's /dev/tcp. Not a python one-liner: it runs every second in every container
 * for the whole run, and a python start costs ~0.7 s of CPU on these 2-core machines.
 */
export function healthTest(port: number, path: string): string {
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 5 line <&3 && [[ $$line == *' 200 '* ]]`
  return JSON.stringify(['CMD', 'bash', '-c', script])
}
