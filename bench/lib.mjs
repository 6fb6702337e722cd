// Shared helpers of the benchmarks: a real sshd on 127.0.0.1, copies of examples/app, running
// dist/index.js the way the runner does (INPUT_* env, GITHUB_OUTPUT, then the post step), and
// small statistics. Plain Node (no ts-jest), like bench/run.mjs.
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** This checkout (the bench, its output and node_modules). */
export const HERE = resolve(fileURLToPath(new URL('..', import.meta.url)))
/** The code under test: this checkout, or BENCH_ROOT (e.g. an older commit's src/ and dist/, for before/after figures). */
export const ROOT = resolve(process.env.BENCH_ROOT ?? HERE)
export const DIST = join(ROOT, 'dist/index.js')
export const BASE_IMAGE = process.env.FRESH_DEPLOY_BASE_IMAGE ?? 'fresh-deploy/python-base:bookworm'

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }).trim()
}

export const now = () => Number(process.hrtime.bigint()) / 1e6 // ms, monotonic

// ---------- statistics ----------
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
export function stats(xs) {
  return { n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
}
export const fmtS = (ms, digits = 2) => (ms / 1000).toFixed(digits)
export function fmtStats(st, unit = 's', digits = 2) {
  const f = unit === 's' ? v => fmtS(v, digits) : v => v.toFixed(digits)
  return `${f(st.median)} ${unit} (${f(st.min)}–${f(st.max)}, n=${st.n})`
}

// ---------- sshd ----------
export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port
      srv.close(() => res(port))
    })
  })
}

/**
 * A real OpenSSH server on 127.0.0.1 with LogLevel VERBOSE (as __tests__/integration/sshd.ts).
 * userKey: authorise that key (several sshd, one ssh-key input) instead of a fresh one.
 */
export async function startSshd(dir, { userKey: givenKey } = {}) {
  mkdirSync(dir, { recursive: true })
  mkdirSync('/run/sshd', { recursive: true })
  const hostKey = join(dir, 'host_ed25519')
  const userKey = givenKey ?? join(dir, 'user_ed25519')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  if (!givenKey) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fresh-deploy-bench', '-f', userKey])
  const authorized = join(dir, 'authorized_keys')
  writeFileSync(authorized, readFileSync(`${userKey}.pub`), { mode: 0o600 })
  const port = await freePort()
  const log = join(dir, 'sshd.log')
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      // root's keys, then per user (authorizeUser): sshd reads them as that user.
      `AuthorizedKeysFile ${authorized} ${join(dir, 'authorized_keys.%u')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel VERBOSE',
      'MaxSessions 50',
      'MaxStartups 50:30:100',
      // As in the tests' sshd: no top-level bash, so root's .bashrc (pyenv init) is not sourced.
      'SetEnv SHLVL=1',
      ''
    ].join('\n')
  )
  const sshdBin = ['/usr/sbin/sshd', '/usr/bin/sshd'].find(p => existsSync(p))
  if (!sshdBin) throw new Error('sshd not found (install openssh-server)')
  const child = spawn(sshdBin, ['-D', '-f', config, '-E', log], { detached: true, stdio: 'ignore' })
  child.unref()
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('ssh-keyscan', ['-p', String(port), '-T', '1', '127.0.0.1'], { stdio: 'pipe' })
      break
    } catch {
      await new Promise(r => setTimeout(r, 100))
    }
  }
  const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ')
  const knownHosts = join(dir, 'known_hosts')
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`)
  return {
    port,
    pid: child.pid,
    dir,
    log,
    userKey,
    userKeyText: readFileSync(userKey, 'utf8'),
    knownHostsFile: knownHosts,
    knownHosts: readFileSync(knownHosts, 'utf8')
  }
}

/**
 * Lets a non-root user log in with the same user key (as the tests' authorizeUser): the file is
 * theirs (sshd reads it with their rights) and the dirs above it are traversable.
 */
export function authorizeUser(sshd, user) {
  const file = join(sshd.dir, `authorized_keys.${user}`)
  writeFileSync(file, readFileSync(`${sshd.userKey}.pub`), { mode: 0o600 })
  execFileSync('chown', [`${user}:`, file])
  chmodSync(sshd.dir, 0o711)
}

/** New TCP connections sshd has logged so far (LogLevel VERBOSE: "Connection from …"). */
export function sshdConnections(sshd) {
  const text = existsSync(sshd.log) ? readFileSync(sshd.log, 'utf8') : ''
  return {
    connections: (text.match(/^.*Connection from .*$/gm) ?? []).length,
    accepted: (text.match(/^.*Accepted publickey .*$/gm) ?? []).length
  }
}

/** The plain ssh arguments of the raw baseline: same key, pinned host key, one connection. */
export function rawSshArgs(sshd, user = 'root') {
  return [
    '-F', '/dev/null',
    '-i', sshd.userKey,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-o', 'LogLevel=ERROR',
    '-p', String(sshd.port),
    `${user}@127.0.0.1`
  ]
}

// ---------- projects ----------
let counter = 0
export async function makeProject(workDir, label) {
  const dir = mkdtempSync(join(workDir, `${label}-`))
  cpSync(join(ROOT, 'examples/app'), dir, { recursive: true, filter: src => !src.includes('__pycache__') })
  const port = await freePort()
  const name = `fdbench-${label}-${process.pid}-${counter++}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')
  writeFileSync(join(dir, '.env'), `BASE_IMAGE=${BASE_IMAGE}\nAPP_PORT=${port}\n`)
  return { dir, name, port, url: `http://127.0.0.1:${port}/version` }
}

/** The one-line code change of a redeploy. */
export function setVersion(p, version) {
  writeFileSync(join(p.dir, 'src/app/version.py'), `VERSION = ${JSON.stringify(version)}\n`)
}

/** Removes only what this bench created: its compose project's containers, volumes, images. */
export function removeProject(p) {
  try {
    execFileSync('docker', ['compose', '-p', p.name, '--project-directory', p.dir, 'down', '-v', '--remove-orphans', '-t', '1'], { stdio: 'pipe', cwd: p.dir })
  } catch {
    /* best effort */
  }
  try {
    const images = sh('docker', ['images', '-q', '--filter', `reference=${p.name}*`]).split('\n').filter(Boolean)
    if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'pipe' })
    // The rollback target's tag (fresh-deploy/previous:PROJECT.SERVICE).
    const previous = sh('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=fresh-deploy/previous:${p.name}.*`]).split('\n').filter(Boolean)
    if (previous.length) execFileSync('docker', ['rmi', ...previous], { stdio: 'pipe' })
  } catch {
    /* best effort */
  }
}

// ---------- running the action ----------
export function actionDefaults(root = ROOT) {
  const text = readFileSync(join(root, 'action.yml'), 'utf8')
  const inputs = text.slice(text.indexOf('\ninputs:'), text.indexOf('\noutputs:'))
  const defaults = {}
  let current = ''
  for (const line of inputs.split('\n')) {
    const name = /^ {2}([a-z0-9-]+):\s*$/.exec(line)
    if (name) current = name[1]
    const def = /^ {4}default:\s*(.*)$/.exec(line)
    if (def && current) defaults[current] = def[1].replace(/^'(.*)'$/, '$1')
  }
  return defaults
}

export function parseCommandFile(text) {
  const out = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    out[m[1]] = value.join('\n')
  }
  return out
}

/** Runs a process to its end; resolves with its exit code, output and wall time (ms). */
export function timed(cmd, args, opts = {}) {
  return new Promise(res => {
    const t0 = now()
    const wall0 = performance.timeOrigin + performance.now() // epoch ms, to compare with other processes' clocks
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
    let stdout = ''
    let stderr = ''
    let pending = ''
    // Each stdout line with the time it arrived (ms after the start): finer than the log's
    // "done in X.X s", and it places the remote "+ docker compose up" line in time.
    const lines = []
    child.stdout.on('data', d => {
      const t = now() - t0
      stdout += d
      pending += d
      let nl
      while ((nl = pending.indexOf('\n')) >= 0) {
        lines.push({ t, line: pending.slice(0, nl) })
        pending = pending.slice(nl + 1)
      }
    })
    child.stderr.on('data', d => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000)
    child.on('close', code => {
      clearTimeout(timer)
      res({ code: code ?? 1, stdout, stderr, lines, ms: now() - t0, t0, wall0 })
    })
  })
}

/** The main step then the post step, as the runner runs them; root: whose dist/ (default ROOT). */
export async function runAction(workDir, inputs, { env: extraEnv = {}, skipPost = false, nodeArgs = [], root = ROOT } = {}) {
  const dist = join(root, 'dist/index.js')
  const work = mkdtempSync(join(workDir, 'run-'))
  const files = { output: join(work, 'output'), state: join(work, 'state'), summary: join(work, 'summary') }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const runnerTemp = join(work, 'runner-temp')
  mkdirSync(runnerTemp)
  const env = {
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
  for (const [k, v] of Object.entries({ ...actionDefaults(root), 'github-token': '', ...inputs })) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v
  const main = await timed(process.execPath, [...nodeArgs, dist], { env })
  let post = { code: 0, ms: 0, stdout: '', stderr: '' }
  if (!skipPost) {
    const state = parseCommandFile(readFileSync(files.state, 'utf8'))
    const postEnv = { ...env }
    for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v
    post = await timed(process.execPath, [dist], { env: postEnv })
  }
  return { ...main, outputs: parseCommandFile(readFileSync(files.output, 'utf8')), post, steps: stepTimes(main.stdout) }
}

/** "NAME done in X s" lines of the log → { NAME: seconds } (connect's two parts summed). */
export function stepTimes(stdout) {
  const out = {}
  for (const m of stdout.matchAll(/^(\w+) (?:done|failed) in ([\d.]+) s/gm)) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2])
  return out
}
