// lock.sh run for real (bash, flock, mkdir), held as the runner holds it: the keepalive and its
// silence, the heartbeat, a competing second holder, the atomic takeover of a stale mkdir lock,
// and the lock directory that only the deploy user can write (issue 11, items 12-14).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lockKeyOf, startLock, type LockRun } from '../lock-holder.js'

let dir = ''
let project = ''
let locks = ''
let env: NodeJS.ProcessEnv = {}
const running: LockRun[] = []
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'fd-lock-')))
  project = join(dir, 'project')
  mkdirSync(project)
  locks = join(dir, '.cache', 'fresh-deploy', 'locks')
  // TMPDIR too: the old lock.sh kept its locks there (a test run against it stays in dir).
  env = { ...process.env, HOME: dir, TMPDIR: dir }
})
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.stdin.end()
    r.child.kill('SIGKILL')
    await r.exited
  }
  rmSync(dir, { recursive: true, force: true })
})

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
const start = (o: Partial<Parameters<typeof startLock>[0]> & { flock: 'yes' | 'no' }): LockRun => {
  const r = startLock({ project, env, ...o })
  running.push(r)
  return r
}
const key = (): string => lockKeyOf(project)
const holderFile = (flock: string): string => (flock === 'yes' ? join(locks, `${key()}.info`) : join(locks, `${key()}.d`, 'holder'))
const kinds: [string, 'yes' | 'no'][] = [
  ['flock', 'yes'],
  ['mkdir lock', 'no']
]

describe('holding the lock', () => {
  test.each(kinds)('%s: held over several heartbeats while the keepalive comes, the holder file kept fresh; released when stdin closes', async (_kind, flock) => {
    const a = start({ flock, heartbeat: 1, keepaliveMs: 300 })
    expect(await a.waitFor('locked')).toBe(true)
    const info = holderFile(flock)
    expect(readFileSync(info, 'utf8')).toMatch(/^run run-1, revision main, since \S+, pid \d+, host .*\nheartbeat 1\n$/)
    const first = statSync(info).mtimeMs
    await sleep(4500)
    expect(a.child.exitCode).toBeNull()
    expect(statSync(info).mtimeMs).toBeGreaterThan(first)
    expect(await a.release()).toBe(0)
    expect(existsSync(info)).toBe(false)
    expect(statSync(locks).mode & 0o777).toBe(0o700)
  }, 20_000)

  test.each(kinds)('%s: a runner gone silent (stdin open, no keepalive) releases the lock after three heartbeats; the next deploy takes it', async (_kind, flock) => {
    const a = start({ flock, heartbeat: 1, runId: 'silent' })
    expect(await a.waitFor('locked')).toBe(true)
    const t0 = Date.now()
    const b = start({ flock, heartbeat: 1, runId: 'next', timeout: 20, keepaliveMs: 300 })
    expect(await b.waitFor('locked', 20_000)).toBe(true)
    // Three heartbeats (3 s, counted in whole seconds) and B's 1 s poll, plus slack for a loaded
    // machine (B's own start): a runner that is silent, not gone, would hold it for ever.
    expect(Date.now() - t0).toBeLessThan(12_000)
    expect(await a.exited).toBe(5)
    expect(a.stdout()).toMatch(/^@@fd lock-silent \d+$/m)
    expect(a.stderr()).toContain('no keepalive from the runner')
    expect(b.stdout()).not.toContain('lock-takeover')
    expect(readFileSync(holderFile(flock), 'utf8')).toContain('run next,')
  }, 40_000)
})

describe('a competing second holder', () => {
  test.each(kinds)('%s: B with lock-timeout 2 never takes over A\'s live lock (heartbeat 5 s); it times out naming A', async (_kind, flock) => {
    const a = start({ flock, runId: 'A', timeout: 600, keepaliveMs: 1000 })
    expect(await a.waitFor('locked')).toBe(true)
    // Let A's holder file age past B's lock-timeout (the old rule: older than lock-timeout = stale).
    await sleep(1500)
    const b = start({ flock, runId: 'B', timeout: 2 })
    expect(await b.exited).toBe(4)
    expect(b.stdout()).toMatch(/^@@fd lock-timeout run A, revision main, since \S+, pid \d+/m)
    expect(b.stdout()).not.toContain('lock-takeover')
    expect(b.stdout()).not.toContain('@@fd locked')
    expect(a.child.exitCode).toBeNull()
    expect(readFileSync(holderFile(flock), 'utf8')).toContain('run A,')
    expect(await a.release()).toBe(0)
  }, 20_000)

  test('mkdir lock: six waiters at a stale lock dir (dead pid): exactly one takes it over, the others wait', async () => {
    const d = join(locks, `${key()}.d`)
    mkdirSync(d, { recursive: true, mode: 0o700 })
    chmodSync(join(dir, '.cache'), 0o700)
    writeFileSync(join(d, 'holder'), 'run ghost, revision old, since 2020-01-01T00:00:00Z, pid 999999, host nowhere\nheartbeat 5\n')
    const waiters = [0, 1, 2, 3, 4, 5].map(i => start({ flock: 'no', runId: `w${i}`, timeout: 60 }))
    // Until one holds it, then long enough for a second takeover to show (a loaded machine is slow).
    await Promise.race(waiters.map(w => w.waitFor('locked', 30_000)))
    await sleep(2500)
    const holding = waiters.filter(w => w.stdout().includes('@@fd locked'))
    expect(holding).toHaveLength(1)
    expect(waiters.filter(w => w.stdout().includes('@@fd lock-takeover run ghost'))).toHaveLength(1)
    expect(readFileSync(join(d, 'holder'), 'utf8')).toContain(`run w${waiters.indexOf(holding[0])},`)
    // No renamed-away lock dir or reap dir is left behind.
    expect(readdirSync(locks).sort()).toEqual([`${key()}.d`])
  }, 60_000)

  test('mkdir lock: a holder whose lock dir now holds another\'s holder file leaves it alone on exit', async () => {
    const a = start({ flock: 'no', runId: 'A', keepaliveMs: 300 })
    expect(await a.waitFor('locked')).toBe(true)
    const info = holderFile('no')
    // As after a takeover while A was stopped: the lock dir is B's now.
    writeFileSync(info, `run B, revision x, since 2026-01-01T00:00:00Z, pid ${process.pid}, host h\nheartbeat 5\n`)
    expect(await a.release()).toBe(0)
    expect(readFileSync(info, 'utf8')).toContain('run B,')
  }, 20_000)

  test('mkdir lock: a holder that finds its holder file taken over stops holding (lock-lost)', async () => {
    const a = start({ flock: 'no', runId: 'A', heartbeat: 1, keepaliveMs: 300 })
    expect(await a.waitFor('locked')).toBe(true)
    writeFileSync(holderFile('no'), `run B, revision x, since 2026-01-01T00:00:00Z, pid ${process.pid}, host h\nheartbeat 1\n`)
    expect(await a.exited).toBe(5)
    expect(a.stdout()).toContain('@@fd lock-lost')
    expect(readFileSync(holderFile('no'), 'utf8')).toContain('run B,')
  }, 20_000)
})

describe('the lock directory is the deploy user\'s alone', () => {
  const prepare = (): void => {
    mkdirSync(locks, { recursive: true })
    for (const d of [join(dir, '.cache'), join(dir, '.cache', 'fresh-deploy'), locks]) chmodSync(d, 0o700)
  }

  test.each(kinds)('%s: a symlink planted where the holder file goes is refused; its target is untouched', async (_kind, flock) => {
    prepare()
    const victim = join(dir, 'authorized_keys')
    writeFileSync(victim, 'ssh-ed25519 AAAA keep-me\n')
    if (flock === 'yes') {
      symlinkSync(victim, join(locks, `${key()}.info`))
    } else {
      // The mkdir lock's holder lives in KEY.d: a symlinked KEY.d is refused as well.
      const elsewhere = join(dir, 'elsewhere')
      mkdirSync(elsewhere)
      symlinkSync(elsewhere, join(locks, `${key()}.d`))
    }
    const a = start({ flock })
    expect(await a.exited).toBe(3)
    expect(a.stdout()).toMatch(/^@@fd lock-error .*is a symbolic link/m)
    expect(a.stdout()).not.toContain('@@fd locked')
    expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA keep-me\n')
    if (flock === 'no') expect(readdirSync(join(dir, 'elsewhere'))).toEqual([])
  }, 20_000)

  test.each([
    ['the lock dir is 0777', (): void => chmodSync(locks, 0o777), /locks is writable by group or others \(mode 777\).*chmod go-w/],
    ['its parent is group-writable', (): void => chmodSync(join(dir, '.cache', 'fresh-deploy'), 0o770), /fresh-deploy is writable by group or others \(mode 770\)/],
    ['the lock dir is a symlink', (): void => {
      rmSync(locks, { recursive: true })
      mkdirSync(join(dir, 'other'))
      symlinkSync(join(dir, 'other'), locks)
    }, /locks is a symbolic link or not a directory/]
  ])('refused when %s, with what to do', async (_what, spoil, message) => {
    prepare()
    spoil()
    for (const flock of ['yes', 'no'] as const) {
      const a = start({ flock })
      expect(await a.exited).toBe(3)
      expect(a.stdout()).toMatch(new RegExp(`^@@fd lock-error .*${message.source}`, 'm'))
      expect(a.stdout()).not.toContain('@@fd locked')
    }
  }, 20_000)

  test('made 0700 under HOME, never in the shared /tmp/fresh-deploy-locks', async () => {
    const a = start({ flock: 'yes', keepaliveMs: 300 })
    expect(await a.waitFor('locked')).toBe(true)
    for (const d of [join(dir, '.cache'), join(dir, '.cache', 'fresh-deploy'), locks]) expect(statSync(d).mode & 0o777).toBe(0o700)
    expect(readdirSync(locks).sort()).toEqual([`${key()}.busy`, `${key()}.info`, `${key()}.lock`])
    await a.release()
  }, 20_000)
})
