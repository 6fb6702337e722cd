// Issue 15, start-first beyond the example app's cases (start-first.test.ts): the cutover cut
// short on the runner's side (the SSH connection dropped; the deploy's script on the target
// killed), which runs detached on the target and must leave one container serving, never zero;
// and the local transport (host empty). A user-shaped app: start-first-apps.test.ts.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, projectInputs, removeProject, runAction, setVersion, sshd, sshInputs, type ActionRun, type Project } from './harness.js'
import { sleep, startAction, waitUnlocked } from './hardening-helpers.js'
import { SF, deployUnderLoad, failed, proxiedProject, serviceContainers, startLoad, type Sample } from './start-first-helpers.js'

useEnvironment()

/** Waits until `done()` holds (or the time is up); returns whether it did. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > end) return false
    await sleep(250)
  }
  return true
}

const label = (cid: string, key: string): string => docker('inspect', '--format', `{{index .Config.Labels "${key}"}}`, cid)
const running = (cid: string): string => docker('inspect', '--format', '{{.State.Running}}', cid)

describe('strategy: start-first, the example app behind nginx (compose v2): a dropped connection, the local transport', () => {
  let p: Project
  let first: ActionRun
  let cut2 = ''
  // The old container ignores its stop signal (PID 1 without a handler for SIGUSR2): docker stop
  // waits out stop-timeout, so the cutover runs for 3 s (DNS) + 8 s, long enough to cut into.
  const SLOW_STOP = 'slow-stop.yaml'
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...sshInputs(),
    ...projectInputs(p, { 'compose-files': `${SF}\n${SLOW_STOP}`, strategy: 'start-first', 'stop-timeout': '8', ...extra })
  })
  beforeAll(async () => {
    p = await proxiedProject('sf-cut', 'docker compose')
    writeFileSync(join(p.dir, SLOW_STOP), 'services:\n  backend:\n    stop_signal: SIGUSR2\n')
    first = await runAction(inputs({ ref: 'cut-1', 'verify-expect': '"version": "1"' }))
    expectExit(first, 'zero')
  })
  afterAll(() => removeProject(p))

  /**
   * Once a cutover cut short on the runner's side has settled (the detached unit stops the old
   * container after its 8 s): exactly one container of the service, the new one (`revision`),
   * running and serving through the proxy, and no lock left.
   */
  async function oneNewContainerServes(old: string, revision: string, version: string): Promise<string> {
    expect(await until(() => !serviceContainers(p).includes(old), 40_000)).toBe(true)
    await sleep(1000)
    const left = serviceContainers(p)
    expect(left).toHaveLength(1)
    expect(running(left[0])).toBe('true')
    expect(label(left[0], 'io.fresh-deploy.revision')).toBe(revision)
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version, revision })
    expect(await waitUnlocked(p, 30_000)).toEqual([])
    return left[0]
  }

  /** A start-first deploy under load, cut by `cut` once the cutover's detached unit runs; the samples until it settled. */
  async function cutDeploy(old: string, ref: string, version: string, cut: () => void): Promise<{ run: ActionRun; samples: Sample[] }> {
    setVersion(p, version)
    const load = startLoad(p.url)
    let run: ActionRun | undefined
    let samples: Sample[] = []
    try {
      const started = startAction(inputs({ ref, 'verify-expect': `"version": "${version}"` }))
      // The unit says so once the new container has the name; ~3 s later it stops the old one,
      // which takes 8 s: cut now, in the middle of the cutover.
      await started.waitFor(/waiting \d+ s for proxies to see it, then stopping/)
      cut()
      run = await started.done
      await until(() => !serviceContainers(p).includes(old), 40_000)
    } finally {
      // Also when something above failed: a loop left running keeps jest from exiting.
      samples = await load.stop()
    }
    if (!run) throw new Error('the deploy did not end')
    return { run, samples }
  }

  test('the SSH connection cut during the cutover: it finishes detached, one container (the new one) serves, never zero; no lock left', async () => {
    const old = first.outputs['container-id']
    const { run, samples } = await cutDeploy(old, 'cut-2', '2', () => {
      // Every sshd process serving this file's sshd: the master connection and its sessions.
      const children = execFileSync('pgrep', ['-P', String(sshd().pid)], { encoding: 'utf8' }).split('\n').filter(Boolean)
      expect(children.length).toBeGreaterThan(0)
      for (const pid of children) process.kill(Number(pid), 'SIGKILL')
    })
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    expect(errors(run).join('\n')).toMatch(/cutover: the ssh connection to root@127\.0\.0\.1:\d+ failed \(exit 255\)\. The cutover goes on, detached/)
    // The cutover's own log lines (its command line among them) never show the run's record nonce.
    expect(run.stdout).toMatch(/\+ bash \S*fresh-deploy-cutover\.\S+ [0-9a-f]{64} /)
    expect(run.stdout).not.toMatch(/@@fd-[0-9a-f]{24}/)
    cut2 = await oneNewContainerServes(old, 'cut-2', '2')
    expect(failed(samples)).toEqual([])
    expect(samples.slice(-10).every(s => s.version === '2')).toBe(true)
  })

  test("the deploy's script on the target killed during the cutover (the connection alive): the runner waits for the detached cutover and keeps the new container; the next deploy is fresh", async () => {
    // The runner learns of it at once and cleans up over its live connection: it once removed
    // the new container, which had the name, while the unit went on to stop the old one: none left.
    const { run, samples } = await cutDeploy(cut2, 'cut-3', '3', () => {
      // The unit (fd-unit, setsid) naming the old container; its parent is the deploy's script.
      const unit = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
        .split('\n')
        .map(l => l.trim().split(/\s+/))
        .filter(f => f.includes('fd-unit') && f.some(a => a.includes('fresh-deploy-cutover.')) && f.includes(cut2))
      expect(unit).toHaveLength(1)
      process.kill(Number(unit[0][1]), 'SIGKILL')
    })
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    const cut3 = await oneNewContainerServes(cut2, 'cut-3', '3')
    expect(errors(run).join('\n')).toContain(`the cutover finished on the target: the new container ${cut3.slice(0, 12)} took the name`)
    expect(failed(samples)).toEqual([])
    expect(samples.slice(-10).every(s => s.version === '3')).toBe(true)
    // The next deploy works on what the cut one left, and is fresh.
    const image3 = docker('inspect', '--format', '{{.Image}}', cut3)
    setVersion(p, '4')
    const again = await runAction(inputs({ ref: 'cut-4', 'verify-expect': '"version": "4"', 'stop-timeout': '1' }))
    expectExit(again, 'zero')
    expect(again.outputs.verdict).toBe('fresh')
    expect(again.outputs['previous-image-id']).toBe(image3)
    expect(serviceContainers(p)).toEqual([again.outputs['container-id']])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '4', revision: 'cut-4' })
  })

  test('the local transport (host empty): a start-first deploy of a code change under load is fresh, 0 failed requests, one container left', async () => {
    setVersion(p, '5')
    const local = { ...projectInputs(p, { 'compose-files': `${SF}\n${SLOW_STOP}`, strategy: 'start-first', 'stop-timeout': '1', ref: 'local-5', 'verify-expect': '"version": "5"' }), host: '' }
    const { run, samples } = await deployUnderLoad(p, local)
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(run.stdout).not.toContain('ssh')
    expect(run.summary).toMatch(/\| cutover \| ✅ ok \|/)
    expect(failed(samples)).toEqual([])
    expect(samples.slice(-10).every(s => s.version === '5')).toBe(true)
    expect(serviceContainers(p)).toEqual([run.outputs['container-id']])
    expect(running(run.outputs['container-id'])).toBe('true')
  })
})

