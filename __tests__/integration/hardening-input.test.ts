// Issue 5 (hardening), part 1: bad input. Every bad value fails with exactly one ::error that
// names the input and quotes the value (never the key's), verdict error, and leaves the target
// as it was: no ssh session for the checks that need no target, the same container, and no
// deploy lock left behind.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { makeProject, projectInputs, removeProject, runAction, serviceContainer, sshd, sshInputs, transcript, type ActionRun, type Project } from './harness.js'
import { acceptedIn, lockLeft } from './hardening-helpers.js'

useEnvironment()

/** input name, bad value, extra inputs that make the case (e.g. a fingerprint for ssh-strict). */
type Case = [input: string, value: string, extra?: Record<string, string>, quoted?: string]

// Refused by the runner before it connects.
const beforeConnect: Case[] = [
  ['port', '0'],
  ['port', '65536'],
  ['port', 'abc'],
  ['port', '22.5'],
  ['connect-timeout', '0'],
  ['health-timeout', '-1'],
  ['verify-timeout', '1.5'],
  ['lock-timeout', 'abc'],
  ['verify-interval', '0'],
  ['stale-retries', '-1'],
  ['stop-timeout', 'ten'],
  ['sync', 'rsync'],
  ['compose-command', 'podman-compose'],
  ['verify-from', 'inside'],
  ['purge', 'yes'],
  ['rollback', '1'],
  ['dry-run', 'on'],
  ['container-source-dir', 'app/src'],
  ['source-dir', '../etc'],
  ['source-dir', 'src/../../etc'],
  ['source-dir', '/etc'],
  ['compose-files', '/etc/compose.yaml'],
  ['compose-files', 'compose.yaml,../other/compose.yaml', undefined, '../other/compose.yaml'],
  ['source-exclude', '/abs/**'],
  ['service', 'back end'],
  ['service', '-backend'],
  ['compose-project-name', 'Upper Case'],
  ['ssh-strict', 'false', { 'ssh-known-hosts': '', 'ssh-host-fingerprint': 'FP' }],
  ['ssh-strict', 'false'],
  ['ssh-strict', 'maybe'],
  ['compose-command', 'docker  compose'],
  ['ssh-known-hosts', '127.0.0.1 not-a-key-type AAAA'],
  ['ssh-known-hosts', '[127.0.0.1]:22 ssh-ed25519 !!notbase64!!'],
  ['ssh-host-fingerprint', 'SHA256:short', { 'ssh-known-hosts': '' }],
  ['ssh-host-fingerprint', 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', { 'ssh-known-hosts': '' }],
  ['verify-url', 'ftp://127.0.0.1/version'],
  ['verify-url', 'not a url'],
  ['verify-url', 'javascript:alert(1)'],
  ['proxy-jump', 'jump@127.0.0.1:99999'],
  ['proxy-jump', 'a b@host'],
  ['proxy-jump', '-oProxyCommand=sh'],
  ['host', '-oProxyCommand=sh'],
  ['host', 'host name'],
  ['username', 'root;id'],
  ['ref', 'HEAD\nmain', { sync: 'git' }, 'HEAD\\nmain'],
  ['ref', '--upload-pack=sh', { sync: 'git' }],
  ['ref', 'main:refs/heads/evil', { sync: 'git' }],
  ['ref', 'main~1', { sync: 'git' }],
  ['project-dir', '']
]

const quote = (v: string): string => JSON.stringify(v.trim())

function expectRefused(run: ActionRun, input: string, shown: string | undefined): void {
  expectExit(run, 'non-zero')
  const errs = errors(run)
  if (errs.length !== 1) throw new Error(`expected exactly one ::error, got ${errs.length}\n${transcript(run)}`)
  expect(errs[0]).toContain(`input ${input}`)
  if (shown !== undefined) expect(errs[0]).toContain(shown)
  expect(run.outputs.verdict).toBe('error')
  expect(run.outputs.verified).toBe('false')
}

describe('bad input', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('hbad')
    const first = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'good-1', 'verify-expect': 'good-1' }) })
    expectExit(first, 'zero')
  })
  afterAll(() => removeProject(p))

  test(`${beforeConnect.length} values refused before connecting (nothing on the target touched)`, async () => {
    const cid = serviceContainer(p)
    const before = acceptedIn(sshd().log)
    const tried: string[] = []
    for (const [input, value, extra = {}, quoted] of beforeConnect) {
      const fixed: Record<string, string> = {}
      for (const [k, v] of Object.entries(extra)) fixed[k] = v === 'FP' ? sshd().fingerprint : v
      const run = await runAction({ ...sshInputs(), ...projectInputs(p), ...fixed, [input]: value }, { timeoutMs: 60_000 })
      const shown = input === 'project-dir' || input === 'ssh-strict' && value === 'false' ? undefined : (quoted ?? quote(value))
      try {
        expectRefused(run, input, shown)
      } catch (e) {
        throw new Error(`input ${input}=${JSON.stringify(value)}: ${(e as Error).message}\n${transcript(run)}`)
      }
      tried.push(`${input}=${JSON.stringify(value)}`)
    }
    // None of them reached the target: no ssh login, the same container, no lock.
    expect(acceptedIn(sshd().log)).toBe(before)
    expect(serviceContainer(p)).toBe(cid)
    expect(lockLeft(p)).toEqual([])
    expect(tried).toHaveLength(beforeConnect.length)
  })

  test('the key: empty with a host, or not a key: named, never quoted', async () => {
    const empty = await runAction({ ...sshInputs({ 'ssh-key': '' }), ...projectInputs(p) })
    expectRefused(empty, 'ssh-key', undefined)
    expect(errors(empty)[0]).toContain('"127.0.0.1"')
    const notAKey = 'hunter2-secret-not-a-key'
    const bad = await runAction({ ...sshInputs({ 'ssh-key': notAKey }), ...projectInputs(p) })
    expectRefused(bad, 'ssh-key', undefined)
    expect(bad.stdout.split('\n').filter(l => !l.startsWith('::add-mask::')).join('\n')).not.toContain(notAKey)
  })

  test('values that only the target can refuse: project-dir, service, compose-files, compose file content', async () => {
    const cid = serviceContainer(p)
    const before = readFileSync(join(p.dir, 'compose.yaml'), 'utf8')
    const targetCases: [string, string][] = [
      ['project-dir', join(p.dir, 'no-such-dir')],
      ['service', 'frontend'],
      ['compose-files', 'compose.yaml,missing.yaml']
    ]
    for (const [input, value] of targetCases) {
      const run = await runAction({ ...sshInputs(), ...projectInputs(p, { [input]: value }) })
      const shown = input === 'compose-files' ? 'missing.yaml' : quote(value)
      try {
        expectRefused(run, input, shown)
      } catch (e) {
        throw new Error(`input ${input}=${JSON.stringify(value)}: ${(e as Error).message}\n${transcript(run)}`)
      }
      expect(serviceContainer(p)).toBe(cid)
      expect(lockLeft(p)).toEqual([])
    }
    // sync: git in a directory that is no git checkout.
    const notGit = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: 'main' }) })
    expectRefused(notGit, 'sync', '"git"')
    expect(serviceContainer(p)).toBe(cid)
    expect(readFileSync(join(p.dir, 'compose.yaml'), 'utf8')).toBe(before)
    expect(lockLeft(p)).toEqual([])
  })

  test('sync: git with an unknown ref leaves the checkout and the container as they were', async () => {
    const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: p.dir, encoding: 'utf8' }).trim()
    git('init', '-q')
    writeFileSync(join(p.dir, '.gitignore'), '.env\n__pycache__/\n')
    git('add', '-A')
    git('commit', '-qm', 'v1')
    const head = git('rev-parse', 'HEAD')
    const cid = serviceContainer(p)
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: 'no-such-branch' }) })
    expectRefused(run, 'ref', '"no-such-branch"')
    expect(git('rev-parse', 'HEAD')).toBe(head)
    expect(git('status', '--porcelain')).toBe('')
    expect(serviceContainer(p)).toBe(cid)
    expect(lockLeft(p)).toEqual([])
  })
})
