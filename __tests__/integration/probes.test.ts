// Issue 3: the probes against real containers. Each scenario asserts the exit code, the
// verdict and the probe that decided it.
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync, utimesSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, healthTest, httpGet, makeProject, probe, projectInputs, removeProject, runAction, setVersion, sshInputs, type Project } from './harness.js'
import { baseImage } from './paths.js'

useEnvironment()

const projects: Project[] = []
// Each test's projects go when it ends: an idle container still runs its healthcheck every second.
afterEach(() => projects.splice(0).forEach(removeProject))
async function project(label: string): Promise<Project> {
  const p = await makeProject(label)
  projects.push(p)
  return p
}

test('a prebuilt image (no build:) while the host source changed is stale via source, and never rolled back', async () => {
  const p = await project('prebuilt')
  const image = `${p.name}-prebuilt:1`
  execFileSync('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${baseImage()}`, '-t', image, p.dir], { stdio: 'pipe' })
  writeFileSync(
    join(p.dir, 'compose.prebuilt.yaml'),
    `services:\n  backend:\n    image: ${image}\n    ports: ["127.0.0.1:${p.port}:8080"]\n    healthcheck:\n      test: ${healthTest(8080, '/health')}\n      interval: 1s\n      retries: 20\n`
  )
  const inputs = projectInputs(p, { 'compose-files': 'compose.prebuilt.yaml' })
  const first = await runAction({ ...sshInputs(), ...inputs })
  expectExit(first, 'zero')
  expect(probe(first, 'image').verdict).toBe('skip')
  expect(probe(first, 'source').verdict).toBe('pass')

  setVersion(p, '2')
  const run = await runAction({ ...sshInputs(), ...inputs })
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('stale')
  expect(run.outputs.verified).toBe('false')
  expect(run.outputs['rolled-back']).toBe('false')
  const source = probe(run, 'source')
  expect(source.verdict).toBe('fail')
  expect(source.reason).toContain('content differs: app/version.py')
  expect(source.expected).toMatch(/^sha256:[0-9a-f]{64} \(5 files on the host\)$/)
  // stale-retries: 1 (the default): one no-cache heal, then still stale.
  expect(run.stdout).toContain('::group::heal: no-cache rebuild 1/1')
  expect(errors(run)).toHaveLength(1)
  expect(errors(run)[0]).toMatch(/verdict stale: probe source failed/)
  expect(run.stdout).toContain('::group::report: last 50 lines of the service logs')
  expect(run.summary).toContain('❌ stale')
})

describe.each(['docker compose', 'docker-compose'])('an anonymous volume over the source dir (%s)', compose => {
  test('renew-anon-volumes: true is fresh; false with stale-retries: 0 is stale, never a silent success', async () => {
    const p = await project(`anon-${compose.replace(' ', '')}`)
    writeFileSync(join(p.dir, 'compose.volume.yaml'), 'services:\n  backend:\n    volumes:\n      - /app/src\n')
    const inputs = (extra: Record<string, string>): Record<string, string> => ({
      ...sshInputs(),
      ...projectInputs(p, { 'compose-files': 'compose.yaml\ncompose.volume.yaml', 'compose-command': compose, ...extra })
    })
    expectExit(await runAction(inputs({ 'verify-expect': '"version": "1"' })), 'zero')

    setVersion(p, '2')
    const renewed = await runAction(inputs({ 'verify-expect': '"version": "2"' }))
    expectExit(renewed, 'zero')
    expect(renewed.outputs.verdict).toBe('fresh')

    setVersion(p, '3')
    const kept = await runAction(inputs({ 'renew-anon-volumes': 'false', 'stale-retries': '0', 'verify-expect': '"version": "3"', 'verify-timeout': '3' }))
    expectExit(kept, 'non-zero')
    expect(kept.outputs.verdict).toBe('stale')
    expect(probe(kept, 'source').verdict).toBe('fail')
    expect(probe(kept, 'source').reason).toContain('content differs: app/version.py')
    expect(probe(kept, 'recreated').verdict).toBe('pass')
    expect(probe(kept, 'image').verdict).toBe('pass')
    // The old code is what runs: the volume masks the new image's files.
    expect(JSON.parse((await httpGet(p.url)).body).version).toBe('2')
    expect(kept.stdout).not.toContain('::group::heal')
  })
})

test('a stale .pyc (source changed, mtime and size kept) and an orphan .pyc in the container fail bytecode', async () => {
  const p = await project('pyc')
  // Compile version.py with the image's own python, then edit the source in place keeping its
  // size and mtime: python trusts the header and runs the old code.
  execFileSync('docker', ['run', '--rm', '-v', `${join(p.dir, 'src')}:/app/src`, baseImage(), 'python3', '-c', "import py_compile; py_compile.compile('/app/src/app/version.py')"])
  const versionPy = join(p.dir, 'src/app/version.py')
  const before = statSync(versionPy)
  writeFileSync(versionPy, 'VERSION = "7"\n')
  utimesSync(versionPy, before.atime, before.mtime)
  const cache = join(p.dir, 'src/app/__pycache__')
  const pyc = readFileSync(join(cache, execFileSync('ls', [cache], { encoding: 'utf8' }).trim()))
  mkdirSync(join(p.dir, 'src/old'), { recursive: true })
  mkdirSync(join(p.dir, 'src/old/__pycache__'))
  writeFileSync(join(p.dir, 'src/old/__pycache__/removed.cpython-311.pyc'), pyc)
  copyFileSync(join(cache, execFileSync('ls', [cache], { encoding: 'utf8' }).trim()), join(cache, 'ghost.cpython-311.pyc'))

  const run = await runAction({ ...sshInputs(), ...projectInputs(p, { purge: 'false', 'stale-retries': '0', 'verify-expect': '"version": "7"', 'verify-timeout': '3' }) })
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('stale')
  const bytecode = probe(run, 'bytecode')
  expect(bytecode.verdict).toBe('fail')
  expect(bytecode.reason).toMatch(/stale: app\/__pycache__\/version\.cpython-3\d+\.pyc \(header matches the source's mtime and size, but the code differs/)
  expect(bytecode.reason).toContain('orphan: app/__pycache__/ghost.cpython-311.pyc')
  expect(bytecode.reason).toContain('orphan: old/__pycache__/removed.cpython-311.pyc')
  expect(probe(run, 'source').verdict).toBe('pass')
  // And indeed the app runs the old code.
  expect(JSON.parse((await httpGet(p.url)).body).version).toBe('1')
})

test('new code that crashes at start is unhealthy and rolled back; the old version serves again', async () => {
  const p = await project('crash')
  const first = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'good-1', 'verify-expect': 'good-1' }) })
  expectExit(first, 'zero')
  writeFileSync(join(p.dir, 'src/app/version.py'), 'raise SystemExit("boom: broken release")\n')
  const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'bad-2', 'verify-expect': 'bad-2', 'health-timeout': '20' }) })
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('unhealthy')
  expect(run.outputs['rolled-back']).toBe('true')
  expect(run.outputs.verified).toBe('false')
  expect(probe(run, 'health').verdict).toBe('fail')
  expect(probe(run, 'health').found).toMatch(/container is exited/)
  expect(probe(run, 'source').reason).toBe('container not running')
  expect(run.outputs['image-id']).toBe(first.outputs['image-id'])
  expect(run.outputs['previous-image-id']).toBe(first.outputs['image-id'])
  expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '1', revision: 'good-1' })
  expect(errors(run)).toHaveLength(1)
  expect(errors(run)[0]).toMatch(/verdict unhealthy: probe health failed.*Rolled back: put back image sha256:/)
  expect(run.stdout).toContain('boom: broken release')
  expect(run.stdout).not.toContain('::group::heal')
  expect(run.summary).toContain('**Rolled back**')
  expect(docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', run.outputs['container-id'])).toBe('good-1')
})

test('a first deploy that crashes says no rollback was possible', async () => {
  const p = await project('crash-first')
  writeFileSync(join(p.dir, 'src/app/version.py'), 'raise SystemExit("boom")\n')
  const run = await runAction({ ...sshInputs(), ...projectInputs(p, { 'health-timeout': '20' }) })
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('unhealthy')
  expect(run.outputs['rolled-back']).toBe('false')
  expect(errors(run)[0]).toContain('no previous image: this was the first deploy of the service, so no rollback was possible')
})

test('a verify-url whose body lacks verify-expect fails http with what it got (stale)', async () => {
  const p = await project('expect')
  const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'rev-a', 'verify-expect': 'rev-b', 'verify-timeout': '3', 'stale-retries': '0' }) })
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('stale')
  const http = probe(run, 'http')
  expect(http.verdict).toBe('fail')
  // The client that fetched follows where (before: no client named).
  expect(http.found).toMatch(/^HTTP 200 after \d+ attempt\(s\) from the host \(curl\): \{"version": "1", "revision": "rev-a"\}/)
  expect(http.reason).toContain('body lacks "rev-b"')
  expect(run.outputs['rolled-back']).toBe('false')
})

test('verify-from: runner polls from the runner', async () => {
  const p = await project('runner')
  const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'rev-r', 'verify-expect': 'rev-r', 'verify-from': 'runner' }) })
  expectExit(run, 'zero')
  expect(probe(run, 'http').found).toMatch(/from the runner/)
})

test('verify: false skips every probe and says so: verdict unverified, verified=false, exit 0', async () => {
  const p = await project('noverify')
  const run = await runAction({ ...sshInputs(), ...projectInputs(p, { verify: 'false' }) })
  expectExit(run, 'zero')
  // The contract's verdict for a deploy that was not checked (it was fresh/verified=true before).
  expect(run.outputs.verdict).toBe('unverified')
  expect(run.outputs.verified).toBe('false')
  expect(run.stdout).toContain('verdict unverified: deployed, not verified (verify: false): nothing was checked')
  expect(run.summary).toContain('unverified: deployed, but nothing was checked')
  const probes = JSON.parse(run.outputs.probes) as { verdict: string; reason: string }[]
  // Seven probes since the smoke probe (post-deploy) exists.
  expect(probes).toHaveLength(7)
  expect(probes.every(x => x.verdict === 'skip' && x.reason === 'verify: false')).toBe(true)
  expect(run.stdout).toContain('verify: skipped (verify: false — no probe ran)')
  expect(run.summary).toContain('verify: false — no probe ran, nothing was checked')
})
