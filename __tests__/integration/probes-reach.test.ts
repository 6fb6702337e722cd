// Issue 11 (items 3, C) and issue 12 (items 1, 3b, 3c, 6): the source and bytecode probes tell
// the truth. Real sshd, Docker and compose, through the bundle; apps shaped like users' apps
// (WORKDIR /app with COPY . /app, USER nobody after compileall, a service not named backend,
// a .dockerignore, a build that generates a module, PYTHONPYCACHEPREFIX on a named volume).
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { IT_DIR } from './paths.js'
import { docker, healthTest, httpGet, makeProject, probe, projectInputs, removeProject, runAction, serviceContainer, setVersion, sshInputs, type ActionRun, type Project } from './harness.js'

useEnvironment()

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const projects: Project[] = []
// Each test's projects go when it ends: an idle container still runs its healthcheck every second.
afterEach(() => projects.splice(0).forEach(removeProject))
async function project(label: string): Promise<Project> {
  const p = await makeProject(label)
  projects.push(p)
  // A patient healthcheck: on a machine shared with other test runs, python's start-up can
  // take longer than the example's 3 s, 20 times over (health is not what these tests check).
  const compose = join(p.dir, 'compose.yaml')
  writeFileSync(compose, readFileSync(compose, 'utf8').replace('timeout: 3s', 'timeout: 10s').replace('retries: 20', 'retries: 120'))
  return p
}

const HEALTHCHECK = (): string =>
  `    healthcheck:\n      test: ${healthTest(8080, '/health')}\n      interval: 1s\n      timeout: 10s\n      retries: 60\n`

/** The project's inputs, with room for a machine shared with other test runs (health is not what these tests are about). */
const inputsOf = (p: Project, extra: Record<string, string> = {}): Record<string, string> => ({ ...sshInputs(), ...projectInputs(p, { 'health-timeout': '180', ...extra }) })

function steps(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .filter(l => l.startsWith('::group::'))
    .map(l => l.slice('::group::'.length).split(':')[0])
}

test('source-include: a changed template kept in a named volume is not compared by default, and stale with **/*.html', async () => {
  const p = await project('templates')
  mkdirSync(join(p.dir, 'src/app/templates'))
  const template = join(p.dir, 'src/app/templates/index.html')
  writeFileSync(template, '<h1>v1</h1>\n')
  // The named volume is filled from the image on its first use, then masks every later image.
  writeFileSync(join(p.dir, 'compose.templates.yaml'), 'services:\n  backend:\n    volumes:\n      - templates:/app/src/app/templates\nvolumes:\n  templates: {}\n')
  const inputs = (extra: Record<string, string> = {}): Record<string, string> => inputsOf(p, { 'compose-files': 'compose.yaml\ncompose.templates.yaml', 'stale-retries': '0', ...extra })
  expectExit(await runAction(inputs()), 'zero')

  writeFileSync(template, '<h1>v2, a new page</h1>\n')
  const byDefault = await runAction(inputs())
  expectExit(byDefault, 'zero')
  expect(byDefault.outputs.verdict).toBe('fresh')
  expect(probe(byDefault, 'source').expected).toMatch(/\(5 files on the host\)$/)

  // stale-retries 1: the image holds the new page and the volume masks it, so no heal is tried.
  const withHtml = await runAction(inputs({ 'source-include': '**/*.py\n**/*.html\nstatic/**', 'stale-retries': '1' }))
  expectExit(withHtml, 'non-zero')
  expect(withHtml.outputs.verdict).toBe('stale')
  const source = probe(withHtml, 'source')
  expect(source.verdict).toBe('fail')
  expect(source.reason).toContain("a mount masks the image's files: the image holds the host's version of every differing file, but the container sees /app/src/app/templates over them")
  expect(steps(withHtml)).not.toContain('heal')
  expect(source.reason).toContain('content differs: app/templates/index.html')
  expect(source.expected).toMatch(/\(6 files on the host\)$/)
  // A pattern that matches nothing is a warning in the evidence, not an error.
  expect(source.reason).toContain('warning: source-include pattern "static/**" matches no file under src on the host')
  // Indeed the old page is what the container has.
  expect(docker('exec', serviceContainer(p), 'cat', '/app/src/app/templates/index.html')).toBe('<h1>v1</h1>')
})

test('a heal that can heal: a same-size edit with its mtime kept is fresh after the no-cache rebuild (BuildKit sends only files whose metadata changed)', async () => {
  const p = await project('keptmtime')
  // Same size, same mtime: what a reproducible build or a careful copy leaves behind. A whole
  // second, so that setting it again restores it to the nanosecond.
  const file = join(p.dir, 'src/app/version.py')
  const fixed = new Date('2024-01-01T00:00:00Z')
  utimesSync(file, fixed, fixed)
  expectExit(await runAction(inputsOf(p)), 'zero')
  const size = statSync(file).size
  setVersion(p, '9')
  expect(statSync(file).size).toBe(size)
  utimesSync(file, fixed, fixed)
  const run = await runAction(inputsOf(p, { 'stale-retries': '1' }))
  expectExit(run, 'zero')
  expect(run.outputs.verdict).toBe('fresh')
  expect(steps(run)).toContain('heal')
  expect(run.stdout).toContain("pruned the builder's cached build contexts")
  expect(JSON.parse((await httpGet(p.url)).body).version).toBe('9')
})

test('a source-dir missing on the target is refused before anything changes; source-dir "" turns source and bytecode off', async () => {
  const p = await project('nosrcdir')
  const first = await runAction(inputsOf(p))
  expectExit(first, 'zero')
  const cid = first.outputs['container-id']

  const wrong = await runAction(inputsOf(p, { 'source-dir': 'app' }))
  expectExit(wrong, 'non-zero')
  expect(wrong.outputs.verdict).toBe('error')
  expect(errors(wrong)).toHaveLength(1)
  expect(errors(wrong)[0]).toContain('input source-dir: "app" no such directory in project-dir')
  // The message gives the facts to choose from: the build context and the directories there.
  expect(errors(wrong)[0]).toContain("the service's build context is .; its directories: proxy, src.")
  expect(errors(wrong)[0]).toContain("or to '' to turn the source and bytecode probes off")
  expect(steps(wrong)).not.toContain('snapshot')
  expect(serviceContainer(p)).toBe(cid)
  expect(docker('inspect', '--format', '{{.State.Running}}', cid)).toBe('true')

  const off = await runAction(inputsOf(p, { 'source-dir': '' }))
  expectExit(off, 'zero')
  expect(off.outputs.verdict).toBe('fresh')
  expect(probe(off, 'source')).toMatchObject({ verdict: 'skip', reason: 'source-dir empty' })
  expect(probe(off, 'bytecode')).toMatchObject({ verdict: 'skip', reason: 'source-dir empty' })
})

test('a container-source-dir missing in the container: verdict error after a first deploy, then refused before the next deploy touches the running container', async () => {
  const p = await project('nocsd')
  const inputs = inputsOf(p, { 'container-source-dir': '/srv/src' })
  const first = await runAction(inputs)
  expectExit(first, 'non-zero')
  expect(first.outputs.verdict).toBe('error')
  expect(first.outputs.verified).toBe('false')
  const source = probe(first, 'source')
  expect(source.verdict).toBe('fail')
  expect(source.reason).toContain('container-source-dir /srv/src does not exist in the container (a configuration error)')
  // Suggestions from facts: the image's WORKDIR, where the build context puts source-dir.
  expect(source.reason).toContain("the image's WORKDIR is /app, and source-dir is src in the service's build context; of the likely places, these exist in the container: /app/src /app")
  expect(probe(first, 'bytecode').verdict).toBe('fail')
  expect(first.stdout).not.toContain('::group::heal')
  expect(first.outputs['rolled-back']).toBe('false')
  expect(errors(first)[0]).toContain('probe source could not run: container-source-dir /srv/src does not exist')
  const cid = serviceContainer(p)

  const again = await runAction(inputs)
  expectExit(again, 'non-zero')
  expect(again.outputs.verdict).toBe('error')
  expect(errors(again)[0]).toContain('input container-source-dir: "/srv/src" does not exist in the running container')
  // The running container lacks it, so the new image is checked (in a one-off container) before
  // the switch: it may be where a changed Dockerfile copies the source (hardening-hostile).
  expect(errors(again)[0]).toContain('nor in the new image (checked before the switch: the running container was not touched and still serves)')
  expect(errors(again)[0]).toContain('in the new image, WORKDIR is /app and these likely places exist: /app/src /app')
  expect(again.stdout).toContain('the new image is checked for it before the running container is touched')
  expect(serviceContainer(p)).toBe(cid)
  expect(docker('inspect', '--format', '{{.State.Running}}', cid)).toBe('true')
})

/**
 * A user's app: service "web", WORKDIR /app with COPY . /app, a .dockerignore that leaves out
 * tests/, a module the build generates, bytecode compiled at build time, USER nobody.
 */
function userApp(p: Project): void {
  rmSync(join(p.dir, 'src'), { recursive: true })
  rmSync(join(p.dir, 'compose.yaml'))
  cpSync(join(ROOT, 'examples/app/src/app'), join(p.dir, 'app'), { recursive: true, filter: src => !src.includes('__pycache__') })
  mkdirSync(join(p.dir, 'tests'))
  writeFileSync(join(p.dir, 'tests/test_version.py'), 'from app.version import VERSION\n\n\ndef test_version():\n    assert VERSION\n')
  writeFileSync(join(p.dir, '.dockerignore'), '# not shipped\ntests\n**/__pycache__\n.env\n')
  writeFileSync(
    join(p.dir, 'Dockerfile'),
    [
      'ARG BASE_IMAGE=python:3.12-slim',
      'FROM ${BASE_IMAGE}',
      'WORKDIR /app',
      'COPY . /app',
      'RUN echo "REVISION = 1" > app/_build.py && python3 -m compileall -q /app',
      'USER nobody',
      'CMD ["python3", "-m", "app.server"]',
      ''
    ].join('\n')
  )
  writeFileSync(
    join(p.dir, 'compose.yaml'),
    `services:\n  web:\n    build:\n      context: .\n      args:\n        BASE_IMAGE: \${BASE_IMAGE}\n    ports: ["127.0.0.1:\${APP_PORT}:8080"]\n${HEALTHCHECK()}`
  )
}

describe.each(['docker compose', 'docker-compose'])('files made by the build and .dockerignore (%s)', compose => {
  test('a generated module and a .dockerignore\'d tests/ are fresh; a file only in a mount is not', async () => {
    const p = await project(`userapp-${compose.replace(' ', '')}`)
    userApp(p)
    const inputs = (extra: Record<string, string> = {}): Record<string, string> => inputsOf(p, { service: 'web', 'compose-command': compose, 'source-dir': '.', 'container-source-dir': '/app', 'stale-retries': '0', ...extra })
    const run = await runAction(inputs())
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    const source = probe(run, 'source')
    expect(source.verdict).toBe('pass')
    // tests/test_version.py is on the host only, but the build context leaves it out.
    expect(source.expected).toMatch(/\(5 files on the host\)$/)
    expect(source.found).toMatch(/\(5 files in the container, and 1 made by the build\)$/)
    expect(source.reason).toBe("made by the build (only in the container, in the image's own layers, not in a mount): app/_build.py")
    // compileall's bytecode matches its source.
    expect(probe(run, 'bytecode').found).toMatch(/^[1-9]\d* \.pyc checked, all match their source$/)

    // A file only in the container that lies in a mount was not made by this build: stale, with
    // the source-exclude hint. (purge: false: purging the root-owned bytecode of a USER nobody
    // container is another item.)
    const extra = mkdtempSync(join(IT_DIR, 'extra-'))
    writeFileSync(join(extra, 'leftover.py'), 'X = 1\n')
    chmodSync(extra, 0o755)
    writeFileSync(join(p.dir, 'compose.extra.yaml'), `services:\n  web:\n    volumes:\n      - ${extra}:/app/extra:ro\n`)
    const mounted = await runAction(inputs({ 'compose-files': 'compose.yaml\ncompose.extra.yaml', purge: 'false' }))
    expectExit(mounted, 'non-zero')
    expect(mounted.outputs.verdict).toBe('stale')
    const stale = probe(mounted, 'source')
    expect(stale.reason).toContain('only in container: extra/leftover.py')
    expect(stale.reason).toContain('can be left out with source-exclude (globs, one per line, relative to source-dir), e.g. "extra/**"')
  })
})

test('PYTHONPYCACHEPREFIX on a named volume: a same-size edit with fixed mtimes is caught by bytecode (purge: false)', async () => {
  const p = await project('pycprefix')
  // Reproducible-build mtimes: every build stamps the same time on the sources.
  writeFileSync(
    join(p.dir, 'Dockerfile'),
    [
      'ARG BASE_IMAGE=python:3.12-slim',
      'FROM ${BASE_IMAGE}',
      'ENV PYTHONUNBUFFERED=1 PYTHONPATH=/app/src PYTHONPYCACHEPREFIX=/pycache',
      'WORKDIR /app',
      'COPY src/ /app/src/',
      'RUN find /app/src -exec touch -h -d @1700000000 {} +',
      'CMD ["python3", "-m", "app.server"]',
      ''
    ].join('\n')
  )
  writeFileSync(join(p.dir, 'compose.pycache.yaml'), 'services:\n  backend:\n    volumes:\n      - pycache:/pycache\nvolumes:\n  pycache: {}\n')
  const inputs = inputsOf(p, { 'compose-files': 'compose.yaml\ncompose.pycache.yaml', purge: 'false', 'stale-retries': '0' })
  const first = await runAction(inputs)
  expectExit(first, 'zero')
  expect(probe(first, 'bytecode').verdict).toBe('pass')

  setVersion(p, '2')
  const run = await runAction(inputs)
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('stale')
  expect(probe(run, 'source').verdict).toBe('pass')
  const bytecode = probe(run, 'bytecode')
  expect(bytecode.verdict).toBe('fail')
  expect(bytecode.reason).toMatch(/stale: \/pycache\/app\/src\/app\/version\.cpython-3\d+\.pyc \(header matches the source's mtime and size, but the code differs/)
  // And indeed the app serves the old code.
  expect(JSON.parse((await httpGet(p.url)).body).version).toBe('1')
})

test('a .pyc checker that crashes (python3 exits 1) is a failed bytecode probe with its error, never a pass', async () => {
  const p = await project('pycrash')
  // python3 is a wrapper that dies as an out-of-memory kill would; the app runs the real one.
  writeFileSync(
    join(p.dir, 'Dockerfile'),
    [
      'ARG BASE_IMAGE=python:3.12-slim',
      'FROM ${BASE_IMAGE}',
      'ENV PYTHONUNBUFFERED=1 PYTHONPATH=/app/src',
      'RUN ln -s "$(readlink -f "$(command -v python3)")" /usr/local/bin/realpython && rm -f /usr/local/bin/python3 && printf \'#!/bin/sh\\necho "python3: Killed (out of memory)" >&2\\nexit 1\\n\' >/usr/local/bin/python3 && chmod +x /usr/local/bin/python3',
      'WORKDIR /app',
      'COPY src/ /app/src/',
      'CMD ["realpython", "-m", "app.server"]',
      ''
    ].join('\n')
  )
  writeFileSync(
    join(p.dir, 'compose.yaml'),
    `services:\n  backend:\n    build:\n      context: .\n      args:\n        BASE_IMAGE: \${BASE_IMAGE}\n    ports: ["127.0.0.1:\${APP_PORT}:8080"]\n${HEALTHCHECK()}`
  )
  const run = await runAction(inputsOf(p))
  expectExit(run, 'non-zero')
  expect(run.outputs.verdict).toBe('error')
  const bytecode = probe(run, 'bytecode')
  expect(bytecode.verdict).toBe('fail')
  expect(bytecode.reason).toMatch(/^the \.pyc checker \(\/usr\/local\/bin\/python3 -I -B\) did not finish in the container: exit 1: python3: Killed \(out of memory\)/)
  expect(probe(run, 'source').verdict).toBe('pass')
  expect(run.stdout).not.toContain('::group::heal')
  expect(run.outputs['rolled-back']).toBe('false')
  expect(errors(run)[0]).toContain('probe bytecode could not run: the .pyc checker')
})
