// Issue 11, items A, 7, C2 and 11b: deploys of apps shaped like users' apps (fixtures under
// __tests__/fixtures/real-apps: no healthcheck, a service not named backend, WORKDIR /app with
// COPY . /app, read_only, compiled bytecode with USER nobody, a bind-mounted src/, a depends_on
// database, anonymous and named volumes), over SSH with compose v2 and, where compose differs,
// v1. Every fixture of examples/app has a healthcheck, which hid item A.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, probe, projectInputs, removeProject, runAction, serviceContainer, sshd, sshInputs, type ActionRun, type Project } from './harness.js'
import { IT_DIR, baseImage } from './paths.js'
import { authorizeUser, freePort } from './sshd.js'

useEnvironment()

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const FIXTURES = join(ROOT, '__tests__/fixtures/real-apps')

interface Fixture {
  dir: string
  service: string
  /** Where the layout keeps the Python package app/ (relative to the project). */
  appDir: string
  sourceDir: string
  containerSourceDir: string
}

const WEB_NOHC: Fixture = { dir: 'web-nohc', service: 'web', appDir: 'app', sourceDir: '.', containerSourceDir: '/app' }
const READONLY: Fixture = { dir: 'readonly', service: 'api', appDir: 'src/app', sourceDir: 'src', containerSourceDir: '/app/src' }
const COMPILED_NOBODY: Fixture = { dir: 'compiled-nobody', service: 'app', appDir: 'src/app', sourceDir: 'src', containerSourceDir: '/app/src' }
const BIND_SRC: Fixture = { dir: 'bind-src', service: 'site', appDir: 'src/app', sourceDir: 'src', containerSourceDir: '/app/src' }
const WITH_DB: Fixture = { dir: 'with-db', service: 'web', appDir: 'src/app', sourceDir: 'src', containerSourceDir: '/app/src' }
const VOLUMES: Fixture = { dir: 'volumes', service: 'web', appDir: 'app', sourceDir: '.', containerSourceDir: '/app' }

let counter = 0

/** A copy of the fixture with the app in its place, its own compose project name and port. */
async function makeApp(f: Fixture, label: string): Promise<Project> {
  const dir = mkdtempSync(join(IT_DIR, `${label}-`))
  cpSync(join(FIXTURES, f.dir), dir, { recursive: true })
  cpSync(join(FIXTURES, 'app'), join(dir, f.appDir), { recursive: true, filter: src => !src.includes('__pycache__') })
  const port = await freePort()
  const name = `fdit-${label}-${process.pid}-${counter++}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')
  writeFileSync(join(dir, '.env'), `BASE_IMAGE=${baseImage()}\nAPP_PORT=${port}\n`)
  return { dir, name, port, url: `http://127.0.0.1:${port}/version` }
}

function setAppVersion(p: Project, f: Fixture, version: string): void {
  writeFileSync(join(p.dir, f.appDir, 'version.py'), `VERSION = ${JSON.stringify(version)}\n`)
}

function appInputs(p: Project, f: Fixture, compose: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...sshInputs(),
    ...projectInputs(p, { service: f.service, 'source-dir': f.sourceDir, 'container-source-dir': f.containerSourceDir, 'compose-command': compose, ...extra })
  }
}

/** Removes the project's containers, networks, volumes and images, also what compose's down left. */
function cleanUp(p: Project): void {
  removeProject(p)
  const label = `label=com.docker.compose.project=${p.name}`
  const rm = (kind: string[], list: string[]): void => {
    try {
      const ids = docker(...list).split('\n').filter(Boolean)
      if (ids.length) docker(...kind, ...ids)
    } catch {
      /* best effort */
    }
  }
  rm(['rm', '-f', '-v'], ['ps', '-a', '-q', '--filter', label])
  rm(['network', 'rm'], ['network', 'ls', '-q', '--filter', label])
  rm(['volume', 'rm'], ['volume', 'ls', '-q', '--filter', label])
  if (existsSync(p.dir)) execFileSync('rm', ['-rf', p.dir])
}

/** First deploy, then a redeploy after a code change: both fresh, the new code served. */
async function deployTwice(p: Project, f: Fixture, compose: string, inputs: (extra: Record<string, string>) => Record<string, string> = extra => appInputs(p, f, compose, extra)): Promise<void> {
  const first = await runAction(inputs({ ref: 'real-1', 'verify-expect': 'real-1' }))
  expectExit(first, 'zero')
  expect(first.outputs.verdict).toBe('fresh')
  setAppVersion(p, f, '2')
  const second = await runAction(inputs({ ref: 'real-2', 'verify-expect': '"version": "2"' }))
  expectExit(second, 'zero')
  expect(second.outputs.verdict).toBe('fresh')
  expect(second.outputs['container-id']).not.toBe(first.outputs['container-id'])
  expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'real-2' })
}

// Item A: the state template of the health wait, on a container without a healthcheck, with the
// docker CLI that PATH puts first and with Debian's. The old {{.Id}} made the CLI fall back to
// the raw JSON, where {{.State.Health}} is "map has no entry for key Health": the wait said
// "container ... no longer exists" about a running container.
describe('the container state with each docker CLI', () => {
  const clis = [...new Set(['/usr/local/bin/docker', '/usr/bin/docker'].filter(existsSync))]
  let cid = ''
  beforeAll(() => {
    cid = docker('run', '-d', '--label', 'fdit=real-apps', baseImage(), 'sleep', '120')
  })
  afterAll(() => {
    if (cid) docker('rm', '-f', cid)
  })

  test.each(clis)('%s: a running container without a healthcheck passes the health wait', cli => {
    const bin = mkdtempSync(join(IT_DIR, 'cli-'))
    symlinkSync(cli, join(bin, 'docker'))
    const script = `FD_NONCE=t\n${execFileSync('cat', [join(ROOT, 'src/scripts/lib.sh')], { encoding: 'utf8' })}\nfd_wait_health "$1" 10\nprintf 'id=%s\\n' "$(printf '%s' "$FD_STATE" | cut -d $'\\x1f' -f7)"\n`
    const out = execFileSync('bash', ['-c', script, 'health', cid], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })
    expect(out).toContain('@@fd-t health pass running, restart count 0 steady for 5 s')
    expect(out).toContain(`id=${cid}`)
  })
})

describe.each([
  ['a service without a healthcheck named web, WORKDIR /app and COPY . /app', 'docker compose', WEB_NOHC],
  ['a service without a healthcheck named web, WORKDIR /app and COPY . /app', 'docker-compose', WEB_NOHC],
  ['a read_only service', 'docker compose', READONLY],
  ['an image that compiled its bytecode and runs as USER nobody', 'docker compose', COMPILED_NOBODY],
  ['src/ bind-mounted, the app (root) writing __pycache__ into it', 'docker compose', BIND_SRC]
])('%s, compose %s', (_what, compose, f) => {
  // The redeploy once failed at the purge (issue 11 item B): read_only: mktemp in the container;
  // USER nobody: rm of the root-owned __pycache__ that compileall made ("Permission denied").
  const redeployTest = test
  let p: Project
  beforeAll(async () => {
    p = await makeApp(f, `real-${f.dir}-${compose.replace(' ', '')}`)
  })
  afterAll(() => cleanUp(p))

  let first: ActionRun

  test('a first deploy is fresh', async () => {
    first = await runAction(appInputs(p, f, compose, { ref: 'real-1', 'verify-expect': 'real-1' }))
    expectExit(first, 'zero')
    expect(first.outputs.verdict).toBe('fresh')
    expect(probe(first, 'health').found).toMatch(/^(running, restart count 0 steady for 5 s|healthy)$/)
    expect(probe(first, 'source').verdict).toBe('pass')
    if (f === BIND_SRC) {
      // The layout of the post-mortem: the app wrote its bytecode into the host's src/.
      expect(readdirSync(join(p.dir, 'src/app'))).toContain('__pycache__')
      expect(statSync(join(p.dir, 'src/app/__pycache__')).uid).toBe(0)
    }
  })

  redeployTest('a redeploy with a code change is fresh', async () => {
    setAppVersion(p, f, '2')
    const second = await runAction(appInputs(p, f, compose, { ref: 'real-2', 'verify-expect': '"version": "2"' }))
    expectExit(second, 'zero')
    expect(second.outputs.verdict).toBe('fresh')
    expect(second.outputs['container-id']).not.toBe(first.outputs['container-id'])
    expect(second.outputs['container-id']).toBe(serviceContainer(p, f.service))
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'real-2' })
  })
})

// Issue 11 item B / 13 with the README's advice: a non-root deploy user in the docker group, the
// app (root in its container) writing root-owned __pycache__ into the bind-mounted src/.
// KNOWN BUGS (other helpers' items; the lead turns this into a plain `test` once merged):
//  - lock (item 13): ${TMPDIR:-/tmp}/fresh-deploy-locks, left 0700 by an earlier root deploy:
//    "Permission denied" at the lock;
//  - purge (item B): the deploy user cannot delete the root-owned __pycache__ on the host.
describe('a non-root deploy user in the docker group, src/ bind-mounted', () => {
  const user = 'fdit-deployer'
  let p: Project
  beforeAll(async () => {
    try {
      execFileSync('id', [user], { stdio: 'pipe' })
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', '-G', 'docker', user])
    }
    // No password, but not locked: sshd (UsePAM no) refuses a locked account even with a key.
    execFileSync('usermod', ['-p', '*', user])
    authorizeUser(sshd(), user)
    p = await makeApp(BIND_SRC, 'real-nonroot')
    execFileSync('chown', ['-R', `${user}:`, p.dir])
  })
  afterAll(() => cleanUp(p))

  test('a first deploy and a redeploy with a code change are fresh', async () => {
    await deployTwice(p, BIND_SRC, 'docker compose', extra => ({ ...appInputs(p, BIND_SRC, 'docker compose', extra), username: user }))
  })
})

// Item C2: --no-deps never started the service's dependencies: web, which needs db at start-up,
// exited on its first deploy (unhealthy, nothing naming db).
describe.each(['docker compose', 'docker-compose'])('a service with a depends_on database, compose %s', compose => {
  let p: Project
  beforeAll(async () => {
    p = await makeApp(WITH_DB, `real-deps-${compose.replace(' ', '')}`)
  })
  afterAll(() => cleanUp(p))

  test('the first deploy starts the database first; a redeploy leaves the running database alone', async () => {
    const first = await runAction(appInputs(p, WITH_DB, compose, { ref: 'deps-1', 'verify-expect': 'deps-1', 'health-timeout': '180' }))
    expectExit(first, 'zero')
    expect(first.outputs.verdict).toBe('fresh')
    const db = serviceContainer(p, 'db')
    expect(docker('inspect', '--format', '{{.State.Health.Status}}', db)).toBe('healthy')
    const dbStarted = docker('inspect', '--format', '{{.State.StartedAt}}', db)
    expect(first.stdout).toContain('up -d --no-recreate db')

    setAppVersion(p, WITH_DB, '2')
    const second = await runAction(appInputs(p, WITH_DB, compose, { ref: 'deps-2', 'verify-expect': '"version": "2"', 'health-timeout': '180' }))
    expectExit(second, 'zero')
    expect(second.outputs.verdict).toBe('fresh')
    expect(serviceContainer(p, 'db')).toBe(db)
    expect(docker('inspect', '--format', '{{.State.StartedAt}}', db)).toBe(dbStarted)
    expect(second.stdout).not.toContain('up -d --no-recreate')
  })

  if (compose === 'docker compose') {
    test('a dependency that does not come up is an error naming it, and the service is left alone', async () => {
      const web = serviceContainer(p, 'web')
      docker('rm', '-f', serviceContainer(p, 'db'))
      const run = await runAction(appInputs(p, WITH_DB, compose, { ref: 'deps-3', 'compose-files': 'compose.yaml\ncompose.baddb.yaml', 'health-timeout': '10' }))
      expectExit(run, 'non-zero')
      expect(run.outputs.verdict).toBe('error')
      expect(run.stdout).toMatch(/dependency db of service web did not come up \(depends_on condition service_healthy\)/)
      expect(serviceContainer(p, 'web')).toBe(web)
    })
  }
})

/** The names of the volumes mounted by a container, by kind. */
function volumesOf(cid: string): string[] {
  return docker('inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', cid).split(' ').filter(Boolean)
}

// Item 11b: --renew-anon-volumes left the replaced container's anonymous volumes behind, one per
// VOLUME per deploy, which `down -v` no longer finds.
describe.each(['docker compose', 'docker-compose'])('anonymous and named volumes, compose %s', compose => {
  let p: Project
  beforeAll(async () => {
    p = await makeApp(VOLUMES, `real-vol-${compose.replace(' ', '')}`)
  })
  afterAll(() => cleanUp(p))

  test('after several deploys no anonymous volume of a replaced container is left; the named volume keeps its data', async () => {
    const seen = new Set<string>()
    let cid = ''
    for (let i = 1; i <= 3; i++) {
      setAppVersion(p, VOLUMES, String(i))
      const run = await runAction(appInputs(p, VOLUMES, compose, { ref: `vol-${i}`, 'verify-expect': `"version": "${i}"` }))
      expectExit(run, 'zero')
      expect(run.outputs.verdict).toBe('fresh')
      cid = run.outputs['container-id']
      for (const v of volumesOf(cid)) seen.add(v)
      if (i === 1) docker('exec', cid, 'sh', '-c', 'echo kept >/data/marker')
    }
    const current = volumesOf(cid)
    const named = current.filter(v => !/^[0-9a-f]{64}$/.test(v))
    expect(named).toHaveLength(1)
    expect(current.filter(v => /^[0-9a-f]{64}$/.test(v))).toHaveLength(2)
    const left = docker('volume', 'ls', '-q').split('\n')
    const leaked = [...seen].filter(v => !current.includes(v) && left.includes(v))
    expect(leaked).toEqual([])
    expect(seen.size).toBe(1 + 2 * 3)
    expect(docker('exec', cid, 'cat', '/data/marker')).toBe('kept')
  })
})

// The container-source-dir check in the new image (a one-off container of it, entrypoint
// bypassed) with the shape that hardened services have: read_only and a non-root USER. The
// running container lacks the dir (an earlier Dockerfile put the source elsewhere); the new one
// has it: the deploy goes on and is fresh.
describe('a Dockerfile that moves the source to container-source-dir: read_only, USER nobody', () => {
  let p: Project
  const dockerfile = (dir: string): string =>
    `ARG BASE_IMAGE=python:3.12-slim\nFROM \${BASE_IMAGE}\nARG REVISION=dev\nENV APP_REVISION=\${REVISION} PYTHONUNBUFFERED=1 PYTHONPATH=${dir}\nWORKDIR /app\nCOPY src/ ${dir}/\nUSER nobody\nCMD ["python3", "-m", "app.server"]\n`
  beforeAll(async () => {
    p = await makeApp(READONLY, 'real-moved')
  })
  afterAll(() => cleanUp(p))

  test('the running container lacks /app/src, the new image has it: checked as nobody in a read-only one-off container, then fresh', async () => {
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile('/app/code'))
    const first = await runAction(appInputs(p, READONLY, 'docker compose', { ref: 'moved-1' }))
    expectExit(first, 'non-zero')
    expect(probe(first, 'source').reason).toContain('container-source-dir /app/src does not exist in the container')
    const old = serviceContainer(p, READONLY.service)

    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile('/app/src'))
    setAppVersion(p, READONLY, 'moved')
    const second = await runAction(appInputs(p, READONLY, 'docker compose', { ref: 'moved-2', 'verify-expect': '"version": "moved"' }))
    expectExit(second, 'zero')
    expect(second.stdout).toContain('the new image is checked for it before the running container is touched')
    expect(second.outputs.verdict).toBe('fresh')
    expect(second.outputs['container-id']).not.toBe(old)
    expect(docker('inspect', '--format', '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}', second.outputs['container-id'])).toBe('nobody true')
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: 'moved', revision: 'moved-2' })
  })
})
