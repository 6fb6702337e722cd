// Issue 5 (hardening), part 4: remote failures and faults. Each ends with a running service, a
// correct verdict and one clear error: a failing build or a broken compose file (the old
// container keeps running), the SSH connection cut during the rebuild (the detached rebuild
// finishes), a container that crashes at start (rollback), one that never gets healthy (fails at
// health-timeout) and a read-only source dir during purge, which only warns (lock faults:
// hardening-lock.test.ts). Never exit 0 on a failure, never a lock left behind.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, makeProject, probe, projectInputs, removeProject, runAction, serviceContainer, setVersion, sshd, sshInputs, transcript, type ActionRun, type Project } from './harness.js'
import { effectiveErrors, lockLeft, sleep, startAction, until, waitUnlocked } from './hardening-helpers.js'

useEnvironment()

function expectOneError(run: ActionRun, re: RegExp): string {
  expectExit(run, 'non-zero')
  // Counted as the runner would: text inside a ::stop-commands:: block is no command.
  const errs = effectiveErrors(run.stdout)
  if (errs.length !== 1 || !re.test(errs[0])) throw new Error(`expected one ::error matching ${re}\n${transcript(run)}`)
  return errs[0]
}

const running = (cid: string): boolean => {
  try {
    return docker('inspect', '--format', '{{.State.Running}}', cid) === 'true'
  } catch {
    return false
  }
}
const revisionOf = (cid: string): string => docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', cid)

/** Override files this run left in /tmp (they carry the revision). */
const overridesOf = (ref: string): string[] =>
  readdirSync('/tmp')
    .filter(f => f.startsWith('fresh-deploy-override.'))
    .filter(f => {
      try {
        return readFileSync(join('/tmp', f), 'utf8').includes(JSON.stringify(ref))
      } catch {
        return false
      }
    })

describe('remote failures', () => {
  let p: Project
  let dockerfile: string
  beforeAll(async () => {
    p = await makeProject('hremote')
    dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    expectExit(await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'ok-1' }) }), 'zero')
  })
  afterAll(() => removeProject(p))

  test('a Dockerfile step that exits 7: the action fails with the exit code and the output tail; the old container keeps running', async () => {
    const cid = serviceContainer(p)
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}RUN echo the-build-breaks-here && exit 7\n`)
    for (const extra of [{}, { 'build-no-cache': 'true' }] as Record<string, string>[]) {
      const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'bad-build', ...extra }) })
      const err = expectOneError(run, /rebuild/)
      // eslint-disable-next-line no-console
      console.log(err)
      expect(err).toMatch(/exit (code:? )?7|non-zero code: 7/)
      expect(err).toContain('the-build-breaks-here')
      // compose's own exit code, not only fresh-deploy's (exit 3).
      expect(err).toMatch(/failed \(compose exit [1-9]\d*\)/)
      expect(run.outputs.verdict).toBe('error')
      expect(serviceContainer(p)).toBe(cid)
      expect(running(cid)).toBe(true)
      expect(lockLeft(p)).toEqual([])
      expect(overridesOf('bad-build')).toEqual([])
    }
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
  })

  test('a compose file with invalid YAML fails before anything changes, naming the file and showing the parser error', async () => {
    const cid = serviceContainer(p)
    const compose = readFileSync(join(p.dir, 'compose.yaml'), 'utf8')
    writeFileSync(join(p.dir, 'compose.yaml'), `${compose}\n  oops: [unclosed\n`)
    try {
      const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'bad-yaml' }) })
      const err = expectOneError(run, /compose config failed/)
      expect(err).toMatch(/exit \d+/)
      expect(err).toMatch(/yaml|mapping|parse|unclosed/i)
      expect(serviceContainer(p)).toBe(cid)
      expect(lockLeft(p)).toEqual([])
    } finally {
      writeFileSync(join(p.dir, 'compose.yaml'), compose)
    }
  })
})

describe('faults', () => {
  let p: Project
  let dockerfile: string
  beforeAll(async () => {
    p = await makeProject('hfault')
    dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    expectExit(await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'f-1' }) }), 'zero')
  })
  afterAll(() => removeProject(p))

  test('the SSH connection cut during a slow rebuild: clear error, the detached rebuild finishes, nothing left behind', async () => {
    // A build step that runs for every new revision (REVISION busts the cache) and takes 15 s:
    // long enough, even on a loaded machine, that the next deploy finds it still running.
    // A nonce of its own: BuildKit's cache is shared by every project on the engine, so an
    // earlier run of this test would otherwise leave the step CACHED.
    const nonce = `${process.pid}-${Date.now()}`
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}RUN echo "building $APP_REVISION ${nonce}" && sleep 15\n`)
    const started = startAction({ ...sshInputs(), ...projectInputs(p, { ref: 'cut-1' }) })
    // Cut once the slow step itself runs (BuildKit prints its echo), with ~13 s of it to go.
    await started.waitFor(/building cut-1/)
    await sleep(1500)
    // Kill every sshd process serving this file's sshd: the master connection and its sessions.
    const children = execFileSync('pgrep', ['-P', String(sshd().pid)], { encoding: 'utf8' }).split('\n').filter(Boolean)
    expect(children.length).toBeGreaterThan(0)
    for (const pid of children) process.kill(Number(pid), 'SIGKILL')
    const run = await started.done
    // eslint-disable-next-line no-console
    console.log(expectOneError(run, /rebuild: the ssh connection to root@127\.0\.0\.1:\d+ failed \(exit 255\)\. The compose command goes on, detached/))
    expect(run.outputs.verdict).toBe('error')
    expect(run.outputs.verified).toBe('false')
    expect(readdirSync(run.runnerTemp)).toEqual([])
    // At once, the next deploy: the cut deploy's lock is gone, but its compose command still
    // runs, detached; the next one waits for it instead of running compose alongside.
    const again = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'cut-2', 'verify-expect': 'cut-2' }) })
    expectExit(again, 'zero')
    expect(again.outputs.verdict).toBe('fresh')
    expect(again.stdout).toMatch(/waiting for the deploy lock .*held by a compose command that an earlier deploy left running/)
    // The cut deploy's rebuild finished first: its image is what the next deploy found running.
    expect(docker('image', 'inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', again.outputs['previous-image-id'])).toContain('APP_REVISION=cut-1')
    expect(running(serviceContainer(p)) && revisionOf(serviceContainer(p)) === 'cut-2').toBe(true)
    expect(await waitUnlocked(p, 30_000)).toEqual([])
    expect(overridesOf('cut-1')).toEqual([])
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
  })

  test('a container that crashes at start is rolled back; the previous image serves again', async () => {
    const before = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'good-2', 'verify-expect': 'good-2' }) })
    expectExit(before, 'zero')
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}CMD ["python3", "-c", "import sys; print('crashing on purpose'); print('::error::injected-by-app'); print('::add-mask::version'); sys.exit(3)"]\n`)
    try {
      const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'crash-1', 'health-timeout': '20' }) })
      expectOneError(run, /verdict unhealthy: probe health failed/)
      expect(run.outputs.verdict).toBe('unhealthy')
      expect(run.outputs['rolled-back']).toBe('true')
      // The report shows why the new container failed, not the rolled-back one's healthy start,
      // and the app's "::error::" line is shown as text, not obeyed.
      const failedLogs = run.stdout.slice(run.stdout.indexOf("::group::report: last 50 lines of the failed container's logs"))
      expect(failedLogs).toMatch(/^[^]*crashing on purpose[^]*::endgroup::/)
      expect(run.stdout).toContain('::error::injected-by-app')
      const cid = serviceContainer(p)
      expect(running(cid)).toBe(true)
      expect(docker('inspect', '--format', '{{.Image}}', cid)).toBe(before.outputs['image-id'])
      expect(JSON.parse((await httpGet(p.url)).body).revision).toBe('good-2')
      expect(lockLeft(p)).toEqual([])
    } finally {
      writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
    }
  })

  test('a service that never gets healthy fails at health-timeout', async () => {
    writeFileSync(
      join(p.dir, 'compose.hc.yaml'),
      'services:\n  backend:\n    healthcheck:\n      test: ["CMD", "false"]\n      interval: 1s\n      start_period: 300s\n'
    )
    const started = startAction({ ...sshInputs(), ...projectInputs(p, { ref: 'never-1', 'compose-files': 'compose.yaml\ncompose.hc.yaml', 'health-timeout': '6', rollback: 'false' }) })
    const run = await started.done
    expectOneError(run, /probe health failed: .*not healthy within 6 s/)
    expect(run.outputs.verdict).toBe('unhealthy')
    expect(run.outputs['rolled-back']).toBe('false')
    const verifyStart = started.lines.find(l => l.text.startsWith('::group::verify'))?.at ?? 0
    const verifyEnd = started.lines.find(l => l.at >= verifyStart && /^verify (done|failed)|^fail +health/.test(l.text))?.at ?? 0
    const seconds = (verifyEnd - verifyStart) / 1000
    expect(seconds).toBeGreaterThanOrEqual(5)
    expect(seconds).toBeLessThan(6 + 8)
    expect(probe(run, 'health').verdict).toBe('fail')
    expect(running(serviceContainer(p))).toBe(true)
    expect(lockLeft(p)).toEqual([])
  })

  test('a read-only source dir during purge: a warning with the paths, the deploy goes on, the bytecode probe decides', async () => {
    const cid = serviceContainer(p)
    const src = join(p.dir, 'src')
    // An orphan that the purge cannot delete, not even as root, and that the build copies into
    // the image: the bytecode probe finds it there.
    execFileSync('mkdir', ['-p', join(src, 'app/__pycache__')])
    writeFileSync(join(src, 'app/__pycache__/gone.cpython-311.pyc'), 'old')
    execFileSync('mount', ['--bind', src, src])
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', src])
      const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'ro-1', 'stale-retries': '0' }) })
      const warning = run.stdout.split('\n').find(l => l.startsWith('::warning::purge: '))
      if (!warning) throw new Error(`expected a purge warning\n${transcript(run)}`)
      expect(warning).toContain(`could not delete 1 bytecode path(s) under ${src} on the host`)
      expect(warning).toMatch(/Read-only file system/)
      expect(warning).toContain(`${src}/app/__pycache__`)
      expect(warning).not.toContain('read-only or full?')
      // The deploy went on: recreated, and the leftover is the bytecode probe's finding.
      expect(serviceContainer(p)).not.toBe(cid)
      expect(run.outputs.verdict).toBe('stale')
      expect(probe(run, 'bytecode').verdict).toBe('fail')
      expect(probe(run, 'bytecode').reason).toContain('gone.cpython-311.pyc')
      expect(running(serviceContainer(p))).toBe(true)
      expect(lockLeft(p)).toEqual([])
    } finally {
      execFileSync('umount', [src])
      execFileSync('rm', ['-rf', join(src, 'app/__pycache__')])
    }
  })
})
