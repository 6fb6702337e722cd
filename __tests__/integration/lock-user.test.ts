// Issue 11, the lock half of "Critical" and items 12-13, as a non-root deploy user: lock.sh run
// through `runuser` as a local user made here (the tests run as root), no sshd or Docker needed.
import { execFileSync } from 'node:child_process'
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { lockKeyOf, startLock } from '../lock-holder.js'

const kinds: [string, 'yes' | 'no'][] = [
  ['flock', 'yes'],
  ['mkdir lock', 'no']
]

describe('the lock directory is the deploy user\'s own', () => {
  const USER = 'fdlocktest'
  let home = ''
  let project = ''
  const asUser = (): string[] => ['runuser', '-u', USER, '--', 'bash', '-s']
  beforeAll(() => {
    try {
      execFileSync('id', [USER], { stdio: 'pipe' })
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', USER])
    }
    home = execFileSync('getent', ['passwd', USER], { encoding: 'utf8' }).split(':')[5]
    project = mkdtempSync('/tmp/fd-lock-user-')
    chmodSync(project, 0o755)
  })
  beforeEach(() => rmSync(join(home, '.cache'), { recursive: true, force: true }))
  afterAll(() => {
    rmSync(project, { recursive: true, force: true })
    rmSync(join(home, '.cache'), { recursive: true, force: true })
  })

  test.each(kinds)('%s: a non-root deploy user takes the lock although /tmp/fresh-deploy-locks is root\'s, 0700', async (_kind, flock) => {
    // As an earlier deploy by root left it (the old lock directory, made under umask 077).
    if (!existsSync('/tmp/fresh-deploy-locks')) mkdirSync('/tmp/fresh-deploy-locks', { mode: 0o700 })
    expect(statSync('/tmp/fresh-deploy-locks').uid).toBe(0)
    const a = startLock({ project, flock, command: asUser(), keepaliveMs: 500 })
    try {
      expect(await a.waitFor('locked', 20_000)).toBe(true)
      const locks = join(home, '.cache', 'fresh-deploy', 'locks')
      const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }))
      expect(statSync(locks).uid).toBe(uid)
      expect(statSync(locks).mode & 0o777).toBe(0o700)
      expect(await a.release()).toBe(0)
    } finally {
      a.child.kill('SIGKILL')
    }
  }, 60_000)

  test('a lock directory that another user owns is refused with what to do', async () => {
    const locks = join(home, '.cache', 'fresh-deploy', 'locks')
    mkdirSync(locks, { recursive: true, mode: 0o700 })
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }))
    for (const d of [join(home, '.cache'), join(home, '.cache', 'fresh-deploy')]) chownSync(d, uid, uid)
    // locks itself stays root's, as if another user had made it.
    for (const flock of ['yes', 'no'] as const) {
      const a = startLock({ project, flock, command: asUser() })
      expect(await a.exited).toBe(3)
      expect(a.stdout()).toMatch(new RegExp(`^@@fd lock-error the deploy lock directory ${locks} belongs to uid 0, not to the deploy user \\(uid ${uid}\\).*chown`, 'm'))
      expect(a.stdout()).not.toContain('@@fd locked')
    }
  }, 60_000)

  test('mkdir lock: a live holder that is another user\'s process (kill -0: EPERM) is alive, never taken over', async () => {
    // The holder's pid is this test's (root's) process: kill -0 from the deploy user fails with
    // EPERM. Its holder file is fresh and declares a long heartbeat: only the pid could make it stale.
    const locks = join(home, '.cache', 'fresh-deploy', 'locks')
    const a0 = startLock({ project, flock: 'no', command: asUser(), keepaliveMs: 500 })
    expect(await a0.waitFor('locked', 20_000)).toBe(true)
    await a0.release()
    const d = join(locks, `${lockKeyOf(realpathSync(project))}.d`)
    mkdirSync(d)
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }))
    chownSync(d, uid, uid)
    writeFileSync(join(d, 'holder'), `run other-user, revision x, since 2026-01-01T00:00:00Z, pid ${process.pid}, host h\nheartbeat 600\n`)
    chownSync(join(d, 'holder'), uid, uid)
    const b = startLock({ project, flock: 'no', command: asUser(), timeout: 3 })
    expect(await b.exited).toBe(4)
    expect(b.stdout()).toContain('@@fd lock-timeout run other-user')
    expect(b.stdout()).not.toContain('lock-takeover')
    expect(readFileSync(join(d, 'holder'), 'utf8')).toContain('run other-user')
  }, 60_000)
})
