// Issue 15: strategy: start-first against a real sshd, Docker, compose v2 and v1, and an nginx
// reverse proxy that resolves the service by name (examples/app/compose.start-first.yaml): a
// bounded load loop through the proxy (loopback only) before, during and after each deploy
// measures what users would see. Zero failed requests; a stale or unhealthy new container never
// serves; the refusals change nothing; a new container that fails only the public probe after the
// cutover is rolled back as with recreate.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, probe, projectInputs, removeProject, runAction, setVersion, sshInputs, type ActionRun, type Project } from './harness.js'
import { SF, deployUnderLoad, failed, proxiedProject, serviceContainers, type Sample } from './start-first-helpers.js'

useEnvironment()

describe.each(['docker compose', 'docker-compose'])('strategy: start-first with compose %s', compose => {
  let p: Project
  let first: ActionRun
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...sshInputs(),
    ...projectInputs(p, { 'compose-command': compose, 'compose-files': SF, strategy: 'start-first', 'stop-timeout': '5', ...extra })
  })
  beforeAll(async () => {
    p = await proxiedProject(`sf-${compose.replace(' ', '')}`, compose)
    // A first deploy: nothing runs yet, so it recreates as strategy: recreate does.
    first = await runAction(inputs({ ref: 'rev-1', 'verify-expect': '"version": "1"' }))
  })
  afterAll(() => removeProject(p))

  test('a first deploy (no old container) works like recreate', () => {
    expectExit(first, 'zero')
    expect(first.outputs.verdict).toBe('fresh')
    expect(first.stdout).toContain('no running container of service backend: nothing to keep serving')
    expect(serviceContainers(p)).toEqual([first.outputs['container-id']])
  })

  test('zero downtime through nginx: every request succeeds, every one after the deploy gets the new version; one container is left', async () => {
    setVersion(p, '2')
    const { run, samples, started, ended } = await deployUnderLoad(p, inputs({ ref: 'rev-2', 'verify-expect': '"version": "2"' }))
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(failed(samples)).toEqual([])
    expect(samples.filter(s => s.at < started).every(s => s.version === '1')).toBe(true)
    const after = samples.filter(s => s.at > ended)
    expect(after.length).toBeGreaterThanOrEqual(10)
    expect(after.every(s => s.version === '2')).toBe(true)
    // The load covered the switch: old answers during the deploy, then new ones.
    const during = samples.filter(s => s.at >= started && s.at <= ended).map(s => s.version)
    expect(during).toContain('1')
    expect(during).toContain('2')
    // The probes ran on the new container before the old one stopped; the public http probe after.
    expect(probe(run, 'recreated').verdict).toBe('pass')
    expect(probe(run, 'http')).toMatchObject({ verdict: 'pass', found: expect.stringContaining('"version": "2"') })
    expect(serviceContainers(p)).toEqual([run.outputs['container-id']])
    expect(docker('inspect', '--format', '{{.State.Running}}', run.outputs['container-id'])).toBe('true')
    expect(run.summary).toMatch(/\| cutover \| ✅ ok \| [\d.]+ s \| old [0-9a-f]{12} → new [0-9a-f]{12}; named in [\d.]+ s, old drained, stopped and removed in [\d.]+ s \|/)
    expect(run.stdout.indexOf('::group::verify: probes')).toBeLessThan(run.stdout.indexOf('::group::cutover: '))
    console.log(`start-first (${compose}): ${samples.length} requests, 0 failed, deploy ${((ended - started) / 1000).toFixed(1)} s`)
  })

  test('a later recreate deploy works on the container start-first left (numbering), and start-first again after it', async () => {
    setVersion(p, '3')
    // The same load during a recreate: its failures are recorded (the bench's comparison), not asserted.
    const { run: recreate, samples } = await deployUnderLoad(p, inputs({ ref: 'rev-3', strategy: 'recreate', 'verify-expect': '"version": "3"' }))
    expectExit(recreate, 'zero')
    console.log(`recreate (${compose}): ${samples.length} requests, ${failed(samples).length} failed`)
    expect(serviceContainers(p)).toEqual([recreate.outputs['container-id']])
    if (compose !== 'docker compose') return
    setVersion(p, '4')
    const again = await runAction(inputs({ ref: 'rev-4', 'verify-expect': '"version": "4"' }))
    expectExit(again, 'zero')
    expect(serviceContainers(p)).toEqual([again.outputs['container-id']])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '4', revision: 'rev-4' })
  })
})

describe('strategy: start-first: a new container that is not proven never serves (compose v2)', () => {
  let p: Project
  let good: ActionRun
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...sshInputs(),
    ...projectInputs(p, { 'compose-files': SF, strategy: 'start-first', 'stop-timeout': '5', ...extra })
  })
  beforeAll(async () => {
    p = await proxiedProject('sf-fail', 'docker compose')
    setVersion(p, 'good')
    good = await runAction(inputs({ ref: 'good' }))
    expectExit(good, 'zero')
  })
  afterAll(() => removeProject(p))

  async function oldServesAlone(samples: Sample[]): Promise<void> {
    expect(failed(samples)).toEqual([])
    expect(samples.every(s => s.version === 'good')).toBe(true)
    expect(serviceContainers(p)).toEqual([good.outputs['container-id']])
    expect(docker('inspect', '--format', '{{.State.Running}}', good.outputs['container-id'])).toBe('true')
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: 'good', revision: 'good' })
  }

  test('stale (a bind mount ships other code): the new container is removed, never cut over; the old one never stopped', async () => {
    // The new container's /app/src is a directory of old code: the source probe fails.
    mkdirSync(join(p.dir, 'stale-src/app'), { recursive: true })
    for (const f of ['__init__.py', 'server.py']) writeFileSync(join(p.dir, 'stale-src/app', f), docker('run', '--rm', good.outputs['image-id'], 'cat', `/app/src/app/${f}`) + '\n')
    writeFileSync(join(p.dir, 'stale-src/app/version.py'), 'VERSION = "stale"\n')
    writeFileSync(join(p.dir, 'stale.yaml'), 'services:\n  backend:\n    volumes:\n      - ./stale-src:/app/src:ro\n')
    setVersion(p, 'new')
    const { run, samples } = await deployUnderLoad(p, inputs({ ref: 'stale', 'compose-files': `${SF}\nstale.yaml`, 'stale-retries': '1' }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('stale')
    expect(probe(run, 'source').verdict).toBe('fail')
    // Healed as usual: here the mount masks the image, so no heal is tried (the source probe says why).
    expect(probe(run, 'source').reason).toContain("a mount masks the image's files")
    expect(run.summary).not.toMatch(/\| cutover \|/)
    expect(run.outputs['container-id']).toBe(good.outputs['container-id'])
    await oldServesAlone(samples)
  })

  test('unhealthy (crashes at start): never serves; rolled-back=true, the previous container kept serving; its logs in the report', async () => {
    writeFileSync(join(p.dir, 'src/app/version.py'), 'raise RuntimeError("broken build 4711")\n')
    const { run, samples } = await deployUnderLoad(p, inputs({ ref: 'broken', 'health-timeout': '20' }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('unhealthy')
    expect(run.outputs['rolled-back']).toBe('true')
    expect(run.outputs['container-id']).toBe(good.outputs['container-id'])
    expect(run.summary).toContain('the previous container kept serving')
    expect(errors(run).join('\n')).toContain('the previous container kept serving')
    expect(run.stdout).toMatch(/last 50 lines of the failed container's logs[\s\S]*RuntimeError: broken build 4711/)
    expect(run.summary).not.toMatch(/\| cutover \|/)
    await oldServesAlone(samples)
  })

  test('post-deploy failing in the new container (pre-deploy ran first): the old one serves on, rolled-back=true', async () => {
    setVersion(p, 'smoke-fails')
    const { run, samples } = await deployUnderLoad(p, inputs({ ref: 'smoke-fails', 'pre-deploy': 'echo "migration marker 5150"', 'post-deploy': 'echo "smoke marker 8086: checkout broken"; exit 3' }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('unhealthy')
    expect(run.outputs['rolled-back']).toBe('true')
    expect(probe(run, 'smoke')).toMatchObject({ verdict: 'fail', found: expect.stringContaining('smoke marker 8086') })
    expect(run.stdout).toContain('migration marker 5150')
    // build, pre-deploy, the new container, its probes, post-deploy in it; no cutover.
    const titles = run.stdout.split('\n').filter(l => l.startsWith('::group::')).map(l => l.slice(9).split(':')[0])
    expect(titles.filter(t => ['rebuild', 'pre-deploy', 'verify', 'post-deploy', 'cutover'].includes(t))).toEqual(['rebuild', 'pre-deploy', 'rebuild', 'verify', 'post-deploy'])
    expect(run.summary).toContain('the previous container kept serving')
    await oldServesAlone(samples)
  })

  test.each([
    ['container_name', 'named.yaml', 'services:\n  backend:\n    container_name: sf-fixed-name\n', /container_name/],
    ['a published fixed host port', 'port.yaml', 'services:\n  backend:\n    ports:\n      - "127.0.0.1:18999:8080"\n', /fixed host port 127\.0\.0\.1:18999->8080.*reverse proxy/]
  ])('refused before anything changes: %s', async (_what, file, text, why) => {
    writeFileSync(join(p.dir, file), text)
    setVersion(p, 'refused')
    // The project's images (other projects on this machine may build meanwhile): no build ran.
    const projectImages = (): string => docker('images', '-q', '--no-trunc', '--filter', `reference=${p.name}*`).split('\n').sort().join('\n')
    const images = projectImages()
    const run = await runAction(inputs({ ref: 'refused', 'compose-files': `${SF}\n${file}` }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    const error = errors(run).join('\n')
    expect(error).toContain('input strategy: "start-first"')
    expect(error).toMatch(why)
    expect(error).toContain('use strategy: recreate')
    expect(projectImages()).toBe(images)
    expect(images).not.toBe('')
    expect(run.summary).not.toMatch(/\| rebuild \|/)
    await oldServesAlone([])
  })

  // Last: the rollback replaces the container the tests above compare with.
  test('unhealthy only after the cutover (the new code listens on 127.0.0.1: its own probes pass, the proxy gets 502): rolled back as with recreate', async () => {
    setVersion(p, 'loopback-only')
    const server = join(p.dir, 'src/app/server.py')
    writeFileSync(server, readFileSync(server, 'utf8').replace('("0.0.0.0", port)', '("127.0.0.1", port)'))
    const run = await runAction(inputs({ ref: 'loopback-only', 'verify-timeout': '5' }))
    writeFileSync(server, readFileSync(server, 'utf8').replace('("127.0.0.1", port)', '("0.0.0.0", port)'))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('unhealthy')
    expect(run.outputs['rolled-back']).toBe('true')
    // Proven inside the container, then cut over; the public probe through the proxy failed.
    expect(run.summary).toMatch(/\| cutover \| ✅ ok \|/)
    expect(probe(run, 'health').verdict).toBe('pass')
    expect(probe(run, 'source').verdict).toBe('pass')
    expect(probe(run, 'http')).toMatchObject({ verdict: 'fail' })
    expect(run.stdout.indexOf('::group::cutover: ')).toBeLessThan(run.stdout.indexOf('::group::rollback'))
    // The previous image serves again through the proxy, one container of the service.
    const left = serviceContainers(p)
    expect(left).toHaveLength(1)
    expect(docker('inspect', '--format', '{{.Image}}', left[0])).toBe(good.outputs['image-id'])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: 'good', revision: 'good' })
  })
})
