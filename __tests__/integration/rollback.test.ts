// Issue 11, items 8, 9, C5 and 10: a failed deploy leaves a running service. Real Docker and
// compose (v2 over ssh, v1 over ssh, v2 on the local transport), through dist/:
// - an up that fails after the recreate began (an entrypoint that does not exist) rolls back;
// - the rollback names the previous image by id: an `image: reg/app:1.5` the user owns is never
//   moved, and two projects sharing an image name each roll back to their own image;
// - a broken deploy never becomes the rollback target, and the rollback names the revision;
// - the rebuild survives its runner: killed with the action's process group, with a `tail`
//   that is not GNU's first on PATH.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, healthTest, httpGet, makeProject, probe, projectInputs, removeProject, runAction, runnerEnvironment, serviceContainer, sshInputs, transcript, type Project } from './harness.js'
import { sleep, startAction } from './hardening-helpers.js'
import { IT_DIR } from './paths.js'

useEnvironment()

// A loaded machine (several test runs at once) can take a minute to start python.
const SLOW = { 'health-timeout': '240', 'verify-timeout': '120' }
const LONG = { timeoutMs: 1_200_000 }
const TEST_MS = 3_600_000

const imageOf = (cid: string): string => docker('inspect', '--format', '{{.Image}}', cid)
const revisionOf = (cid: string): string => docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', cid)
const running = (cid: string): boolean => {
  try {
    return docker('inspect', '--format', '{{.State.Running}}', cid) === 'true'
  } catch {
    return false
  }
}
const tagged = (name: string): string => {
  try {
    return docker('image', 'inspect', '--format', '{{.Id}}', name)
  } catch {
    return ''
  }
}
/** Waits until pred holds; throws with what the failure says otherwise. */
async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, failure: () => string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await pred()) return
    await sleep(500)
  }
  throw new Error(failure())
}
const body = async (p: Project): Promise<{ version?: string; revision?: string }> => {
  const r = await httpGet(p.url)
  return r.status === 200 ? (JSON.parse(r.body) as { version?: string; revision?: string }) : {}
}

/**
 * A project that looks like a user's: service "web" (not backend), an image name the user
 * owns (image: fdit-reg.example/NAME:1.5), WORKDIR /app with COPY . /app.
 */
async function userProject(label: string): Promise<Project & { image: string }> {
  const p = await makeProject(label)
  const image = `fdit-reg.example/${p.name}:1.5`
  writeFileSync(
    join(p.dir, 'Dockerfile'),
    [
      'ARG BASE_IMAGE=python:3.12-slim',
      'FROM ${BASE_IMAGE}',
      'ARG REVISION=dev',
      'ENV APP_REVISION=${REVISION} PYTHONUNBUFFERED=1 PYTHONPATH=/app/src',
      'WORKDIR /app',
      'COPY . /app',
      'CMD ["python3", "-m", "app.server"]',
      ''
    ].join('\n')
  )
  writeFileSync(
    join(p.dir, 'compose.yaml'),
    [
      'services:',
      '  web:',
      '    build:',
      '      context: .',
      '      args:',
      '        BASE_IMAGE: ${BASE_IMAGE}',
      '        REVISION: ${FRESH_DEPLOY_REVISION:-dev}',
      `    image: ${image}`,
      // Docker's default bridge: no project network (the address pools run out when many
      // test runs share one engine).
      '    network_mode: bridge',
      '    ports:',
      '      - "127.0.0.1:${APP_PORT}:8080"',
      '    healthcheck:',
      `      test: ${healthTest(8080, '/health')}`,
      '      interval: 1s',
      '      timeout: 10s',
      // A loaded machine can take a minute to start python: unhealthy only at health-timeout.
      '      retries: 1000',
      ''
    ].join('\n')
  )
  return { ...p, image }
}

/** compose.net.yaml: the service on Docker's default bridge, a patient healthcheck (see userProject). */
function bridgeOnly(p: Project): string {
  writeFileSync(
    join(p.dir, 'compose.net.yaml'),
    [
      'services:',
      '  backend:',
      '    network_mode: bridge',
      '    healthcheck:',
      `      test: ${healthTest(8080, '/health')}`,
      '      interval: 1s',
      '      timeout: 10s',
      '      retries: 1000',
      ''
    ].join('\n')
  )
  return 'compose.net.yaml'
}

const cleanup = (p: Project, ...images: string[]): void => {
  removeProject(p)
  for (const image of images) {
    try {
      docker('rmi', '-f', image)
    } catch {
      /* best effort */
    }
  }
}

describe.each([
  ['ssh', 'docker compose'],
  ['ssh', 'docker-compose'],
  ['local', 'docker compose']
])('an up that fails after the recreate began (over %s, %s)', (transport, compose) => {
  let p: Project & { image: string }
  beforeAll(async () => {
    p = await userProject(`upfail-${transport}-${compose.replace(' ', '')}`)
  })
  afterAll(() => cleanup(p, p.image, `fresh-deploy/previous:${p.name}.web`))

  test('rolls back to the previous image, which serves again; the verdict stays error; the user\'s image name is not moved', async () => {
    const inputs = (extra: Record<string, string>): Record<string, string> => ({
      ...(transport === 'ssh' ? sshInputs() : { host: '' }),
      ...projectInputs(p, { service: 'web', 'compose-command': compose, ...SLOW, ...extra })
    })
    const first = await runAction(inputs({ ref: 'good-1', 'verify-expect': 'good-1' }), LONG)
    expectExit(first, 'zero')
    const dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    // The image builds; its container cannot start: compose has removed the old one by then.
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}ENTRYPOINT ["/no/such/entrypoint"]\n`)
    const run = await runAction(inputs({ ref: 'bad-2', 'verify-expect': 'bad-2' }), LONG)
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    expect(run.outputs['rolled-back']).toBe('true')
    expect(run.outputs['previous-image-id']).toBe(first.outputs['image-id'])
    expect(run.outputs['image-id']).toBe(first.outputs['image-id'])
    const errs = errors(run)
    if (errs.length !== 1) throw new Error(`expected one ::error\n${transcript(run)}`)
    expect(errs[0]).toMatch(/the rebuild of service web failed \(compose exit [1-9]\d*\)/)
    expect(errs[0]).toMatch(/Rolled back: the failed rebuild left no running container of web .*put back image sha256:[0-9a-f]{64} \(revision good-1\)/)
    expect(run.stdout).toContain('::group::rollback')
    expect(run.summary).toContain('**Rolled back**')
    // The previous image serves again, stamped with its own revision.
    const cid = serviceContainer(p, 'web')
    expect(running(cid)).toBe(true)
    expect(imageOf(cid)).toBe(first.outputs['image-id'])
    expect(revisionOf(cid)).toBe('good-1')
    expect(await body(p)).toEqual({ version: '1', revision: 'good-1' })
    // The name the user owns still names what the last build made (not moved back).
    expect(tagged(p.image)).not.toBe(first.outputs['image-id'])
    expect(tagged(p.image)).not.toBe('')
    // fresh-deploy's own tag, keyed by project and service, holds the previous image.
    expect(tagged(`fresh-deploy/previous:${p.name}.web`)).toBe(first.outputs['image-id'])
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
    // And the next deploy is a normal one.
    const again = await runAction(inputs({ ref: 'good-3', 'verify-expect': 'good-3' }), LONG)
    expectExit(again, 'zero')
    expect(again.outputs.verdict).toBe('fresh')
    expect(tagged(p.image)).toBe(again.outputs['image-id'])
  }, TEST_MS)
})

describe('two projects sharing an image name', () => {
  let a: Project
  let b: Project
  const shared = `fdit-shared-${process.pid}:latest`
  beforeAll(async () => {
    a = await makeProject('shareda')
    b = await makeProject('sharedb')
    for (const p of [a, b]) {
      writeFileSync(join(p.dir, 'compose.shared.yaml'), `services:\n  backend:\n    image: ${shared}\n`)
      bridgeOnly(p)
    }
    // A's broken release waits in "starting" for the test's go, then exits: B deploys meanwhile.
    mkdirSync(join(a.dir, 'gate'), { mode: 0o777 })
    writeFileSync(
      join(a.dir, 'compose.gate.yaml'),
      [
        'services:',
        '  backend:',
        '    volumes:',
        '      - ./gate:/gate',
        '    healthcheck:',
        `      test: ${healthTest(8080, '/health')}`,
        '      interval: 1s',
        '      timeout: 3s',
        '      retries: 1000',
        ''
      ].join('\n')
    )
  })
  afterAll(() => {
    cleanup(a, `fresh-deploy/previous:${a.name}.backend`)
    cleanup(b, shared, `fresh-deploy/previous:${b.name}.backend`)
  })

  test('each rolls back to its own image, also while the other deploys; the shared name is not moved', async () => {
    const aInputs = (extra: Record<string, string>): Record<string, string> => ({ ...sshInputs(), ...projectInputs(a, { 'compose-files': 'compose.yaml\ncompose.shared.yaml\ncompose.gate.yaml\ncompose.net.yaml', ...SLOW, 'health-timeout': '400', ...extra }) })
    const bInputs = (extra: Record<string, string>): Record<string, string> => ({ ...sshInputs(), ...projectInputs(b, { 'compose-files': 'compose.yaml\ncompose.shared.yaml\ncompose.net.yaml', ...SLOW, ...extra }) })
    const a1 = await runAction(aInputs({ ref: 'a-1', 'verify-expect': 'a-1' }), LONG)
    expectExit(a1, 'zero')
    const b1 = await runAction(bInputs({ ref: 'b-1', 'verify-expect': 'b-1' }), LONG)
    expectExit(b1, 'zero')
    expect(b1.outputs['image-id']).not.toBe(a1.outputs['image-id'])

    const dockerfile = readFileSync(join(a.dir, 'Dockerfile'), 'utf8')
    writeFileSync(join(a.dir, 'Dockerfile'), `${dockerfile}CMD ["sh", "-c", "while [ ! -e /gate/go ]; do sleep 0.2; done; echo broken release; exit 1"]\n`)
    const broken = startAction(aInputs({ ref: 'a-2' }))
    try {
      await broken.waitFor(/^::group::verify/, 300_000)
      // B deploys (and snapshots) while A waits for its broken container to get healthy.
      const b2 = await runAction(bInputs({ ref: 'b-2', 'verify-expect': 'b-2' }), LONG)
      expectExit(b2, 'zero')
    } finally {
      writeFileSync(join(a.dir, 'gate', 'go'), '')
    }
    const run = await broken.done
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('unhealthy')
    expect(run.outputs['rolled-back']).toBe('true')
    const cid = serviceContainer(a)
    expect(imageOf(cid)).toBe(a1.outputs['image-id'])
    expect(await body(a)).toEqual({ version: '1', revision: 'a-1' })
    expect(errors(run)[0]).toContain('(revision a-1)')
    // B still runs its own, and the shared name still names B's last build.
    expect(imageOf(serviceContainer(b))).not.toBe(a1.outputs['image-id'])
    expect(await body(b)).toEqual({ version: '1', revision: 'b-2' })
    expect(tagged(shared)).toBe(imageOf(serviceContainer(b)))
    writeFileSync(join(a.dir, 'Dockerfile'), dockerfile)
  }, TEST_MS)
})

describe('a broken deploy never becomes the rollback target', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('c5')
    bridgeOnly(p)
  })
  afterAll(() => cleanup(p, `fresh-deploy/previous:${p.name}.backend`))

  test('broken first, broken second: no "rollback" to the broken image; later, the good image is kept through a broken deploy and restored with its revision', async () => {
    const inputs = (extra: Record<string, string>): Record<string, string> => ({ ...sshInputs(), ...projectInputs(p, { 'compose-files': 'compose.yaml\ncompose.net.yaml', ...SLOW, ...extra }) })
    const version = join(p.dir, 'src/app/version.py')
    const good = readFileSync(version, 'utf8')
    writeFileSync(version, 'raise SystemExit("boom: broken first release")\n')
    const first = await runAction(inputs({ ref: 'bad-1' }), LONG)
    expectExit(first, 'non-zero')
    expect(first.outputs.verdict).toBe('unhealthy')
    expect(first.outputs['rolled-back']).toBe('false')

    writeFileSync(version, 'raise SystemExit("boom: broken second release")\n')
    const second = await runAction(inputs({ ref: 'bad-2' }), LONG)
    expectExit(second, 'non-zero')
    expect(second.outputs.verdict).toBe('unhealthy')
    expect(second.outputs['rolled-back']).toBe('false')
    expect(second.outputs['previous-image-id']).toBe(first.outputs['image-id'])
    expect(errors(second)[0]).toMatch(/no rollback target \(container [0-9a-f]{12} is exited \(exit code 1\): its image is no rollback target, and there is no earlier one\)/)
    expect(second.stdout).toMatch(/snapshot: .*its image is no rollback target/)
    expect(tagged(`fresh-deploy/previous:${p.name}.backend`)).toBe('')

    writeFileSync(version, good)
    const third = await runAction(inputs({ ref: 'good-3', 'verify-expect': 'good-3' }), LONG)
    expectExit(third, 'zero')

    writeFileSync(version, 'raise SystemExit("boom: broken fourth release")\n')
    const fourth = await runAction(inputs({ ref: 'bad-4', rollback: 'false' }), LONG)
    expect(fourth.outputs.verdict).toBe('unhealthy')
    expect(fourth.outputs['rolled-back']).toBe('false')

    writeFileSync(version, 'raise SystemExit("boom: broken fifth release")\n')
    const fifth = await runAction(inputs({ ref: 'bad-5' }), LONG)
    expectExit(fifth, 'non-zero')
    expect(fifth.outputs.verdict).toBe('unhealthy')
    expect(fifth.outputs['rolled-back']).toBe('true')
    expect(fifth.stdout).toMatch(/snapshot: container [0-9a-f]{12} is exited \(exit code 1\): its image is no rollback target; the earlier target fresh-deploy\/previous:\S+ stays: rollback target .*revision good-3/)
    expect(errors(fifth)[0]).toMatch(/Rolled back: put back image sha256:[0-9a-f]{64} \(revision good-3\)/)
    const cid = serviceContainer(p)
    expect(imageOf(cid)).toBe(third.outputs['image-id'])
    expect(revisionOf(cid)).toBe('good-3')
    expect(await body(p)).toEqual({ version: '1', revision: 'good-3' })
    expect(probe(fifth, 'health').verdict).toBe('fail')
  }, TEST_MS)
})

describe('the rebuild survives its runner (local transport)', () => {
  let p: Project
  let shim: string
  beforeAll(async () => {
    p = await makeProject('survive')
    bridgeOnly(p)
    // A tail that is not GNU's (busybox and macOS have no --pid): first on PATH.
    shim = join(IT_DIR, `shim-${process.pid}`)
    mkdirSync(shim, { recursive: true })
    writeFileSync(join(shim, 'tail'), '#!/bin/sh\necho "tail: not GNU tail (test shim)" >&2\nexit 1\n')
    chmodSync(join(shim, 'tail'), 0o755)
    expectExit(await runAction({ host: '', ...projectInputs(p, { ref: 'keep-1', 'compose-files': 'compose.yaml\ncompose.net.yaml', ...SLOW }) }, LONG), 'zero')
  }, TEST_MS)
  afterAll(() => cleanup(p, `fresh-deploy/previous:${p.name}.backend`))

  test.each([
    ['GNU tail', false],
    ['a tail that is not GNU', true]
  ])('with %s: killing the action\'s process group mid-build leaves the service recreated and running', async (_what, useShim) => {
    const ref = `killed-${useShim ? 'shim' : 'gnu'}`
    const dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}RUN echo "slow build of $APP_REVISION" && sleep 8\n`)
    const { env } = runnerEnvironment({ host: '', ...projectInputs(p, { ref, 'compose-files': 'compose.yaml\ncompose.net.yaml' }) }, useShim ? { PATH: `${shim}:${process.env.PATH}` } : {})
    // Its own process group, as a runner's job step: killed as one.
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/index.js')], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const closed = new Promise<void>(resolve => child.on('close', () => resolve()))
    try {
      await waitUntil(() => /slow build of/.test(out), 240_000, () => `the build did not start:\n${out}`)
    } finally {
      process.kill(-child.pid!, 'SIGKILL')
    }
    await closed
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
    // compose goes on in its own session: the service ends up recreated from the new build.
    await waitUntil(
      () => {
        const cid = serviceContainer(p)
        return cid !== '' && running(cid) && revisionOf(cid) === ref
      },
      180_000,
      () => `the service was not recreated after the runner was killed\n${out}\n${docker('ps', '-a')}`
    )
    await waitUntil(async () => (await body(p)).revision === ref, 60_000, () => `the new container does not serve ${ref}`)
  }, TEST_MS)
})
