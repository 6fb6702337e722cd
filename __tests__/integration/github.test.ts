// Issue 4: the Deployments API and the job summary, through the bundled action. A local HTTP
// server stands in for api.github.com; the requests it receives are asserted.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { freePort } from './sshd.js'
import { makeProject, projectInputs, removeProject, runAction, sshd, sshInputs, type Project } from './harness.js'

useEnvironment()

interface Seen {
  method: string
  url: string
  auth: string
  body: Record<string, unknown>
}

let server: Server
let seen: Seen[] = []
let api = ''
let refuse = false
beforeAll(async () => {
  server = createServer((req, res) => {
    let data = ''
    req.on('data', c => (data += c))
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: String(req.headers.authorization ?? ''), body: data ? JSON.parse(data) : {} })
      res.setHeader('content-type', 'application/json')
      if (refuse) {
        res.statusCode = 403
        res.end(JSON.stringify({ message: 'Resource not accessible by integration' }))
      } else if (req.url?.endsWith('/deployments')) {
        res.statusCode = 201
        res.end(JSON.stringify({ id: 777, url: `${api}/repos/acme/shop/deployments/777` }))
      } else {
        res.statusCode = 201
        res.end(JSON.stringify({ id: seen.length }))
      }
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>(r => server.close(() => r())))

let p: Project
beforeAll(async () => {
  p = await makeProject('github')
})
afterAll(() => removeProject(p))

const env = (): NodeJS.ProcessEnv => ({ GITHUB_API_URL: api, GITHUB_REPOSITORY: 'acme/shop', GITHUB_SERVER_URL: 'https://github.example', GITHUB_RUN_ID: '4242' })
const deployInputs = (extra: Record<string, string> = {}): Record<string, string> => ({
  ...sshInputs(),
  ...projectInputs(p, { environment: 'production', 'environment-url': 'https://shop.example', 'github-token': 'ghs_testtoken123', ref: 'abc123', ...extra })
})

test('a successful deploy creates a deployment, posts in_progress then success, and writes the summary', async () => {
  seen = []
  const run = await runAction(deployInputs({ 'verify-expect': 'abc123' }), { env: env() })
  expectExit(run, 'zero')
  expect(run.outputs['deployment-id']).toBe('777')
  expect(seen.map(s => `${s.method} ${s.url}`)).toEqual([
    'POST /repos/acme/shop/deployments',
    'POST /repos/acme/shop/deployments/777/statuses',
    'POST /repos/acme/shop/deployments/777/statuses'
  ])
  expect(seen[0].body).toMatchObject({ ref: 'abc123', environment: 'production', auto_merge: false, required_contexts: [] })
  expect(seen[1].body).toMatchObject({ state: 'in_progress', log_url: 'https://github.example/acme/shop/actions/runs/4242/attempts/1' })
  expect(seen[2].body).toMatchObject({ state: 'success', environment_url: 'https://shop.example' })
  expect(seen.every(s => /ghs_testtoken123/.test(s.auth))).toBe(true)
  expect(run.stdout).not.toContain('ghs_testtoken123')

  // The job summary: verdict in the heading, steps with times, probes with evidence.
  const s = run.summary
  expect(s).toContain('## fresh-deploy ✅ fresh: the new code is what runs')
  for (const step of ['connect', 'lock', 'sync', 'snapshot', 'purge', 'rebuild', 'verify', 'report']) expect(s).toMatch(new RegExp(`\\| ${step} \\| (✅ ok|⏭️ skipped) \\| \\d+\\.\\d s \\|`))
  for (const probe of ['recreated', 'image', 'source', 'bytecode', 'health', 'http']) expect(s).toMatch(new RegExp(`\\| ${probe} \\| ✅ pass \\|`))
  expect(s).toMatch(/\*\*Purged\*\*: \d+ bytecode item/)
  // No secret in the summary.
  for (const line of sshd().userKeyText.split('\n').filter(l => l && !l.startsWith('-----'))) expect(s).not.toContain(line)
  expect(s).not.toContain('ghs_testtoken123')
})

test('a deploy that fails early still marks the deployment failure', async () => {
  seen = []
  const run = await runAction(deployInputs({ 'project-dir': `${p.dir}/does-not-exist` }), { env: env() })
  expectExit(run, 'non-zero')
  expect(errors(run)[0]).toMatch(/input project-dir: ".*does-not-exist" no such directory on the target/)
  expect(seen.map(s => (s.body.state as string) ?? 'create')).toEqual(['create', 'in_progress', 'failure'])
  expect(run.summary).toContain('❌ error')
})

test('without permission for deployments it warns and deploys all the same', async () => {
  seen = []
  refuse = true
  try {
    const run = await runAction(deployInputs(), { env: env() })
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(run.outputs['deployment-id']).toBe('')
    expect(run.stdout).toMatch(/::warning::.*deployment/i)
  } finally {
    refuse = false
  }
})

test('several hosts: one deployment for the whole run; its status follows the worst verdict', async () => {
  seen = []
  const dead = `127.0.0.1:${await freePort()}`
  const run = await runAction(deployInputs({ host: `127.0.0.1:${sshd().port}\n${dead}`, 'verify-expect': 'abc123', 'connect-timeout': '5' }), { env: env() })
  expectExit(run, 'non-zero')
  expect((JSON.parse(run.outputs.hosts) as { verdict: string }[]).map(h => h.verdict)).toEqual(['fresh', 'error'])
  expect(run.outputs['deployment-id']).toBe('777')
  expect(seen.map(s => (s.body.state as string) ?? 'create')).toEqual(['create', 'in_progress', 'failure'])
  expect(seen[0].body).toMatchObject({ ref: 'abc123', environment: 'production', description: 'fresh-deploy of backend to 2 hosts' })
  expect(run.summary).toContain('| host | verdict | time | container | image |')
})
