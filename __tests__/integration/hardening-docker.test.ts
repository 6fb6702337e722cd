// Issue 5 (hardening), part 6: the Docker engine goes away during a deploy.
//
// Restarting the shared dockerd would stop every other tester's containers (no live-restore on
// this engine) and this session may only end processes it started. So the engine "restarts"
// for fresh-deploy alone: the deploy runs on the local transport with DOCKER_HOST pointing at a
// socket proxy that this test owns; the test drops every connection and refuses new ones for a
// few seconds, as clients see a restart, then serves again.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, makeProject, projectInputs, removeProject, runAction, serviceContainer, transcript, type Project } from './harness.js'
import { effectiveErrors, lockLeft, sleep, startAction } from './hardening-helpers.js'

useEnvironment()

const ENGINE = '/var/run/docker.sock'

class EngineProxy {
  private server: Server | undefined
  private readonly open = new Set<Socket>()
  constructor(readonly path: string) {}

  async up(): Promise<void> {
    rmSync(this.path, { force: true })
    // Half-open sockets: docker exec/attach close their writing side and still read the answer.
    this.server = createServer({ allowHalfOpen: true }, client => {
      const engine = createConnection({ path: ENGINE, allowHalfOpen: true })
      this.open.add(client)
      this.open.add(engine)
      client.pipe(engine)
      engine.pipe(client)
      const close = (): void => {
        client.destroy()
        engine.destroy()
        this.open.delete(client)
        this.open.delete(engine)
      }
      client.on('error', close).on('close', close)
      engine.on('error', close).on('close', close)
    })
    await new Promise<void>(r => this.server?.listen(this.path, () => r()))
  }

  /** The engine "stops": every connection dropped, the socket gone. */
  async down(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const s of this.open) s.destroy()
    this.open.clear()
    if (server) await new Promise<void>(r => server.close(() => r()))
    rmSync(this.path, { force: true })
  }

  /** Down for `seconds`, then up again: a restart as a client sees it. */
  async restart(seconds: number): Promise<void> {
    await this.down()
    await sleep(seconds * 1000)
    await this.up()
  }
}

describe('the Docker engine restarts during a deploy', () => {
  let p: Project
  let proxy: EngineProxy
  let dockerfile: string
  let compose: string
  const env = (): NodeJS.ProcessEnv => ({ DOCKER_HOST: `unix://${proxy.path}` })
  const inputs = (extra: Record<string, string>): Record<string, string> => ({ host: '', ...projectInputs(p, extra) })
  beforeAll(async () => {
    p = await makeProject('hengine')
    proxy = new EngineProxy(`/tmp/fd-engine-${process.pid}.sock`)
    await proxy.up()
    dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8')
    compose = readFileSync(join(p.dir, 'compose.yaml'), 'utf8')
    const first = await runAction(inputs({ ref: 'e-1' }), { env: env() })
    expectExit(first, 'zero')
  })
  afterAll(async () => {
    await proxy.down()
    removeProject(p)
  })

  test('during the build: a clear error, the old container keeps serving, the next deploy is fresh', async () => {
    const cid = serviceContainer(p)
    writeFileSync(join(p.dir, 'Dockerfile'), `${dockerfile}RUN echo "building $APP_REVISION" && sleep 6\n`)
    const started = startAction(inputs({ ref: 'e-2' }), { env: env() })
    await started.waitFor(/^\+ docker.* up -d/)
    await sleep(1500)
    await proxy.restart(5)
    const run = await started.done
    expectExit(run, 'non-zero')
    const errs = effectiveErrors(run.stdout)
    if (errs.length !== 1 || !/rebuild failed on the target .*compose exit [1-9]/.test(errs[0])) throw new Error(`expected one rebuild error\n${transcript(run)}`)
    expect(run.outputs.verdict).toBe('error')
    expect(serviceContainer(p)).toBe(cid)
    expect(docker('inspect', '--format', '{{.State.Running}}', cid)).toBe('true')
    expect(lockLeft(p)).toEqual([])
    const again = await runAction(inputs({ ref: 'e-3', 'verify-expect': 'e-3' }), { env: env() })
    expectExit(again, 'zero')
    expect(again.outputs.verdict).toBe('fresh')
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
  })

  test('during the health wait: a short outage is waited out, not taken for a dead container (no rollback of a good deploy)', async () => {
    // The new container gets healthy only after 8 s, so the outage falls into the health wait.
    writeFileSync(
      join(p.dir, 'compose.slow.yaml'),
      [
        'services:',
        '  backend:',
        '    command: ["sh", "-c", "sleep 8; touch /tmp/ready; exec python3 -m app.server"]',
        '    healthcheck:',
        '      test: ["CMD-SHELL", "test -f /tmp/ready"]',
        '      interval: 1s',
        ''
      ].join('\n')
    )
    const started = startAction(inputs({ ref: 'e-4', 'compose-files': 'compose.yaml\ncompose.slow.yaml', 'verify-expect': 'e-4', 'health-timeout': '60' }), { env: env() })
    await started.waitFor(/^::group::verify/)
    await sleep(1000)
    await proxy.restart(4)
    const run = await started.done
    if (run.code !== 0) throw new Error(`a 4 s engine outage during the health wait failed the deploy\n${transcript(run)}`)
    expect(run.outputs.verdict).toBe('fresh')
    expect(run.outputs['rolled-back']).toBe('false')
    expect(JSON.parse((await httpGet(p.url)).body).revision).toBe('e-4')
    expect(lockLeft(p)).toEqual([])
    writeFileSync(join(p.dir, 'compose.yaml'), compose)
  })
})
