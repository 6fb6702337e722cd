// Issue 5 (hardening), part 5: the deploy lock. A lock left by a dead deploy (a fabricated info
// file, and a real holder killed with -9) is taken over with a warning; three deploys of one
// project started at once run one after another, and the last to get the lock is what serves.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { lockKeyOf, startLock } from '../lock-holder.js'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, makeProject, projectInputs, removeProject, runAction, serviceContainer, sshInputs, type ActionRun, type Project } from './harness.js'
import { effectiveErrors, LOCK_DIR, lockKey, lockLeft, startAction } from './hardening-helpers.js'

useEnvironment()

const kinds: [string, 'yes' | 'no'][] = [
  ['flock', 'yes'],
  ['mkdir lock', 'no']
]

const revisionOf = (cid: string): string => docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', cid)

describe('a lock left behind', () => {
  let p: Project
  let dockerfile: string
  beforeAll(async () => {
    p = await makeProject('hlock')
    dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    expectExit(await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'l-1' }) }), 'zero')
  })
  afterAll(() => removeProject(p))

  test('a lock left by a dead deploy is taken over with a warning (fabricated, and a holder killed with -9)', async () => {
    // Fabricated: an info file whose holder is gone (nobody holds the flock).
    const info = join(LOCK_DIR, `${lockKey(p)}.info`)
    writeFileSync(info, 'run 999-1-deadbeef, revision ghost, since 2020-01-01T00:00:00Z, pid 999999, host nowhere\n')
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'take-1' }) })
    expectExit(run, 'zero')
    const warnings = run.stdout.split('\n').filter(l => l.startsWith('::warning') && l.includes('taking it over'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('run 999-1-deadbeef')
    expect(lockLeft(p)).toEqual([])

    // A real holder killed with -9 while it deploys: its info file stays, the next deploy takes over.
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}RUN echo "building $APP_REVISION" && sleep 4\n`)
    const victim = startAction({ ...sshInputs(), ...projectInputs(p, { ref: 'victim-1' }) })
    await victim.waitFor(/^::group::snapshot/)
    const holder = readFileSync(info, 'utf8')
    const pid = /, pid (\d+),/.exec(holder)?.[1]
    expect(pid).toBeTruthy()
    process.kill(Number(pid), 'SIGKILL')
    const lost = await victim.done
    // The victim notices that its lock is gone and stops instead of deploying unprotected.
    expectExit(lost, 'non-zero')
    expect(lost.outputs.verdict).toBe('error')
    expect(effectiveErrors(lost.stdout)).toHaveLength(1)
    expect(effectiveErrors(lost.stdout)[0]).toMatch(/the deploy lock of .* was lost .*; stopped before the (snapshot|purge|rebuild|verify) step/)
    expect(lockLeft(p)).toEqual([`${lockKey(p)}.info`])
    const next = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'take-2', 'verify-expect': 'take-2' }) })
    expectExit(next, 'zero')
    const taken = next.stdout.split('\n').filter(l => l.startsWith('::warning') && l.includes('taking it over'))
    expect(taken).toHaveLength(1)
    expect(taken[0]).toContain('revision victim-1')
    expect(lockLeft(p)).toEqual([])
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
  })

})

describe('concurrency', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('hconc')
    appendFileSync(join(p.dir, 'Dockerfile'), 'RUN echo "building $APP_REVISION" && sleep 2\n')
    expectExit(await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'c-0' }) }), 'zero')
  })
  afterAll(() => removeProject(p))

  test('three deploys of one project at once run one after another; the last to get the lock serves', async () => {
    const refs = ['c-1', 'c-2', 'c-3']
    const runs = refs.map(ref => startAction({ ...sshInputs(), ...projectInputs(p, { ref, 'verify-expect': ref }) }))
    const done = await Promise.all(runs.map(r => r.done))
    for (const run of done) {
      expectExit(run, 'zero')
      expect(run.outputs.verdict).toBe('fresh')
    }
    // Two of them waited, and said so.
    expect(done.filter(r => r.stdout.includes('waiting for the deploy lock')).length).toBe(2)
    // Their lock-to-release windows (snapshot start .. report) do not overlap.
    const windows = runs
      .map((r, i) => {
        const start = r.lines.find(l => l.text.startsWith('::group::snapshot'))?.at ?? NaN
        const rebuildEnd = r.lines.find(l => l.text.startsWith('::group::verify'))?.at ?? NaN
        return { ref: refs[i], start, end: rebuildEnd }
      })
      .sort((a, b) => a.start - b.start)
    for (let i = 1; i < windows.length; i++) expect(windows[i].start).toBeGreaterThanOrEqual(windows[i - 1].end)
    const last = windows[windows.length - 1].ref
    const cid = serviceContainer(p)
    expect(revisionOf(cid)).toBe(last)
    expect(JSON.parse((await httpGet(p.url)).body).revision).toBe(last)
    expect(lockLeft(p)).toEqual([])
  })
})

describe('the mkdir lock (a target without flock)', () => {
  let p: Project
  let env: NodeJS.ProcessEnv
  const dirLock = (): string => join(LOCK_DIR, `${lockKey(p)}.d`)
  beforeAll(async () => {
    p = await makeProject('hmkdir')
    appendFileSync(join(p.dir, 'Dockerfile'), 'RUN echo "building $APP_REVISION" && sleep 2\n')
    // The local transport with a PATH that has everything but flock.
    const bin = mkdtempSync(join(p.dir, '..', 'noflock-bin-'))
    for (const dir of (process.env.PATH ?? '').split(':')) {
      if (!dir || !existsSync(dir)) continue
      for (const name of readdirSync(dir)) {
        if (name === 'flock' || existsSync(join(bin, name))) continue
        symlinkSync(join(dir, name), join(bin, name))
      }
    }
    env = { PATH: bin }
    const first = await runAction({ host: '', ...projectInputs(p, { ref: 'm-0' }) }, { env })
    expectExit(first, 'zero')
    expect(first.stdout).toContain('mkdir lock (no flock on the target)')
  })
  afterAll(() => removeProject(p))

  test('a stale lock dir (dead pid) is taken over with a warning; two deploys at once take turns; no .d dir left', async () => {
    mkdirSync(dirLock())
    writeFileSync(join(dirLock(), 'holder'), 'run 999-1-deadbeef, revision ghost, since 2020-01-01T00:00:00Z, pid 999999, host nowhere\n')
    const taken = await runAction({ host: '', ...projectInputs(p, { ref: 'm-1' }) }, { env })
    expectExit(taken, 'zero')
    const warnings = taken.stdout.split('\n').filter(l => l.startsWith('::warning') && l.includes('taking it over'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('run 999-1-deadbeef')
    expect(lockLeft(p)).toEqual([])

    const runs = ['m-2', 'm-3'].map(ref => startAction({ host: '', ...projectInputs(p, { ref, 'verify-expect': ref }) }, { env }))
    const done = await Promise.all(runs.map(r => r.done))
    for (const run of done) expectExit(run, 'zero')
    expect(done.filter(r => r.stdout.includes('waiting for the deploy lock')).length).toBe(1)
    expect(done.some(r => r.stdout.includes('taking it over'))).toBe(false)
    const windows = runs
      .map(r => ({ start: r.lines.find(l => l.text.startsWith('::group::snapshot'))?.at ?? NaN, end: r.lines.find(l => l.text.startsWith('::group::verify'))?.at ?? NaN }))
      .sort((a, b) => a.start - b.start)
    expect(windows[1].start).toBeGreaterThanOrEqual(windows[0].end)
    expect(lockLeft(p)).toEqual([])
  })
})

// Issue 11, items 13 and 14 and the lock half of "Critical": the lock lives where only the
// deploy user can write, and a holder whose runner went silent releases it.
describe('an attacker on the target and a runner gone silent', () => {
  let p: Project
  let dockerfile: string
  const attacker: ChildProcess[] = []
  beforeAll(async () => {
    p = await makeProject('hlocka')
    dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    expectExit(await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'a-0' }) }), 'zero')
  })
  afterAll(() => {
    for (const c of attacker) c.kill('SIGKILL')
    removeProject(p)
  })

  test('symlinks planted in the shared /tmp/fresh-deploy-locks and a flock held there forever change nothing', async () => {
    const shared = '/tmp/fresh-deploy-locks'
    if (!existsSync(shared)) mkdirSync(shared, { mode: 0o700 })
    const key = lockKey(p)
    const victim = join(p.dir, '..', `authorized_keys-${key}`)
    writeFileSync(victim, 'ssh-ed25519 AAAA keep-me\n')
    const planted = [`${key}.info`, `${key}.busy`, `${key}.d`].map(n => join(shared, n))
    for (const link of planted) {
      rmSync(link, { force: true, recursive: true })
      symlinkSync(victim, link)
    }
    const lockfile = join(shared, `${key}.lock`)
    rmSync(lockfile, { force: true })
    const holder = spawn('flock', [lockfile, 'sleep', '600'], { stdio: 'ignore' })
    attacker.push(holder)
    try {
      const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'a-1', 'verify-expect': 'a-1', 'lock-timeout': '5' }) })
      expectExit(run, 'zero')
      expect(run.outputs.verdict).toBe('fresh')
      expect(run.stdout).not.toContain('waiting for the deploy lock')
      expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA keep-me\n')
      expect(lockLeft(p)).toEqual([])
    } finally {
      holder.kill('SIGKILL')
      for (const f of [...planted, lockfile, victim]) rmSync(f, { force: true })
    }
  }, 300_000)

  test('a runner stopped while it holds the lock (SIGSTOP): the lock is released after three keepalives, the next deploy takes it', async () => {
    const fast = { FRESH_DEPLOY_LOCK_HEARTBEAT: '1' }
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}RUN echo "building $APP_REVISION" && sleep 3\n`)
    try {
      const victim = startAction({ ...sshInputs(), ...projectInputs(p, { ref: 'stopped-1' }) }, { env: fast })
      await victim.waitFor(/^::group::snapshot/)
      const pid = victim.child.pid ?? 0
      process.kill(pid, 'SIGSTOP')
      let next: ActionRun
      try {
        const t0 = Date.now()
        next = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'next-1', 'verify-expect': 'next-1', 'lock-timeout': '120' }) }, { env: fast })
        expectExit(next, 'zero')
        expect(next.outputs.verdict).toBe('fresh')
        // Whether it saw the lock held depends on how long its own connect took (3 s of silence
        // release it): what matters is that it got the lock well within lock-timeout.
        expect(Date.now() - t0).toBeLessThan(120_000)
      } finally {
        process.kill(pid, 'SIGCONT')
      }
      const lost = await victim.done
      expectExit(lost, 'non-zero')
      expect(lost.outputs.verdict).toBe('error')
      expect(effectiveErrors(lost.stdout).join('\n')).toMatch(/deploy lock .* (was lost|ended)/)
      // What serves is the deploy that held the lock last.
      expect(revisionOf(serviceContainer(p))).toBe('next-1')
      expect(JSON.parse((await httpGet(p.url)).body).revision).toBe('next-1')
      expect(lockLeft(p)).toEqual([])
    } finally {
      writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
    }
  }, 400_000)
})
