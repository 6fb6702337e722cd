// Issue 15, start-first on a user-shaped app (a real sample app found a false unhealthy that
// every fixture with a healthcheck hid): a service not named backend, no healthcheck, USER nobody,
// read_only, WORKDIR /app with COPY . ., that reaches a database-style service by name while it
// is probed before the cutover; compose v2 and v1 (__tests__/fixtures/real-apps/start-first-db).
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, probe, projectInputs, removeProject, runAction, sshInputs, type Project } from './harness.js'
import { IT_DIR, baseImage, nginxImage } from './paths.js'
import { freePort } from './sshd.js'
import { deployUnderLoad, failed, serviceContainers, startProxy } from './start-first-helpers.js'

useEnvironment()

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const FIXTURES = join(ROOT, '__tests__/fixtures/real-apps')

describe.each(['docker compose', 'docker-compose'])('strategy: start-first on a user-shaped app (web, no healthcheck, USER nobody, read_only, COPY . ., needs db by name), compose %s', compose => {
  let p: Project
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...sshInputs(),
    ...projectInputs(p, {
      service: 'web',
      'compose-command': compose,
      'source-dir': '.',
      'container-source-dir': '/app',
      strategy: 'start-first',
      'stop-timeout': '5',
      // Inside the new container, before the cutover: its answer needs db, reached by name.
      'verify-from': 'container',
      'verify-url': 'http://127.0.0.1:8080/version',
      ...extra
    })
  })
  beforeAll(async () => {
    const dir = mkdtempSync(join(IT_DIR, `sf-app-${compose.replace(' ', '')}-`))
    cpSync(join(FIXTURES, 'start-first-db'), dir, { recursive: true })
    cpSync(join(FIXTURES, 'app'), join(dir, 'app'), { recursive: true, filter: src => !src.includes('__pycache__') })
    const port = await freePort()
    const name = `fdit-sf-app-${compose.replace(' ', '')}-${process.pid}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')
    writeFileSync(join(dir, '.env'), `BASE_IMAGE=${baseImage()}\nAPP_PORT=${port}\nNGINX_IMAGE=${nginxImage()}\n`)
    p = { dir, name, port, url: `http://127.0.0.1:${port}/version` }
    startProxy(p, compose, 'compose.yaml')
  })
  afterAll(() => {
    removeProject(p)
    for (const c of docker('ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${p.name}`).split('\n').filter(Boolean)) docker('rm', '-f', '-v', c)
  })

  test('a first deploy starts db; a start-first deploy of a code change under load: fresh, 0 failed requests, db untouched, one web container', async () => {
    const first = await runAction(inputs({ ref: 'app-1', 'verify-expect': '"version": "1"' }))
    expectExit(first, 'zero')
    expect(first.outputs.verdict).toBe('fresh')
    const db = serviceContainers(p, 'db')
    expect(db).toHaveLength(1)
    const dbStarted = docker('inspect', '--format', '{{.State.StartedAt}}', db[0])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '1', revision: 'app-1', db: 'reachable' })
    writeFileSync(join(p.dir, 'app/version.py'), 'VERSION = "2"\n')
    const { run, samples, started, ended } = await deployUnderLoad(p, inputs({ ref: 'app-2', 'verify-expect': '"version": "2"' }))
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(probe(run, 'health')).toMatchObject({ verdict: 'pass', found: 'running, restart count 0 steady for 5 s' })
    expect(probe(run, 'source').verdict).toBe('pass')
    // The http probe ran in the new container before the cutover, and db answered it there.
    expect(probe(run, 'http')).toMatchObject({ verdict: 'pass', found: expect.stringContaining('"db": "reachable"') })
    expect(run.stdout.indexOf('::group::verify: probes')).toBeLessThan(run.stdout.indexOf('::group::cutover: '))
    expect(failed(samples)).toEqual([])
    expect(samples.filter(s => s.at < started).every(s => s.version === '1')).toBe(true)
    const after = samples.filter(s => s.at > ended)
    expect(after.length).toBeGreaterThanOrEqual(5)
    expect(after.every(s => s.version === '2')).toBe(true)
    expect(serviceContainers(p, 'web')).toEqual([run.outputs['container-id']])
    expect(docker('inspect', '--format', '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}', run.outputs['container-id'])).toBe('nobody true')
    expect(serviceContainers(p, 'db')).toEqual(db)
    expect(docker('inspect', '--format', '{{.State.StartedAt}}', db[0])).toBe(dbStarted)
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'app-2', db: 'reachable' })
  })
})
