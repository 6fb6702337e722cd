// Issue 11 items C4 and 17, item 18's RUNNER_TEMP with a space, and issue 12 item 5:
// - sync: git checks the compose files after the sync, against ref's tree: a deploy of the
//   commit that adds them, or into an empty work tree, works; connect is listed once;
// - a checkout never overwrites an untracked file (sync-discard-changes included): refused
//   with the list, nothing changed;
// - a relative project-dir is relative to the SSH user's home, resolved on the target and
//   shown resolved in the connect step's note;
// - a RUNNER_TEMP with a space (and a "%") holds the control socket: ssh works.
import { jest } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, relative } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { makeProject, probe, projectInputs, removeProject, runAction, serviceContainer, sshInputs, type Project } from './harness.js'
import { IT_DIR } from './paths.js'

useEnvironment()

// The machine is shared with parallel test runs: a deploy may take minutes.
const SLOW_RUN = { timeoutMs: 900_000 }
jest.setTimeout(1_800_000)

/**
 * The example's healthcheck starts python every second; on this shared machine, loaded by
 * parallel test runs, those pile up and time out. These tests are about other things: a check
 * that costs nothing (the http probe still asks the app itself).
 */
function cheapHealthcheck(dir: string): void {
  const file = join(dir, 'compose.yaml')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/test: \[.*\]/, 'test: ["CMD", "true"]').replace('interval: 1s', 'interval: 2s'))
}

// This machine is shared by parallel test runs: health checks can be slow.
const SLOW = { 'health-timeout': '300', 'verify-timeout': '120' }

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim()

/** The summary's step rows named `name`. */
const stepRows = (summary: string, name: string): string[] => summary.split('\n').filter(l => l.startsWith(`| ${name} |`))

describe('sync: git with the compose files only in ref', () => {
  let p: Project
  let origin: string
  let sha2 = ''
  beforeAll(async () => {
    // origin: commit 1 has a README only; commit 2 adds the app and its compose file.
    p = await makeProject('sync-c4')
    cheapHealthcheck(p.dir)
    const seed = mkdtempSync(join(IT_DIR, 'sync-c4-seed-'))
    git(seed, 'init', '-q')
    writeFileSync(join(seed, 'README'), 'the app comes in the next commit\n')
    writeFileSync(join(seed, '.gitignore'), '.env\n__pycache__/\n')
    git(seed, 'add', '-A')
    git(seed, 'commit', '-qm', 'v0: no compose file yet')
    for (const f of ['compose.yaml', 'Dockerfile', 'src']) cpSync(join(p.dir, f), join(seed, f), { recursive: true })
    git(seed, 'add', '-A')
    git(seed, 'commit', '-qm', 'v1: the app')
    sha2 = git(seed, 'rev-parse', 'HEAD')
    origin = `${p.dir}-origin.git`
    execFileSync('git', ['clone', '-q', '--bare', seed, origin])
    rmSync(seed, { recursive: true, force: true })
    // The project dir: a checkout of commit 1 (no compose file), with the test's .env.
    const env = readFileSync(join(p.dir, '.env'), 'utf8')
    rmSync(p.dir, { recursive: true, force: true })
    execFileSync('git', ['clone', '-q', origin, p.dir])
    git(p.dir, 'checkout', '-q', 'HEAD~1')
    writeFileSync(join(p.dir, '.env'), env)
  })
  afterAll(() => removeProject(p))

  test('the commit that adds the compose file deploys; connect is listed once', async () => {
    expect(existsSync(join(p.dir, 'compose.yaml'))).toBe(false)
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: sha2, ...SLOW }) }, SLOW_RUN)
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(git(p.dir, 'rev-parse', 'HEAD')).toBe(sha2)
    expect(stepRows(run.summary, 'connect')).toHaveLength(1)
  })

  test('an empty work tree (git init, no commit yet) deploys ref', async () => {
    const q: Project = { ...p, dir: `${p.dir}-empty` }
    mkdirSync(q.dir)
    git(q.dir, 'init', '-q')
    git(q.dir, 'remote', 'add', 'origin', origin)
    writeFileSync(join(q.dir, '.env'), readFileSync(join(p.dir, '.env')))
    const run = await runAction({ ...sshInputs(), ...projectInputs(q, { sync: 'git', ref: sha2, ...SLOW }) }, SLOW_RUN)
    expectExit(run, 'zero')
    expect(git(q.dir, 'rev-parse', 'HEAD')).toBe(sha2)
    expect(readFileSync(join(q.dir, '.env'), 'utf8')).toContain('APP_PORT=')
  })

  test('a preflight that fails (no such project-dir) lists connect once, failed', async () => {
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { 'project-dir': `${p.dir}-nope`, sync: 'git', ref: sha2 }) }, SLOW_RUN)
    expectExit(run, 'non-zero')
    expect(errors(run)[0]).toMatch(/input project-dir: .* no such directory on the target/)
    const rows = stepRows(run.summary, 'connect')
    expect(rows).toHaveLength(1)
    expect(rows[0]).toContain('failed')
  })
})

describe('a checkout never overwrites an untracked file (item 17)', () => {
  let p: Project
  let origin: string
  beforeAll(async () => {
    p = await makeProject('sync-17')
    cheapHealthcheck(p.dir)
    git(p.dir, 'init', '-q')
    writeFileSync(join(p.dir, '.gitignore'), '.env\n__pycache__/\nlocal.secret\n')
    git(p.dir, 'add', '-A')
    git(p.dir, 'commit', '-qm', 'v1')
    origin = `${p.dir}-origin.git`
    execFileSync('git', ['clone', '-q', '--bare', p.dir, origin])
    git(p.dir, 'remote', 'add', 'origin', origin)
  })
  afterAll(() => removeProject(p))

  test.each([
    ['an untracked file, with sync-discard-changes: true (git checkout --force overwrote it)', 'notes.txt', 'true'],
    ['an ignored file, without it (git treats ignored files as expendable)', 'local.secret', 'false']
  ])('%s: refused with the list; file, checkout and container unchanged', async (_label, file, discard) => {
    const sha1 = git(p.dir, 'rev-parse', 'HEAD')
    // ref tracks a file that exists on the host untracked.
    const other = mkdtempSync(join(IT_DIR, 'sync-17-other-'))
    execFileSync('git', ['clone', '-q', origin, other])
    writeFileSync(join(other, file), 'from the repository\n')
    git(other, 'add', '-f', file)
    git(other, 'commit', '-qm', `track ${file}`)
    git(other, 'push', '-q', 'origin', 'HEAD:main')
    const sha2 = git(other, 'rev-parse', 'HEAD')
    rmSync(other, { recursive: true, force: true })
    writeFileSync(join(p.dir, file), 'only on the host, must survive\n')
    const before = serviceContainer(p)
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: sha2, 'sync-discard-changes': discard, ...SLOW }) }, SLOW_RUN)
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    expect(errors(run)).toHaveLength(1)
    expect(errors(run)[0]).toContain(`would overwrite untracked files: ${file}.`)
    expect(readFileSync(join(p.dir, file), 'utf8')).toBe('only on the host, must survive\n')
    expect(git(p.dir, 'rev-parse', 'HEAD')).toBe(sha1)
    expect(serviceContainer(p)).toBe(before)
    // Moved away, the same deploy goes through.
    rmSync(join(p.dir, file))
    const ok = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: sha2, 'sync-discard-changes': discard, ...SLOW }) }, SLOW_RUN)
    expectExit(ok, 'zero')
    expect(git(p.dir, 'rev-parse', 'HEAD')).toBe(sha2)
  })
})

describe('relative project-dir and a RUNNER_TEMP with a space', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('relative')
    cheapHealthcheck(p.dir)
  })
  afterAll(() => removeProject(p))

  test('over ssh, relative to the user\'s home; resolved in the connect note; control socket under "runner temp %x"', async () => {
    // The test sshd logs in as this user (root): its home is the session's working directory.
    const rel = relative(homedir(), p.dir)
    expect(rel.startsWith('/')).toBe(false)
    const temp = join(IT_DIR, 'r t %h')
    mkdirSync(temp, { recursive: true })
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { 'project-dir': rel, ...SLOW }) }, { ...SLOW_RUN, env: { RUNNER_TEMP: temp } })
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(probe(run, 'source').verdict).toBe('pass')
    const connect = stepRows(run.summary, 'connect')
    expect(connect).toHaveLength(1)
    expect(connect[0]).toContain(`; ${p.dir};`)
    expect(run.post.code).toBe(0)
  })
})
