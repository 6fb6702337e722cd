// The `fresh-deploy` command over ssh with a host alias from ~/.ssh/config, compose v2: usage
// errors, plan, deploy (--json against the action's outputs, plain), verify, status, an
// unhealthy deploy with its rollback, a stale deploy, rollback. See cli-helpers.ts for how it runs.
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { useEnvironment } from './environment.js'
import { docker, httpGet, projectInputs, removeProject, runAction, serviceContainer, setVersion, sshd, sshInputs, type Project } from './harness.js'
import { expectExit } from './assert.js'
import { cli, expectCode, HEX64, IMAGE_ID, logins, makeCliProject, outputs, probeOf, setUpUser, state, writeConfig } from './cli-helpers.js'

useEnvironment()

beforeAll(() => setUpUser('fdcli-it'))

afterAll(() => {
  // No private key byte in anything the command printed, in any test of this file.
  const key = sshd().userKeyText
  const body = key.split('\n').filter(l => l.trim() !== '' && !l.startsWith('-----'))
  const all = outputs.join('\n')
  expect(all).not.toContain('PRIVATE KEY')
  for (const line of body) expect(all).not.toContain(line)
  // The ssh directories (control socket) are gone: nothing left behind in TMPDIR by the runs.
  expect(readdirSync(join(state.home, 'tmp'))).toEqual([])
})

describe('fresh-deploy over ssh with a host alias from ~/.ssh/config (compose v2)', () => {
  let p: Project
  let actionImage = ''
  let cliImage = ''
  beforeAll(async () => {
    p = await makeCliProject('cli')
  })
  afterAll(() => removeProject(p))

  test('usage errors: exit 64, the option or key named, usage on stderr, no ssh login, nothing changed', async () => {
    writeConfig(p)
    const before = logins()
    const cases: [string[], string][] = [
      [['--bogus'], '--bogus'],
      [['--port'], '--port'],
      [['--port', 'abc'], 'option --port: "abc"'],
      [['--health-timeout', '0'], 'option --health-timeout'],
      [['deploi'], 'deploi'],
      [['--purge', 'false'], '--purge takes no value']
    ]
    for (const [args, named] of cases) {
      const r = await cli(args)
      expectCode(r, 64)
      expect(r.stderr).toContain(named)
      expect(r.stderr).toContain('usage: fresh-deploy')
      expect(r.stdout).toBe('')
    }
    writeFileSync(join(state.work, 'broken.yml'), 'host: fdtarget\nproject-dir: [oops\n')
    writeFileSync(join(state.work, 'unknown.yml'), 'host: fdtarget\nprojectdir: /srv\n')
    for (const [file, named] of [['broken.yml', 'does not parse'], ['unknown.yml', 'unknown key "projectdir"']]) {
      const r = await cli(['--config', file])
      expectCode(r, 64)
      expect(r.stderr).toContain(named)
      expect(r.stderr).toContain(file)
    }
    expect(logins()).toBe(before)
    expect(serviceContainer(p)).toBe('')
  })

  test('plan: exit 0, the scripts shown, nothing changed', async () => {
    const r = await cli(['plan'])
    expectCode(r, 0)
    expect(r.stdout).toContain('rebuild: plan (dry-run, not run)')
    expect(r.stdout.trim().split('\n').pop()).toBe('plan: the plan above; nothing was changed')
    expect(serviceContainer(p)).toBe('')
  })

  test('deploy --json matches the action\'s outputs for the same deploy; logs on stderr', async () => {
    const action = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'action-1', 'verify-expect': 'action-1' }) })
    expectExit(action, 'zero')
    actionImage = action.outputs['image-id']

    const r = await cli(['--json', '--ref', 'cli-1', '--verify-expect', 'cli-1'])
    expectCode(r, 0)
    const json = JSON.parse(r.stdout) as Record<string, unknown> & { probes: { name: string; verdict: string; reason: string }[]; steps: { name: string; status: string }[] }
    // The action's output names (deployment-id aside: there is no GitHub Deployment), plus steps.
    expect(Object.keys(json).sort()).toEqual([...Object.keys(action.outputs).filter(k => k !== 'deployment-id'), 'steps'].sort())
    for (const key of Object.keys(action.outputs).filter(k => !['deployment-id', 'probes', 'container-id', 'image-id', 'previous-image-id', 'revision', 'started-at', 'duration-seconds'].includes(k))) {
      expect(`${key}=${String(json[key])}`).toBe(`${key}=${action.outputs[key]}`)
    }
    expect(json.probes.map(x => [x.name, x.verdict])).toEqual((JSON.parse(action.outputs.probes) as { name: string; verdict: string }[]).map(x => [x.name, x.verdict]))
    expect(json['container-id']).toMatch(HEX64)
    expect(json['image-id']).toMatch(IMAGE_ID)
    expect(json['previous-image-id']).toBe(actionImage)
    expect(json.revision).toBe('cli-1')
    expect(typeof json['duration-seconds']).toBe('number')
    expect(json.steps.map(s => s.name)).toEqual(['connect', 'lock', 'sync', 'snapshot', 'purge', 'rebuild', 'verify'])
    cliImage = json['image-id'] as string
    expect(r.stderr).toMatch(/✓ rebuild +\d+\.\d s/)
    expect(docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.run"}}', serviceContainer(p))).toMatch(/^cli-1-[0-9a-f]{8}$/)
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '1', revision: 'cli-1' })
  })

  test('deploy from the config file alone: steps, build output indented, probe table, verdict last; no color off a terminal', async () => {
    setVersion(p, '2')
    const r = await cli(['--ref', 'cli-2', '--verify-expect', '"version": "2"'])
    expectCode(r, 0)
    expect(r.stdout).toContain(`options from ${join(state.work, 'fresh-deploy.yml')}`)
    expect(r.stdout).toMatch(/^ {2}connect +… {2}fdtarget$/m)
    expect(r.stdout).toMatch(/^✓ lock +\d+\.\d s {2}flock$/m)
    expect(r.stdout).toMatch(/^ {4}│ /m)
    expect(r.stdout).toMatch(/^ {2}recreated {2}pass {2}container [0-9a-f]{12}/m)
    expect(r.stdout).toMatch(/^ {2}http {7}pass {2}HTTP 200/m)
    expect(r.stdout).not.toContain('\u001b[')
    expect(r.stdout.trim().split('\n').pop()).toBe('fresh: the new code is what runs')
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'cli-2' })
  })

  test('verify: fresh (exit 0) with recreated and image skipped; stale once the host source changed (exit 2); nothing changed', async () => {
    const cid = serviceContainer(p)
    const fresh = await cli(['verify', '--json'])
    expectCode(fresh, 0)
    const json = JSON.parse(fresh.stdout) as { verdict: string; revision: string; probes: { name: string; verdict: string; reason: string }[] }
    expect(json.verdict).toBe('fresh')
    expect(json.revision).toBe('cli-2')
    expect(probeOf(json, 'recreated')).toMatchObject({ verdict: 'skip', reason: 'verify only' })
    expect(probeOf(json, 'image')).toMatchObject({ verdict: 'skip', reason: 'verify only' })
    expect(probeOf(json, 'source').verdict).toBe('pass')
    expect(probeOf(json, 'health').verdict).toBe('pass')

    setVersion(p, '3')
    const stale = await cli(['verify'])
    expectCode(stale, 2)
    expect(stale.stdout).toMatch(/^ {2}source +fail {2}.*content differs: app\/version\.py/m)
    expect(stale.stdout.trim().split('\n').pop()).toMatch(/^stale: what runs is not the code in source-dir \(probe source: /)
    expect(serviceContainer(p)).toBe(cid)
    setVersion(p, '2')
  })

  test('status: the container, its labels, health and the previous tag; --ssh-key-file and --ssh-known-hosts instead of ~/.ssh', async () => {
    const r = await cli(['status'])
    expectCode(r, 0)
    expect(r.stdout).toMatch(/^ {2}revision {3}cli-2$/m)
    // The run id is cli-<attempt>-<random>, the label the last deploy stamped on the container.
    const runLabel = docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.run"}}', serviceContainer(p))
    expect(runLabel).toMatch(/^cli-1-[0-9a-f]{8}$/)
    expect(r.stdout).toContain(`\n  run        ${runLabel}\n`)
    expect(r.stdout).toMatch(/^ {2}container {2}[0-9a-f]{12} {2}running, healthy, 0 restart\(s\)/m)
    expect(r.stdout).toContain(`\n  previous   fresh-deploy/previous:${p.name}.backend = ${cliImage} (created `)
    expect(r.stdout.trim().split('\n').pop()).toBe('running: backend is running, healthy')

    // The same over explicit options: the key file given (-i), the host key pinned.
    const s = sshd()
    const keyFile = join(state.home, '.ssh', 'deploy_key')
    const pinned = await cli(['status', '--json', '--config', '/dev/null', '--host', '127.0.0.1', '--port', String(s.port), '--username', 'root', '--ssh-key-file', keyFile, '--ssh-known-hosts', s.knownHosts, '--project-dir', p.dir, '--compose-project-name', p.name])
    expectCode(pinned, 0)
    const json = JSON.parse(pinned.stdout) as Record<string, unknown>
    expect(json).toMatchObject({ service: 'backend', state: 'running', running: true, health: 'healthy', revision: 'cli-2', 'previous-image-id': cliImage, 'container-id': serviceContainer(p) })
  })

  test('an unhealthy deploy rolls back (exit 3)', async () => {
    const beforeImage = docker('inspect', '--format', '{{.Image}}', serviceContainer(p))
    const bad = await cli(['--ref', 'cli-bad', '--verify-url', `http://127.0.0.1:${p.port}/nope`, '--verify-timeout', '3'])
    expectCode(bad, 3)
    expect(bad.stdout).toMatch(/^ {2}http +fail {2}.*no 2xx answer/m)
    expect(bad.stdout).toMatch(/^✓ rollback +\d+\.\d s/m)
    expect(bad.stdout.trim().split('\n').pop()).toMatch(/^unhealthy: the new container did not become healthy \(probe http: .*\); the previous image was put back$/)
    expect(docker('inspect', '--format', '{{.Image}}', serviceContainer(p))).toBe(beforeImage)
  })

  test('a stale deploy: exit 2 (--quiet: the verdict line only)', async () => {
    const r = await cli(['--ref', 'cli-3', '--verify-expect', 'not-in-the-body', '--stale-retries', '0', '--quiet'])
    expectCode(r, 2)
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^stale: the container does not run the code that was deployed \(probe http: .*lacks "not-in-the-body"/)])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'cli-3' })
  })

  test('rollback: the image that ran before the last deploy runs again, healthy (exit 0)', async () => {
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as Record<string, string>
    expect(status['previous-image-id']).toMatch(IMAGE_ID)
    expect(status['previous-image-id']).not.toBe(status['image-id'])
    const r = await cli(['rollback', '--json'])
    expectCode(r, 0)
    const json = JSON.parse(r.stdout) as Record<string, unknown> & { steps: { name: string }[] }
    expect(json).toMatchObject({ verdict: 'unverified', 'rolled-back': true, 'image-id': status['previous-image-id'], 'previous-image-id': status['image-id'] })
    expect(json.steps.map(s => s.name)).toEqual(['connect', 'lock', 'rollback'])
    const now = serviceContainer(p)
    expect(now).toBe(json['container-id'])
    expect(now).not.toBe(status['container-id'])
    expect(docker('inspect', '--format', '{{.State.Health.Status}}', now)).toBe('healthy')
    expect(docker('inspect', '--format', '{{.Image}}', now)).toBe(status['previous-image-id'])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: '2', revision: 'cli-2' })
  })
})

