// Issue 14: pre-deploy (migrations in the new image, before the switch) and post-deploy (a smoke
// test in the new container, the smoke probe), against a real sshd, Docker and compose v1/v2.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, makeProject, probe, projectInputs, removeProject, runAction, serviceContainer, setVersion, sshInputs, type ActionRun, type Project } from './harness.js'
import { startAction } from './hardening-helpers.js'

useEnvironment()

/** The lines of the log group that starts with "::group::TITLE", up to its end. */
function group(run: { stdout: string }, title: RegExp): string[] {
  const lines = run.stdout.split('\n')
  const at = lines.findIndex(l => l.startsWith('::group::') && title.test(l.slice('::group::'.length)))
  if (at < 0) return []
  const end = lines.indexOf('::endgroup::', at)
  return lines.slice(at + 1, end < 0 ? undefined : end)
}

/** A project whose service also mounts ./hookdata, where the hooks leave their traces. */
async function hookProject(label: string): Promise<Project & { data: string }> {
  const p = await makeProject(label)
  const data = join(p.dir, 'hookdata')
  mkdirSync(data)
  writeFileSync(join(p.dir, 'compose.override.yaml'), 'services:\n  backend:\n    volumes:\n      - ./hookdata:/hookdata\n')
  return { ...p, data }
}

const MIGRATE = 'MIGRATIONS_FILE=/hookdata/migrations python3 -m app.migrate && env | grep ^FRESH_DEPLOY_ | sort >/hookdata/env && date +%s.%N >/hookdata/at'

describe.each(['docker compose', 'docker-compose'])('hooks with compose %s', compose => {
  let p: Project & { data: string }
  beforeAll(async () => {
    p = await hookProject(`hooks-${compose.replace(' ', '')}`)
  })
  afterAll(() => removeProject(p))
  const inputs = (extra: Record<string, string>): Record<string, string> => ({ ...sshInputs(), ...projectInputs(p, { 'compose-command': compose, ...extra }) })

  test('pre-deploy runs in the new image before the switch, post-deploy in the new container; both see the FRESH_DEPLOY_ variables', async () => {
    const first = await runAction(inputs({ ref: 'rev-1' }))
    expectExit(first, 'zero')
    expect(probe(first, 'smoke')).toMatchObject({ verdict: 'skip', reason: 'post-deploy is not set' })

    setVersion(p, '2')
    const run = await runAction(inputs({ ref: 'rev-2', 'verify-expect': '"version": "2"', 'pre-deploy': MIGRATE, 'post-deploy': 'python3 -m app.smoke' }))
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    // The migration ran the new code (version 2), before the new container started.
    expect(readFileSync(join(p.data, 'migrations'), 'utf8')).toBe('2 rev-2\n')
    const hookAt = Number(readFileSync(join(p.data, 'at'), 'utf8'))
    const started = Date.parse(docker('inspect', '--format', '{{.State.StartedAt}}', run.outputs['container-id'])) / 1000
    expect(hookAt).toBeLessThan(started)
    const runLabel = docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.run"}}', run.outputs['container-id'])
    expect(readFileSync(join(p.data, 'env'), 'utf8')).toBe(
      [`FRESH_DEPLOY_PREVIOUS_IMAGE=${first.outputs['image-id']}`, 'FRESH_DEPLOY_REVISION=rev-2', `FRESH_DEPLOY_RUN_ID=${runLabel}`, 'FRESH_DEPLOY_SERVICE=backend', ''].join('\n')
    )
    // Its output streamed into its own group, between the two rebuild groups.
    expect(group(run, /^pre-deploy: /).join('\n')).toContain('migrating the schema to version 2 (revision rev-2)')
    const titles = run.stdout.split('\n').filter(l => l.startsWith('::group::')).map(l => l.slice(9).split(':')[0])
    expect(titles.filter(t => ['rebuild', 'pre-deploy', 'verify', 'post-deploy'].includes(t))).toEqual(['rebuild', 'pre-deploy', 'rebuild', 'verify', 'post-deploy'])
    // post-deploy: the smoke probe, with its output as evidence.
    expect(probe(run, 'smoke')).toMatchObject({ verdict: 'pass', expected: expect.stringContaining('exits 0') })
    expect(probe(run, 'smoke').found).toContain('smoke: the app serves {"version": "2", "revision": "rev-2"}')
    expect(group(run, /^post-deploy: /).join('\n')).toContain('smoke: the app serves')
    expect(run.summary).toContain('| smoke |')
  })
})

describe('hooks that fail (compose v2)', () => {
  let p: Project & { data: string }
  let good: ActionRun
  beforeAll(async () => {
    p = await hookProject('hooks-fail')
    setVersion(p, 'good')
    good = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'good' }) })
    expectExit(good, 'zero')
  })
  afterAll(() => removeProject(p))
  const inputs = (extra: Record<string, string>): Record<string, string> => ({ ...sshInputs(), ...projectInputs(p, extra) })

  async function servesGood(): Promise<void> {
    expect(serviceContainer(p)).toBe(good.outputs['container-id'])
    expect(docker('inspect', '--format', '{{.State.Running}}', good.outputs['container-id'])).toBe('true')
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: 'good', revision: 'good' })
  }

  test('a failing pre-deploy ends the deploy with verdict error; the old container was never stopped and still serves', async () => {
    setVersion(p, 'bad-migration')
    const run = await runAction(inputs({ ref: 'bad-migration', 'pre-deploy': 'echo "migration 0007 failed: column exists"; exit 4' }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    expect(run.outputs['rolled-back']).toBe('false')
    await servesGood()
    expect(group(run, /^pre-deploy: /).join('\n')).toContain('migration 0007 failed: column exists')
    const error = errors(run).join('\n')
    expect(error).toContain('the pre-deploy hook exited with 4')
    expect(error).toContain('still serves')
    expect(error).toContain('migration 0007 failed')
    expect(run.summary).toMatch(/\| pre-deploy \| ❌ failed \|/)
  })

  test('a pre-deploy past hook-timeout is stopped, container and all, and says so', async () => {
    const t0 = Date.now()
    const run = await runAction(inputs({ ref: 'slow-migration', 'hook-timeout': '3', 'pre-deploy': 'echo migrating slowly; sleep 120; echo never' }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    expect(Date.now() - t0).toBeLessThan(100_000)
    expect(errors(run).join('\n')).toContain('ran longer than hook-timeout (3 s) and was stopped')
    expect(run.stdout).toContain('migrating slowly')
    expect(run.stdout).not.toContain('never')
    expect(docker('ps', '-a', '-q', '--filter', 'name=fresh-deploy-pre-deploy-')).toBe('')
    await servesGood()
  })

  test('a failing post-deploy is unhealthy: the previous image is put back and serves; the evidence holds what the smoke test printed', async () => {
    setVersion(p, 'bad-smoke')
    const run = await runAction(inputs({ ref: 'bad-smoke', 'post-deploy': 'echo "production test stuck at 16 %"; exit 1' }))
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('unhealthy')
    expect(run.outputs['rolled-back']).toBe('true')
    const smoke = probe(run, 'smoke')
    expect(smoke.verdict).toBe('fail')
    expect(smoke.found).toContain('exit 1')
    expect(smoke.found).toContain('production test stuck at 16 %')
    expect(errors(run).join('\n')).toContain('probe smoke failed: the smoke test (post-deploy) failed with exit 1')
    expect(run.outputs['image-id']).toBe(good.outputs['image-id'])
    expect(JSON.parse((await httpGet(p.url)).body)).toEqual({ version: 'good', revision: 'good' })
  })
})

describe('hook commands are data; hooks run under the deploy lock; large output', () => {
  let p: Project & { data: string }
  beforeAll(async () => {
    p = await hookProject('hooks-data')
  })
  afterAll(() => removeProject(p))
  const inputs = (extra: Record<string, string>): Record<string, string> => ({ ...sshInputs(), ...projectInputs(p, extra) })

  test('quotes, $(), backticks, newlines and non-ASCII run exactly as written, in the container, and nothing else runs', async () => {
    const mark = `/tmp/fd-pwned-${randomBytes(4).toString('hex')}`
    const command = [`printf '%s\\n' "it's" '$(touch ${mark})' "\`echo back\`ticks" 'grüße 日本'`, `echo 'second line'`, `printf '%s\\n' "a\\"b" > /hookdata/hostile`].join('\n')
    const run = await runAction(inputs({ ref: 'data-1', 'pre-deploy': command, 'post-deploy': command }))
    expectExit(run, 'zero')
    for (const title of [/^pre-deploy: /, /^post-deploy: /]) {
      const text = group(run, title).join('\n')
      expect(text).toContain(`it's\n$(touch ${mark})\nbackticks\ngrüße 日本\nsecond line`)
    }
    expect(readFileSync(join(p.data, 'hostile'), 'utf8')).toBe('a"b\n')
    expect(existsSync(mark)).toBe(false)
    expect(docker('exec', serviceContainer(p), 'sh', '-c', `test -e ${mark} && echo yes || echo no`)).toBe('no')
  })

  test('a second deploy waits for the lock until post-deploy has ended', async () => {
    const a = startAction(inputs({ ref: 'lock-a', 'post-deploy': 'echo smoke starts; sleep 15; echo smoke ends' }))
    await a.waitFor(/^smoke starts$/, 300_000)
    const b = startAction(inputs({ ref: 'lock-b' }))
    const [ra, rb] = await Promise.all([a.done, b.done])
    expectExit(ra, 'zero')
    expectExit(rb, 'zero')
    expect(rb.stdout).toContain('waiting for the deploy lock')
    const smokeEnded = a.lines.find(l => l.text === 'smoke ends')?.at ?? Infinity
    const bStarted = Date.parse(docker('inspect', '--format', '{{.State.StartedAt}}', rb.outputs['container-id']))
    expect(bStarted).toBeGreaterThan(smokeEnded - 1000)
  })

  test('10 MB of hook output streams through; the report keeps the last lines only', async () => {
    const run = await runAction(inputs({ ref: 'big', 'post-deploy': 'i=0; while [ $i -lt 200000 ]; do echo "line $i of padding padding padding"; i=$((i+1)); done; echo last-line' }))
    expectExit(run, 'zero')
    expect(run.stdout.length).toBeGreaterThan(6_000_000)
    const smoke = probe(run, 'smoke')
    expect(smoke.found.split('\n').length).toBeLessThanOrEqual(21)
    expect(smoke.found).toContain('last-line')
    expect(run.summary.length).toBeLessThan(20_000)
  })
})
