// Issue 11 item B and issue 12 items 3/3b: the purge never blocks a deploy, and purges what
// survives the recreate (volumes and bind mounts at, under or above container-source-dir, the
// PYTHONPYCACHEPREFIX directory on a volume), not the container's writable layer. Apps that look
// like users' apps: read_only: true, USER nobody with compiled bytecode, a named volume over
// __pycache__, host src/ bind-mounted at /app/src, a deploy user who is not root.
import { jest } from '@jest/globals'
import { execFileSync, spawn } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, makeProject, parseCommandFile, probe, projectInputs, removeProject, runAction, runnerEnvironment, serviceContainer, setVersion, sshInputs, transcript, type ActionRun, type Project } from './harness.js'
import { IT_DIR, baseImage } from './paths.js'

useEnvironment()

const DIST = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../dist/index.js')

/**
 * Replaces the example's compose file: one service of the given name, plus extra lines. On the
 * default bridge (no project network: this shared machine runs out of address pools), no
 * published port (the http probe is off: the purge is what is tested), and a trivial
 * healthcheck: on Docker 20.10 (this machine's) verify.sh's inspect template fails for a
 * container without one (State has no Health key), which is not the purge's business.
 */
function compose(p: Project, service: string, lines: string[], topLevel: string[] = []): void {
  writeFileSync(
    join(p.dir, 'compose.yaml'),
    [
      'services:',
      `  ${service}:`,
      '    build:',
      '      context: .',
      '      args:',
      '        BASE_IMAGE: ${BASE_IMAGE}',
      '    network_mode: bridge',
      '    healthcheck:',
      '      test: ["CMD", "true"]',
      '      interval: 1s',
      '      timeout: 30s',
      '      retries: 100',
      ...lines.map(l => `    ${l}`),
      ...topLevel,
      ''
    ].join('\n')
  )
}

// This machine is shared and slow at times: generous waits.
const SLOW = { 'health-timeout': '240', 'verify-url': '' }
const LONG = { timeoutMs: 1_200_000 }
jest.setTimeout(3_600_000)
const warnings = (run: ActionRun): string[] => run.stdout.split('\n').filter(l => l.startsWith('::warning'))
const purgeNote = (run: ActionRun): string => /purge done in [\d.]+ s: (.*)/.exec(run.stdout)?.[1] ?? ''
const counts = (run: ActionRun): [number, number] => {
  const m = /^(\d+) on the host, (\d+) in the container/.exec(purgeNote(run))
  if (!m) throw new Error(`no purge counts\n${transcript(run)}`)
  return [Number(m[1]), Number(m[2])]
}
const ls = (cid: string, dir: string): string[] => docker('exec', cid, 'ls', '-A', dir).split('\n').filter(Boolean)

function expectFresh(run: ActionRun): void {
  expectExit(run, 'zero')
  if (run.outputs.verdict !== 'fresh') throw new Error(`expected fresh\n${transcript(run)}`)
}

describe('read_only: true (a service named web)', () => {
  const made: Project[] = []
  afterEach(() => made.splice(0).forEach(removeProject))

  test('no .pyc anywhere: the purge needs no temporary file in the container, the deploy is fresh', async () => {
    const p = await makeProject('purge-ro0')
    made.push(p)
    compose(p, 'web', ['read_only: true'])
    const inputs = { ...sshInputs(), ...projectInputs(p, { ...SLOW, service: 'web' }) }
    expectFresh(await runAction({ ...inputs, ref: 'ro0-1' }, LONG))
    const run = await runAction({ ...inputs, ref: 'ro0-2' }, LONG)
    expectFresh(run)
    expect(run.outputs.purged).toBe('0')
    expect(purgeNote(run)).toBe(`0 on the host, 0 in the container; container: no volume or bind mount at, under or above /app/src (the recreate replaces the rest)`)
    expect(warnings(run)).toEqual([])
  })

  test('.pyc in a bind mount of src/ (written by the app): purged on the host, counted once', async () => {
    const p = await makeProject('purge-robind')
    made.push(p)
    compose(p, 'web', ['read_only: true', 'volumes:', '  - ./src:/app/src'])
    const inputs = { ...sshInputs(), ...projectInputs(p, { ...SLOW, service: 'web' }) }
    const first = await runAction({ ...inputs, ref: 'robind-1' }, LONG)
    expectFresh(first)
    // The app (root in the container) compiled its modules into the bind mount.
    const cache = join(p.dir, 'src/app/__pycache__')
    expect(existsSync(cache)).toBe(true)
    writeFileSync(join(cache, 'gone.cpython-311.pyc'), 'orphan')
    setVersion(p, '2')
    const run = await runAction({ ...inputs, ref: 'robind-2' }, LONG)
    expectFresh(run)
    // One __pycache__ on the host; the container's view of it is the same directory.
    expect(counts(run)).toEqual([1, 0])
    expect(purgeNote(run)).toContain('container: its bind mount at /app/src is source-dir on the host, purged there')
    expect(existsSync(join(cache, 'gone.cpython-311.pyc'))).toBe(false)
    expect(probe(run, 'bytecode').verdict).toBe('pass')
  })
})

describe('an image that compiles its bytecode and runs as USER nobody, a named volume over __pycache__', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('purge-nobody')
    appendFileSync(join(p.dir, 'Dockerfile'), 'RUN python3 -m compileall -q /app/src\nUSER nobody\n')
    compose(p, 'api', ['volumes:', '  - pyc:/app/src/app/__pycache__'], ['volumes:', '  pyc: {}'])
  })
  afterAll(() => removeProject(p))

  test('the volume holds the image\'s root-owned .pyc: purged as root inside the container, the deploy is fresh', async () => {
    const inputs = { ...sshInputs(), ...projectInputs(p, { ...SLOW, service: 'api' }) }
    const first = await runAction({ ...inputs, ref: 'nobody-1' }, LONG)
    expectFresh(first)
    const cid = first.outputs['container-id']
    expect(docker('exec', cid, 'id', '-un')).toBe('nobody')
    // Docker copied the image's compiled files into the new volume: root's, not nobody's.
    const before = ls(cid, '/app/src/app/__pycache__')
    expect(before.length).toBeGreaterThanOrEqual(2)
    expect(docker('exec', cid, 'stat', '-c', '%U', `/app/src/app/__pycache__/${before[0]}`)).toBe('root')
    setVersion(p, '2')
    const run = await runAction({ ...inputs, ref: 'nobody-2' }, LONG)
    expectFresh(run)
    // Walked from inside the volume: its files count, the mount point stays.
    expect(counts(run)).toEqual([0, before.length])
    expect(run.stdout).toMatch(/purging inside container [0-9a-f]{12}, as root: \/app\/src\/app\/__pycache__/)
    expect(warnings(run)).toEqual([])
  })
})

describe.each([['docker compose'], ['docker-compose']])('a named volume over __pycache__ (compose %s)', compose_ => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject(`purge-vol-${compose_.replace(' ', '')}`)
    compose(p, 'backend', ['volumes:', '  - pyc:/app/src/app/__pycache__'], ['volumes:', '  pyc: {}'])
  })
  afterAll(() => removeProject(p))

  test('stale and orphan .pyc in the volume are purged before the recreate; the writable layer is not walked', async () => {
    const inputs = { ...sshInputs(), ...projectInputs(p, { ...SLOW, 'compose-command': compose_ }) }
    const first = await runAction({ ...inputs, ref: 'vol-1' }, LONG)
    expectFresh(first)
    const cid = first.outputs['container-id']
    // The app's own compiled modules, an orphan, and (in the writable layer, which the recreate
    // replaces) a file that the purge must leave alone.
    docker('exec', cid, 'sh', '-c', 'echo x > /app/src/app/__pycache__/gone.cpython-311.pyc && mkdir -p /app/src/layer/__pycache__ && echo x > /app/src/layer/__pycache__/m.pyc')
    const inVolume = ls(cid, '/app/src/app/__pycache__')
    expect(inVolume).toContain('version.cpython-311.pyc')
    setVersion(p, '2')
    const run = await runAction({ ...inputs, ref: 'vol-2' }, LONG)
    expectFresh(run)
    expect(counts(run)).toEqual([0, inVolume.length])
    expect(run.outputs.purged).toBe(String(inVolume.length))
    const now = serviceContainer(p)
    expect(ls(now, '/app/src/app/__pycache__')).not.toContain('gone.cpython-311.pyc')
    expect(probe(run, 'bytecode').verdict).toBe('pass')
  })
})

describe('heal purges: a stale .pyc in a named volume on a first deploy', () => {
  let p: Project
  const volume = `fdit-purge-heal-${process.pid}`
  beforeAll(async () => {
    p = await makeProject('purge-heal')
    compose(p, 'backend', ['volumes:', '  - pyc:/app/src/app/__pycache__'], ['volumes:', '  pyc:', '    external: true', `    name: ${volume}`])
    // Left from an earlier life of the service: an orphan and a broken version.pyc.
    docker('volume', 'create', volume)
    docker('run', '--rm', '-v', `${volume}:/v`, baseImage(), 'sh', '-c', 'echo x > /v/gone.cpython-311.pyc && echo x > /v/old.cpython-311.pyc')
  })
  afterAll(() => {
    removeProject(p)
    try {
      docker('volume', 'rm', '-f', volume)
    } catch {
      /* best effort */
    }
  })

  test('the first verify is stale (bytecode), the heal purges the volume and ends fresh', async () => {
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ...SLOW, ref: 'heal-1', 'stale-retries': '1' }) }, LONG)
    expectFresh(run)
    expect(run.stdout).toContain('::group::heal: no-cache rebuild 1/1')
    const heal = run.stdout.slice(run.stdout.indexOf('::group::heal'))
    expect(heal).toMatch(/purge: 0 on the host, [2-9] in the container/)
    expect(heal).toContain('verdict stale (bytecode failed)')
    expect(Number(run.outputs.purged)).toBeGreaterThanOrEqual(2)
    expect(ls(serviceContainer(p), '/app/src/app/__pycache__').filter(f => f.startsWith('gone') || f.startsWith('old'))).toEqual([])
  })
})

describe('PYTHONPYCACHEPREFIX on a named volume', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('purge-prefix')
    compose(p, 'backend', ['environment:', '  PYTHONPYCACHEPREFIX: /pycache/py', 'volumes:', '  - pycache:/pycache'], ['volumes:', '  pycache: {}'])
  })
  afterAll(() => removeProject(p))

  test('the prefix directory is purged too', async () => {
    const inputs = { ...sshInputs(), ...projectInputs(p, SLOW) }
    const first = await runAction({ ...inputs, ref: 'prefix-1' }, LONG)
    expectFresh(first)
    const cid = first.outputs['container-id']
    const mirror = '/pycache/py/app/src/app'
    docker('exec', cid, 'sh', '-c', `echo x > ${mirror}/gone.cpython-311.pyc`)
    const before = ls(cid, mirror)
    expect(before).toContain('version.cpython-311.pyc')
    const run = await runAction({ ...inputs, ref: 'prefix-2' }, LONG)
    expectFresh(run)
    // The mirror of /app/src, and of the standard library modules the app imported.
    expect(counts(run)[0]).toBe(0)
    expect(counts(run)[1]).toBeGreaterThanOrEqual(before.length)
    expect(run.stdout).toMatch(/purging inside container [0-9a-f]{12}, as root: \/pycache\/py/)
    expect(ls(serviceContainer(p), mirror)).not.toContain('gone.cpython-311.pyc')
  })
})

describe('a deploy user who is not root (in the docker group), local transport', () => {
  const user = 'fdpurge'
  const made: Project[] = []
  let userTmp = ''
  beforeAll(() => {
    try {
      execFileSync('id', [user], { stdio: 'pipe' })
    } catch {
      execFileSync('useradd', ['-m', '-G', 'docker', user])
    }
    userTmp = join(IT_DIR, `tmp-${user}`)
    mkdirSync(userTmp, { recursive: true })
    execFileSync('chown', [user, userTmp])
    execFileSync('chmod', ['0700', userTmp])
  })
  afterEach(() => made.splice(0).forEach(removeProject))

  async function runAs(inputs: Record<string, string>): Promise<ActionRun> {
    const { env, files, runnerTemp } = runnerEnvironment(inputs, { TMPDIR: userTmp })
    execFileSync('chown', ['-R', user, dirname(files.output)])
    const main = await new Promise<{ code: number; stdout: string; stderr: string }>(done => {
      const child = spawn('runuser', ['-u', user, '--', process.execPath, DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', d => (stdout += d))
      child.stderr.on('data', d => (stderr += d))
      child.on('close', code => done({ code: code ?? 1, stdout, stderr }))
    })
    return { ...main, outputs: parseCommandFile(readFileSync(files.output, 'utf8')), state: {}, summary: '', runnerTemp, post: { code: 0, stdout: '', stderr: '' } }
  }
  async function project(label: string, lines: string[]): Promise<Project> {
    const p = await makeProject(label)
    made.push(p)
    compose(p, 'backend', lines)
    execFileSync('chown', ['-R', user, p.dir])
    return p
  }

  test('src/ bind-mounted at /app/src, __pycache__ written there by the root container: deleted as root through the container', async () => {
    const p = await project('purge-user-bind', ['volumes:', '  - ./src:/app/src'])
    const first = await runAs(projectInputs(p, { ...SLOW, ref: 'user-1' }))
    expectFresh(first)
    const cache = join(p.dir, 'src/app/__pycache__')
    expect(statSync(cache).uid).toBe(0)
    writeFileSync(join(cache, 'gone.cpython-311.pyc'), 'orphan')
    const run = await runAs(projectInputs(p, { ...SLOW, ref: 'user-2' }))
    expectFresh(run)
    expect(run.stdout).toMatch(/that fdpurge could not \(rm: cannot remove .*Permission denied\) as root through Docker \(docker exec -u 0 into container [0-9a-f]{12}, where it is \/app\/src\)/)
    expect(counts(run)).toEqual([1, 0])
    expect(existsSync(join(cache, 'gone.cpython-311.pyc'))).toBe(false)
    expect(warnings(run)).toEqual([])
  })

  test('a root-owned __pycache__ in src/ without a bind mount: deleted in a one-off container of the service\'s image', async () => {
    const p = await project('purge-user-run', [])
    expectFresh(await runAs(projectInputs(p, { ...SLOW, ref: 'user-run-1' })))
    // e.g. left by a `sudo python -m compileall` on the host.
    const cache = join(p.dir, 'src/app/__pycache__')
    mkdirSync(cache)
    writeFileSync(join(cache, 'version.cpython-311.pyc'), 'old')
    writeFileSync(join(p.dir, 'src/stray.pyc'), 'old')
    chownSync(join(p.dir, 'src'), 0, 0)
    const run = await runAs(projectInputs(p, { ...SLOW, ref: 'user-run-2' }))
    expectFresh(run)
    expect(run.stdout).toMatch(/as root through Docker \(a one-off container of image [0-9a-f]{12}, as root\)/)
    // Both lay on the host (the __pycache__ dir and the stray .pyc), whoever deleted them.
    expect(counts(run)).toEqual([2, 0])
    expect(existsSync(cache)).toBe(false)
    expect(existsSync(join(p.dir, 'src/stray.pyc'))).toBe(false)
  })
})
