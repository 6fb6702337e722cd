// The `fresh-deploy` command with compose v1 and an app unlike the example: a service named web,
// no healthcheck, USER nobody, a read-only root file system. See cli-helpers.ts.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { useEnvironment } from './environment.js'
import { removeProject, type Project } from './harness.js'
import { cli, expectCode, makeCliProject, setUpUser } from './cli-helpers.js'

useEnvironment()

beforeAll(() => setUpUser('fdcli-it-v1'))

describe('fresh-deploy with compose v1, a service named web without a healthcheck, USER nobody', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeCliProject('cli-v1')
    const compose = readFileSync(join(p.dir, 'compose.yaml'), 'utf8')
    writeFileSync(join(p.dir, 'compose.yaml'), compose.replace('  backend:', '  web:').replace(/ {4}healthcheck:[\s\S]*$/, '    user: nobody\n    read_only: true\n'))
  })
  afterAll(() => removeProject(p))

  test('deploy (exit 0), then status and verify', async () => {
    const common = ['--config', '/dev/null', '--host', 'fdtarget', '--project-dir', p.dir, '--compose-project-name', p.name, '--service', 'web', '--compose-command', 'docker-compose']
    const r = await cli([...common, '--ref', 'v1-1', '--verify-url', p.url, '--verify-expect', 'v1-1', '--verify-interval', '1', '--health-timeout', '60'])
    expectCode(r, 0)
    expect(r.stdout).toMatch(/docker-compose 1\./)
    const status = await cli([...common, 'status', '--json'])
    expectCode(status, 0)
    expect(JSON.parse(status.stdout)).toMatchObject({ service: 'web', running: true, health: 'none', revision: 'v1-1' })
    const verify = await cli([...common, 'verify'])
    expectCode(verify, 0)
    expect(verify.stdout).toMatch(/^ {2}health +pass {2}running, restart count 0 steady for 5 s$/m)
  })
})
