// Issue 5 (hardening), part 3: the SSH side. Impostor hosts and wrong fingerprints are refused
// before any remote command; ssh-strict: false warns on every run; the key never shows in any
// output; the post step leaves RUNNER_TEMP empty and no master connection, even after main was
// killed; unreachable hosts fail within connect-timeout, naming host and port.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { freePort, startSshd, stopSshd, type SshdInfo } from './sshd.js'
import { makeProject, projectInputs, removeProject, runAction, serviceContainer, sshd, sshInputs, transcript, type ActionRun, type Project } from './harness.js'
import { acceptedIn, lockLeft, runPost, sleep, startAction, until, waitUnlocked } from './hardening-helpers.js'
import { IT_DIR } from './paths.js'

useEnvironment()

/** ssh processes whose command line names this control socket (the master and its clients). */
function sshProcessesFor(control: string): string[] {
  try {
    return execFileSync('pgrep', ['-fa', '--', control], { encoding: 'utf8' }).split('\n').filter(l => l.includes('ssh'))
  } catch {
    return []
  }
}

function inputsFor(d: SshdInfo, p: Project, extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: '127.0.0.1',
    port: String(d.port),
    username: 'root',
    'ssh-key': d.userKeyText,
    'ssh-known-hosts': d.knownHosts,
    ...projectInputs(p),
    ...extra
  }
}

describe('host keys', () => {
  let p: Project
  let genuine: SshdInfo
  let impostor: SshdInfo | undefined
  beforeAll(async () => {
    p = await makeProject('hkeys')
    genuine = await startSshd(mkdtempSync(join(IT_DIR, 'sshd-genuine-')), { userKey: sshd().userKey })
  })
  afterAll(() => {
    stopSshd(genuine)
    if (impostor) stopSshd(impostor)
    removeProject(p)
  })

  test('an impostor on the pinned port (fresh host key, same authorised user key) is refused; no session starts', async () => {
    const first = await runAction(inputsFor(genuine, p, { ref: 'k-1' }))
    expectExit(first, 'zero')
    const cid = serviceContainer(p)
    stopSshd(genuine)
    await sleep(500)
    // The impostor would accept the deploy key: only the host key check keeps us out.
    impostor = await startSshd(mkdtempSync(join(IT_DIR, 'sshd-impostor-')), { port: genuine.port, userKey: sshd().userKey })
    const withKnownHosts = await runAction(inputsFor(genuine, p, { ref: 'k-2' }))
    const withFingerprint = await runAction(inputsFor(genuine, p, { ref: 'k-3', 'ssh-known-hosts': '', 'ssh-host-fingerprint': genuine.fingerprint }))
    for (const run of [withKnownHosts, withFingerprint]) {
      expectExit(run, 'non-zero')
      expect(errors(run)).toHaveLength(1)
      expect(run.outputs.verdict).toBe('error')
    }
    expect(errors(withKnownHosts)[0]).toMatch(/host key of root@127\.0\.0\.1:\d+ is not the pinned one/)
    expect(errors(withFingerprint)[0]).toContain(`input ssh-host-fingerprint: "${genuine.fingerprint}" does not match any host key of root@127.0.0.1:${genuine.port}`)
    expect(acceptedIn(impostor.log)).toBe(0)
    expect(serviceContainer(p)).toBe(cid)
    expect(lockLeft(p)).toEqual([])
    for (const run of [withKnownHosts, withFingerprint]) expect(readdirSync(run.runnerTemp)).toEqual([])
  })

  test('an impostor on another port, with the pinned line rewritten for that port, is refused', async () => {
    const other = await startSshd(mkdtempSync(join(IT_DIR, 'sshd-impostor2-')), { userKey: sshd().userKey })
    try {
      const rewritten = sshd().knownHosts.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${other.port}`)
      const run = await runAction({ ...sshInputs({ port: String(other.port), 'ssh-known-hosts': rewritten }), ...projectInputs(p) })
      expectExit(run, 'non-zero')
      expect(errors(run)).toHaveLength(1)
      expect(errors(run)[0]).toMatch(/is not the pinned one/)
      expect(acceptedIn(other.log)).toBe(0)
    } finally {
      stopSshd(other)
    }
  })

  test('a fingerprint that does not match is refused before login', async () => {
    const before = acceptedIn(sshd().log)
    const wrong = `SHA256:${'A'.repeat(43)}`
    const run = await runAction({ ...sshInputs({ 'ssh-known-hosts': '', 'ssh-host-fingerprint': wrong }), ...projectInputs(p) })
    expectExit(run, 'non-zero')
    expect(errors(run)).toHaveLength(1)
    expect(errors(run)[0]).toContain(`input ssh-host-fingerprint: "${wrong}" does not match`)
    expect(errors(run)[0]).toContain(sshd().fingerprint)
    expect(acceptedIn(sshd().log)).toBe(before)
  })

  test('ssh-strict: false warns on every run', async () => {
    for (const ref of ['s-1', 's-2']) {
      const run = await runAction({ ...sshInputs({ 'ssh-known-hosts': '', 'ssh-strict': 'false' }), ...projectInputs(p, { ref, 'dry-run': 'true' }) })
      expectExit(run, 'zero')
      const warnings = run.stdout.split('\n').filter(l => l.startsWith('::warning') && l.includes('ssh-strict is false'))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain(`127.0.0.1:${sshd().port}`)
    }
  })
})

describe('secrets and cleanup', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('hsecret')
  })
  afterAll(() => removeProject(p))

  const secretsOf = (key: string): string[] => [key, key.trim(), ...key.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('-----'))]

  /** The key and each base64 line of it, nowhere but in the ::add-mask:: commands. */
  function expectNoKey(run: ActionRun, outputsFile: string): void {
    const key = sshd().userKeyText
    const stdout = run.stdout.split('\n').filter(l => !l.startsWith('::add-mask::')).join('\n')
    const places: [string, string][] = [
      ['stdout', stdout],
      ['stderr', run.stderr],
      ['summary', run.summary],
      ['outputs', readFileSync(outputsFile, 'utf8')],
      ['state', JSON.stringify(run.state)],
      ['post', run.post.stdout + run.post.stderr]
    ]
    for (const s of secretsOf(key)) {
      for (const [where, text] of places) {
        if (text.includes(s)) throw new Error(`the key (or a line of it) is in ${where}\n${transcript(run)}`)
      }
    }
    // The masks are registered before the action prints anything else.
    const firstOther = run.stdout.split('\n').findIndex(l => !l.startsWith('::add-mask::') && l.trim() !== '')
    const masks = run.stdout.split('\n').map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('::add-mask::'))
    expect(masks.length).toBeGreaterThan(2)
    for (const [, i] of masks) expect(i).toBeLessThan(firstOther)
  }

  test.each([
    ['without debug', {}],
    ['with ACTIONS_STEP_DEBUG', { ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1' }]
  ])('the key never shows (%s), in success and failure; post leaves RUNNER_TEMP empty and no master', async (_label, env) => {
    for (const extra of [{ ref: 'sec-1' }, { ref: 'sec-2', service: 'nosuch' }, { ref: 'sec-3', 'dry-run': 'true' }] as Record<string, string>[]) {
      const started = startAction({ ...sshInputs(), ...projectInputs(p, extra) }, { env })
      const run = await started.done
      if (!extra.service) expectExit(run, 'zero')
      else expectExit(run, 'non-zero')
      expectNoKey(run, started.files.output)
      expect(run.post.code).toBe(0)
      expect(readdirSync(run.runnerTemp)).toEqual([])
      expect(sshProcessesFor(run.state.sshControl)).toEqual([])
      expect(lockLeft(p)).toEqual([])
    }
  })

  test('main itself closes the master and deletes the key when it ends (success and failure); post removes the rest', async () => {
    for (const extra of [{ ref: 'own-1' }, { ref: 'own-2', service: 'nosuch' }] as Record<string, string>[]) {
      const started = startAction({ ...sshInputs(), ...projectInputs(p, extra) }, { skipPost: true })
      const run = await started.done
      const dir = run.state.sshDir
      expect(dir).toBeTruthy()
      // The later steps of the job run without the key on disk or a connection to the host.
      expect(existsSync(join(dir, 'key'))).toBe(false)
      expect(existsSync(join(dir, 'known_hosts'))).toBe(false)
      expect(await until(() => sshProcessesFor(run.state.sshControl).length === 0, 5_000)).toBe(true)
      const post = await runPost(started.env, run.state)
      expect(post.code).toBe(0)
      expect(readdirSync(run.runnerTemp)).toEqual([])
    }
  })

  test('post cleans up after main was killed mid-deploy (SIGKILL during rebuild)', async () => {
    const started = startAction({ ...sshInputs(), ...projectInputs(p, { ref: 'kill-1', 'build-no-cache': 'true' }) }, { skipPost: true })
    await started.waitFor(/^::group::rebuild/)
    await sleep(500)
    started.child.kill('SIGKILL')
    const run = await started.done
    expect(run.code).not.toBe(0)
    const control = run.state.sshControl
    expect(control).toBeTruthy()
    // Main is gone; the key and the master connection are still there until the post step.
    expect(readdirSync(run.runnerTemp).length).toBeGreaterThan(0)
    expect(sshProcessesFor(control).length).toBeGreaterThan(0)
    const post = await runPost(started.env, run.state)
    expect(post.code).toBe(0)
    expect(readdirSync(run.runnerTemp)).toEqual([])
    expect(await until(() => sshProcessesFor(control).length === 0, 10_000)).toBe(true)
    // The lock died with its connection; the rebuild ran on, detached, and the service runs.
    expect(await waitUnlocked(p, 60_000)).toEqual([])
    const facts = (): string => {
      const cid = serviceContainer(p)
      return cid ? execFileSync('docker', ['inspect', '--format', '{{.State.Running}} {{index .Config.Labels "io.fresh-deploy.revision"}}', cid], { encoding: 'utf8' }).trim() : ''
    }
    expect(await until(() => facts() === 'true kill-1', 120_000)).toBe(true)
  })
})

describe('unreachable hosts', () => {
  let p: Project
  let blackhole: Server
  const sockets: Socket[] = []
  beforeAll(async () => {
    p = await makeProject('hunreach')
    blackhole = createServer(s => sockets.push(s)) // accepts, never says a word
    await new Promise<void>(r => blackhole.listen(0, '127.0.0.1', () => r()))
  })
  afterAll(() => {
    for (const s of sockets) s.destroy()
    blackhole.close()
    removeProject(p)
  })

  test.each([
    ['a closed port', 'closed'],
    ['a blackhole (accepts, never answers)', 'blackhole'],
    ['a blackhole, host key by fingerprint', 'blackhole-fp']
  ])('%s fails within connect-timeout plus a small margin, naming host and port', async (_label, kind) => {
    const port = kind === 'closed' ? await freePort() : (blackhole.address() as { port: number }).port
    const timeout = 4
    const extra: Record<string, string> = kind === 'blackhole-fp' ? { 'ssh-known-hosts': '', 'ssh-host-fingerprint': sshd().fingerprint } : {}
    const t0 = Date.now()
    const run = await runAction({ ...sshInputs({ port: String(port), 'connect-timeout': String(timeout), ...extra }), ...projectInputs(p) })
    const seconds = (Date.now() - t0) / 1000
    expectExit(run, 'non-zero')
    expect(errors(run)).toHaveLength(1)
    expect(errors(run)[0]).toContain(`127.0.0.1:${port}`)
    expect(errors(run)[0]).toMatch(/connect-timeout/)
    expect(run.outputs.verdict).toBe('error')
    // node start-up and the post step included: a few seconds over connect-timeout at most.
    expect(seconds).toBeLessThan(timeout + 5)
    expect(readdirSync(run.runnerTemp)).toEqual([])
  })
})
