// Issue 2: the deploy pipeline against a real sshd, Docker engine and compose (v1 and v2),
// and over the local transport.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, makeProject, projectInputs, removeProject, runAction, serviceContainer, setVersion, sshd, sshInputs, type Project } from './harness.js'

useEnvironment()

const HEX64 = /^[0-9a-f]{64}$/
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/

describe.each([
  ['ssh', 'docker compose'],
  ['ssh', 'docker-compose'],
  ['local', 'auto']
])('deploy over %s with compose %s', (transport, compose) => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject(`deploy-${transport}-${compose.replace(' ', '')}`)
  })
  afterAll(() => removeProject(p))
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...(transport === 'ssh' ? sshInputs() : {}),
    ...projectInputs(p, { 'compose-command': compose, ...extra })
  })

  test('a first deploy and a redeploy after a code change serve the new code', async () => {
    const first = await runAction(inputs({ ref: 'rev-1', 'verify-expect': 'rev-1' }))
    expectExit(first, 'zero')
    expect(first.outputs.verdict).toBe('fresh')
    expect(first.outputs.verified).toBe('true')
    expect(first.outputs['container-id']).toMatch(HEX64)
    expect(first.outputs['image-id']).toMatch(IMAGE_ID)
    expect(first.outputs['previous-image-id']).toBe('')
    expect(first.outputs.revision).toBe('rev-1')
    expect(first.outputs['started-at']).toMatch(RFC3339)
    expect(first.outputs['duration-seconds']).toMatch(/^\d+\.\d$/)
    expect(first.outputs['rolled-back']).toBe('false')
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '1', revision: 'rev-1' })

    setVersion(p, '2')
    const second = await runAction(inputs({ ref: 'rev-2', 'verify-expect': '"version": "2"' }))
    expectExit(second, 'zero')
    expect(second.outputs.verdict).toBe('fresh')
    expect(second.outputs['previous-image-id']).toBe(first.outputs['image-id'])
    expect(second.outputs['container-id']).not.toBe(first.outputs['container-id'])
    expect(second.outputs['image-id']).not.toBe(first.outputs['image-id'])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'rev-2' })
    // Stamped through the temporary override, which is gone afterwards.
    const cid = serviceContainer(p)
    expect(cid).toBe(second.outputs['container-id'])
    expect(docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', cid)).toBe('rev-2')
    expect(docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.run"}}', cid)).toMatch(/^4242-1-[0-9a-f]{8}$/)
    const runLabel = docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.run"}}', cid)
    const overrides = readdirSync('/tmp').filter(f => f.startsWith('fresh-deploy-override.'))
    expect(overrides.filter(f => readFileSync(join('/tmp', f), 'utf8').includes(runLabel))).toEqual([])
    // The previous image is kept for rollback, under fresh-deploy's own tag for the project and service.
    expect(docker('image', 'inspect', '--format', '{{.Id}}', `fresh-deploy/previous:${p.name}.backend`)).toBe(first.outputs['image-id'])
    // Log groups per step, in order.
    const groups = second.stdout.split('\n').filter(l => l.startsWith('::group::')).map(l => l.slice(9).split(':')[0])
    expect(groups.filter((g, i) => groups.indexOf(g) === i)).toEqual(['connect', 'lock', 'snapshot', 'purge', 'rebuild', 'verify', 'report'])
    expect(second.post.code).toBe(0)
    expect(readdirSync(second.runnerTemp)).toEqual([])
  })
})

describe('purge', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('purge')
  })
  afterAll(() => removeProject(p))

  test('removes seeded __pycache__ and *.pyc on the host; the container\'s writable layer is left to the recreate', async () => {
    const first = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'purge-1' }) })
    expectExit(first, 'zero')
    const src = join(p.dir, 'src')
    // Host: one __pycache__ dir (2 files inside) + 2 stray files outside = 3 counted.
    mkdirSync(join(src, 'app/__pycache__'), { recursive: true })
    writeFileSync(join(src, 'app/__pycache__/version.cpython-311.pyc'), 'old')
    writeFileSync(join(src, 'app/__pycache__/gone.cpython-311.pyc'), 'old')
    writeFileSync(join(src, 'stray.pyc'), 'old')
    writeFileSync(join(src, 'app/legacy.pyo'), 'old')
    // Container: the app's own app/__pycache__ + one seeded dir + one loose file, all in its
    // writable layer, which the recreate replaces: not walked, not counted.
    const cid = first.outputs['container-id']
    docker('exec', cid, 'sh', '-c', 'mkdir -p /app/src/extra/__pycache__ && echo x > /app/src/extra/__pycache__/a.pyc && echo x > /app/src/loose.pyc')
    expect(docker('exec', cid, 'sh', '-c', 'find /app/src -name __pycache__ | wc -l')).toBe('2')

    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'purge-2' }) })
    expectExit(run, 'zero')
    expect(run.outputs.purged).toBe('3')
    expect(run.stdout).toMatch(/purge done in [\d.]+ s: 3 on the host, 0 in the container; container: no volume or bind mount at, under or above \/app\/src/)
    expect(existsSync(join(src, 'app/__pycache__'))).toBe(false)
    expect(existsSync(join(src, 'stray.pyc'))).toBe(false)
    expect(existsSync(join(src, 'app/legacy.pyo'))).toBe(false)
    expect(existsSync(join(src, 'app/version.py'))).toBe(true)
  })
})

describe('sync: git', () => {
  let p: Project
  let origin: string
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim()
  beforeAll(async () => {
    p = await makeProject('sync')
    origin = `${p.dir}-origin.git`
    git(p.dir, 'init', '-q')
    writeFileSync(join(p.dir, '.gitignore'), '.env\n__pycache__/\n')
    git(p.dir, 'add', '-A')
    git(p.dir, 'commit', '-qm', 'v1')
    execFileSync('git', ['clone', '-q', '--bare', p.dir, origin])
    git(p.dir, 'remote', 'add', 'origin', origin)
    git(p.dir, 'fetch', '-q', 'origin')
  })
  afterAll(() => removeProject(p))

  test('checks out ref; refuses a dirty checkout and leaves it as it was; discards only with consent', async () => {
    const sha1 = git(p.dir, 'rev-parse', 'HEAD')
    const first = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: sha1, 'verify-expect': sha1 }) })
    expectExit(first, 'zero')
    expect(git(p.dir, 'rev-parse', 'HEAD')).toBe(sha1)

    // A new commit lands on origin (pushed from another clone).
    const other = `${p.dir}-other`
    execFileSync('git', ['clone', '-q', origin, other])
    writeFileSync(join(other, 'src/app/version.py'), 'VERSION = "2"\n')
    git(other, 'commit', '-qam', 'v2')
    git(other, 'push', '-q', 'origin', 'HEAD:main')
    const sha2 = git(other, 'rev-parse', 'HEAD')

    // Someone edited a tracked file on the host.
    writeFileSync(join(p.dir, 'compose.yaml'), `${readFileSync(join(p.dir, 'compose.yaml'), 'utf8')}# hotfix on the host\n`)
    writeFileSync(join(p.dir, 'notes.txt'), 'untracked, must survive\n')
    const refused = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: sha2 }) })
    expectExit(refused, 'non-zero')
    expect(refused.outputs.verdict).toBe('error')
    expect(errors(refused)).toHaveLength(1)
    expect(errors(refused)[0]).toMatch(/uncommitted changes to tracked files: compose\.yaml/)
    expect(git(p.dir, 'rev-parse', 'HEAD')).toBe(sha1)
    expect(readFileSync(join(p.dir, 'compose.yaml'), 'utf8')).toMatch(/# hotfix on the host/)
    expect(serviceContainer(p)).toBe(first.outputs['container-id'])

    const forced = await runAction({ ...sshInputs(), ...projectInputs(p, { sync: 'git', ref: sha2, 'sync-discard-changes': 'true', 'verify-expect': '"version": "2"' }) })
    expectExit(forced, 'zero')
    expect(git(p.dir, 'rev-parse', 'HEAD')).toBe(sha2)
    expect(readFileSync(join(p.dir, 'compose.yaml'), 'utf8')).not.toMatch(/hotfix/)
    expect(readFileSync(join(p.dir, 'notes.txt'), 'utf8')).toMatch(/must survive/)
    expect(JSON.parse((await httpGet(p.url)).body).version).toBe('2')
  })
})

describe('host keys and dry-run', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('keys')
  })
  afterAll(() => removeProject(p))

  const accepted = (): number => readFileSync(sshd().log, 'utf8').split('\n').filter(l => l.includes('Accepted publickey')).length

  test('a wrong host key is refused before any remote command', async () => {
    const dir = join(p.dir, 'otherkey')
    mkdirSync(dir)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')])
    const wrong = `[127.0.0.1]:${sshd().port} ${readFileSync(join(dir, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`
    const before = accepted()
    const run = await runAction({ ...sshInputs({ 'ssh-known-hosts': wrong }), ...projectInputs(p) })
    expectExit(run, 'non-zero')
    expect(errors(run)[0]).toMatch(/host key of root@127\.0\.0\.1:\d+ is not the pinned one/)
    expect(accepted()).toBe(before)
    expect(run.outputs.verdict).toBe('error')
    expect(serviceContainer(p)).toBe('')
  })

  test('proxy-jump reaches the host through a jump host, with its key pinned too', async () => {
    const s = sshd()
    // OpenSSH refuses a jump host spelled like the destination ("jumphost loop"): name it localhost.
    const knownHosts = `${s.knownHosts}${s.knownHosts.replace('[127.0.0.1]', '[localhost]')}`
    const run = await runAction({ ...sshInputs({ 'proxy-jump': `root@localhost:${s.port}`, 'ssh-known-hosts': knownHosts }), ...projectInputs(p, { ref: 'jump-1', 'verify-expect': 'jump-1' }) })
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(run.stdout).toMatch(/connect: root@127\.0\.0\.1:\d+ via root@localhost:\d+/)
  })

  test('dry-run prints the plan and changes nothing (host key pinned by fingerprint)', async () => {
    const first = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'dry-1' }) })
    expectExit(first, 'zero')
    const run = await runAction({ ...sshInputs({ 'ssh-known-hosts': '', 'ssh-host-fingerprint': sshd().fingerprint }), ...projectInputs(p, { ref: 'dry-2', 'dry-run': 'true' }) })
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('dry-run')
    expect(run.outputs.verified).toBe('false')
    for (const step of ['lock', 'snapshot', 'purge', 'rebuild', 'verify']) expect(run.stdout).toContain(`::group::${step}: plan (dry-run, not run)`)
    expect(run.stdout).toContain(`FD_PROJECT_DIR='${p.dir}'`)
    expect(serviceContainer(p)).toBe(first.outputs['container-id'])
    expect(docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', first.outputs['container-id'])).toBe('dry-1')
    expect(readdirSync(run.runnerTemp)).toEqual([])
  })
})
