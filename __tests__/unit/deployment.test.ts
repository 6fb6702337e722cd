// The Deployments API client against a real local HTTP server standing in for api.github.com
// (GITHUB_API_URL points at it, with a GHES-style /api/v3 prefix). Nothing is mocked: requests
// go through @actions/github's Octokit, and warnings are read from what @actions/core writes.
import { jest } from '@jest/globals'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { logUrl, repoFromEnv, startDeployment, truncate } from '../../src/action/deployment.js'

interface Recorded {
  method: string
  path: string
  auth: string
  body: Record<string, unknown>
}

type Reply = { status: number; body: unknown }
type Responder = (req: Recorded) => Reply

const TOKEN = 'ghs_testTOKEN0123456789'
const PREFIX = '/api/v3'
let server: http.Server
let base = ''
let requests: Recorded[] = []
let responder: Responder
let out: string[] = []
const savedEnv = { ...process.env }

function defaultResponder(req: Recorded): Reply {
  if (req.method === 'POST' && req.path === `${PREFIX}/repos/acme/shop/deployments`) {
    return { status: 201, body: { id: 4242, ref: req.body.ref, environment: req.body.environment } }
  }
  if (req.method === 'POST' && req.path === `${PREFIX}/repos/acme/shop/deployments/4242/statuses`) {
    return { status: 201, body: { id: 1, state: req.body.state } }
  }
  return { status: 404, body: { message: 'Not Found' } }
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const rec: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        auth: String(req.headers.authorization ?? ''),
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {}
      }
      requests.push(rec)
      const reply = responder(rec)
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(reply.body))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()))
})

beforeEach(() => {
  requests = []
  responder = defaultResponder
  out = []
  process.env.GITHUB_API_URL = `${base}${PREFIX}`
  process.env.GITHUB_REPOSITORY = 'acme/shop'
  process.env.GITHUB_SERVER_URL = 'https://github.example'
  process.env.GITHUB_RUN_ID = '987654'
  process.env.GITHUB_RUN_ATTEMPT = '2'
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk))
    return true
  })
})

afterEach(() => {
  jest.restoreAllMocks()
  process.env = { ...savedEnv }
})

const warnings = (): string[] => out.filter(l => l.startsWith('::warning')).map(l => l.trim())

const options = {
  token: TOKEN,
  environment: 'production',
  environmentUrl: 'https://shop.example/',
  ref: '0123456789abcdef0123456789abcdef01234567',
  description: 'fresh-deploy of backend'
}
const LOG_URL = 'https://github.example/acme/shop/actions/runs/987654/attempts/2'

describe('startDeployment', () => {
  test('creates the deployment, posts in_progress, then success', async () => {
    const handle = await startDeployment(options)
    expect(handle?.id).toBe(4242)
    expect(requests).toHaveLength(2)

    const [create, progress] = requests
    expect(create.method).toBe('POST')
    expect(create.path).toBe('/api/v3/repos/acme/shop/deployments')
    expect(create.body).toEqual({
      ref: options.ref,
      environment: 'production',
      auto_merge: false,
      required_contexts: [],
      description: 'fresh-deploy of backend',
      transient_environment: false
    })
    expect(progress.method).toBe('POST')
    expect(progress.path).toBe('/api/v3/repos/acme/shop/deployments/4242/statuses')
    expect(progress.body).toEqual({
      state: 'in_progress',
      description: 'fresh-deploy of backend',
      log_url: LOG_URL,
      environment_url: 'https://shop.example/'
    })

    await handle!.finish('success', 'verified: fresh')
    expect(requests).toHaveLength(3)
    expect(requests[2].path).toBe('/api/v3/repos/acme/shop/deployments/4242/statuses')
    expect(requests[2].body).toEqual({
      state: 'success',
      description: 'verified: fresh',
      log_url: LOG_URL,
      environment_url: 'https://shop.example/'
    })
    expect(requests.map(r => r.body.state ?? 'create')).toEqual(['create', 'in_progress', 'success'])
    for (const r of requests) expect(r.auth).toMatch(new RegExp(`^(token|Bearer) ${TOKEN}$`))
    expect(warnings()).toEqual([])
    expect(out.join('')).not.toContain(TOKEN)
  })

  test('finish on failure posts failure, once', async () => {
    const handle = await startDeployment(options)
    await handle!.finish('failure', 'verdict stale: probe source failed')
    await handle!.finish('success', 'ignored: already finished')
    expect(requests.map(r => r.body.state ?? 'create')).toEqual(['create', 'in_progress', 'failure'])
    expect(requests[2].body.description).toBe('verdict stale: probe source failed')
  })

  test('descriptions are cut to 140 characters', async () => {
    const long = 'x'.repeat(300)
    const handle = await startDeployment({ ...options, description: long })
    await handle!.finish('failure', 'y'.repeat(500))
    for (const r of requests) {
      expect(typeof r.body.description).toBe('string')
      expect(Array.from(r.body.description as string).length).toBeLessThanOrEqual(140)
    }
    expect(requests[2].body.description).toMatch(/^y+…$/)
  })

  test('no environment_url when environmentUrl is empty; log_url without attempt', async () => {
    delete process.env.GITHUB_RUN_ATTEMPT
    const handle = await startDeployment({ ...options, environmentUrl: '' })
    await handle!.finish('success', 'ok')
    for (const r of requests.slice(1)) {
      expect(r.body).not.toHaveProperty('environment_url')
      expect(r.body.log_url).toBe('https://github.example/acme/shop/actions/runs/987654')
    }
  })

  test.each([403, 404])('an API that answers %i gives a warning and undefined', async status => {
    responder = () => ({ status, body: { message: 'Resource not accessible by integration' } })
    await expect(startDeployment(options)).resolves.toBeUndefined()
    expect(requests).toHaveLength(1)
    const w = warnings()
    expect(w).toHaveLength(1)
    expect(w[0]).toContain('production')
    expect(w[0]).toContain(String(status))
    expect(w[0]).toContain('deployments: write')
    expect(out.join('')).not.toContain(TOKEN)
  })

  test('an unreachable API gives a warning and undefined', async () => {
    const closed = http.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>(resolve => closed.close(() => resolve()))
    process.env.GITHUB_API_URL = `http://127.0.0.1:${port}`
    await expect(startDeployment(options)).resolves.toBeUndefined()
    expect(warnings()).toHaveLength(1)
  })

  test('a 202 without an id (auto-merge answer) gives a warning and undefined', async () => {
    responder = () => ({ status: 202, body: { message: 'Auto-merged main into topic on deployment.' } })
    await expect(startDeployment(options)).resolves.toBeUndefined()
    expect(warnings()[0]).toContain('202')
  })

  test('no token: warning, undefined, no request', async () => {
    await expect(startDeployment({ ...options, token: '' })).resolves.toBeUndefined()
    expect(requests).toHaveLength(0)
    expect(warnings()[0]).toContain('github-token')
  })

  test('no GITHUB_REPOSITORY: warning, undefined, no request', async () => {
    delete process.env.GITHUB_REPOSITORY
    await expect(startDeployment(options)).resolves.toBeUndefined()
    expect(requests).toHaveLength(0)
    expect(warnings()[0]).toContain('GITHUB_REPOSITORY')
  })

  test('in_progress refused: the handle is still returned and finish is still posted', async () => {
    let statuses = 0
    responder = req => {
      if (req.path.endsWith('/statuses') && statuses++ === 0) return { status: 500, body: { message: 'boom' } }
      return defaultResponder(req)
    }
    const handle = await startDeployment(options)
    expect(handle?.id).toBe(4242)
    expect(warnings()[0]).toContain('in_progress')
    await handle!.finish('success', 'ok')
    expect(requests.map(r => r.body.state ?? 'create')).toEqual(['create', 'in_progress', 'success'])
  })

  test('finish never throws when the API refuses', async () => {
    const handle = await startDeployment(options)
    responder = () => ({ status: 403, body: { message: 'Forbidden' } })
    await expect(handle!.finish('failure', 'bad')).resolves.toBeUndefined()
    const w = warnings()
    expect(w).toHaveLength(1)
    expect(w[0]).toContain('failure')
    expect(w[0]).toContain('403')
  })
})

describe('helpers', () => {
  test('logUrl', () => {
    expect(logUrl({ GITHUB_SERVER_URL: 'https://github.com/', GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: '7' })).toBe(
      'https://github.com/a/b/actions/runs/7'
    )
    expect(logUrl({ GITHUB_REPOSITORY: 'a/b', GITHUB_RUN_ID: '7', GITHUB_RUN_ATTEMPT: '3' })).toBe(
      'https://github.com/a/b/actions/runs/7/attempts/3'
    )
    expect(logUrl({ GITHUB_REPOSITORY: 'a/b' })).toBeUndefined()
  })

  test('repoFromEnv', () => {
    expect(repoFromEnv({ GITHUB_REPOSITORY: 'acme/shop' })).toEqual({ owner: 'acme', repo: 'shop' })
    expect(repoFromEnv({ GITHUB_REPOSITORY: 'nonsense' })).toBeUndefined()
    expect(repoFromEnv({})).toBeUndefined()
  })

  test('truncate', () => {
    expect(truncate('short')).toBe('short')
    expect(Array.from(truncate('é'.repeat(200))).length).toBe(140)
  })
})
