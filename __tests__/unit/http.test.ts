// The http probe's clients and its one judgement, against a real local HTTP server: the target
// side (http-poll.sh + http-client.sh, with curl, wget and python3 each alone on PATH, and
// stand-ins for the client selection) and the runner side (fetch, with and without a proxy).
import { jest } from '@jest/globals'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { httpProbeFromRunner, judgeBody, proxyFor } from '../../src/engine/http-probe.js'
import { parseHttpRecords } from '../../src/engine/probes.js'
import { readScript } from '../../src/engine/scripts.js'

const BIG = `${'x'.repeat(5000)} version=7\n`
// Real processes and sockets, on a machine that may be busy.
jest.setTimeout(60_000)

function app(req: IncomingMessage, res: ServerResponse): void {
  const send = (status: number, body: string): void => {
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  }
  if (req.url === '/old') {
    res.writeHead(302, { Location: '/big', 'Content-Length': 0 })
    res.end()
  } else if (req.url === '/big') send(200, BIG)
  else if (req.url === '/slow') setTimeout(() => send(200, 'slow version=7\n'), 2500)
  else if (req.url === '/down') send(503, 'starting up\n')
  else if (req.url === '/hang') return
  else if (req.url === '/[x]{y}') send(200, 'brackets version=7\n')
  else send(404, 'no such page\n')
}

let server: Server
let base = ''
let dir = ''
beforeAll(async () => {
  server = createServer(app)
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  dir = mkdtempSync(join(tmpdir(), 'fd-http-'))
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise(r => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.on('error', e => resolve({ code: -1, stdout, stderr: String(e) }))
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
}

/** A PATH dir with the tools the scripts need, plus `clients` (real ones, from this machine). */
function pathWith(name: string, clients: string[]): string {
  const bin = join(dir, name)
  if (existsSync(bin)) return bin
  mkdirSync(bin)
  const tools = ['sh', 'bash', 'cat', 'sed', 'head', 'tail', 'grep', 'tr', 'mktemp', 'rm', 'date', 'base64', 'wc', 'sleep', 'timeout', ...clients]
  for (const t of tools) {
    const found = ['/usr/local/bin', '/usr/bin', '/bin'].map(d => join(d, t)).find(p => existsSync(p))
    if (!found) throw new Error(`this test needs ${t} on the machine`)
    symlinkSync(found, join(bin, t))
  }
  return bin
}

/** http-poll.sh as verify.sh and http.sh run it; the records as the runner parses them. */
async function poll(path: string, opts: { clients: string[]; expect?: string; timeout?: number; interval?: number; once?: boolean }) {
  const bin = pathWith(`clients-${opts.clients.join('-') || 'none'}`, opts.clients)
  const env: NodeJS.ProcessEnv = {
    PATH: bin,
    FD_HTTP_MODE: 'host',
    FD_VERIFY_URL: `${base}${path}`,
    FD_VERIFY_EXPECT: opts.expect ?? 'version=7',
    FD_VERIFY_TIMEOUT: String(opts.timeout ?? 10),
    FD_VERIFY_INTERVAL: String(opts.interval ?? 1),
    FD_HTTP_ONCE: opts.once ? '1' : '',
    FD_HTTP_CLIENT_SH: readScript('http-client.sh'),
    FD_HTTP_PY: readScript('http-get.py')
  }
  const t0 = Date.now()
  const r = await run('bash', ['-c', readScript('http-poll.sh'), 'http-poll'], env)
  const records = r.stdout
    .split('\n')
    .filter(Boolean)
    .map(l => ({ key: l.split(' ')[0], value: l.split(' ').slice(1).join(' ') }))
  return { ...r, seconds: (Date.now() - t0) / 1000, http: parseHttpRecords(records, 'host')! }
}

describe.each([['curl'], ['wget'], ['python3']])('http-poll.sh with %s alone on the target', client => {
  const clients = [client]
  test('the expected text past byte 2000 is found where the body is: match, offset, a snippet around it', async () => {
    const { http } = await poll('/big', { clients })
    expect(http).toMatchObject({ status: '200', match: 'yes', at: 5001, size: BIG.length, attempts: 1, pending: false })
    expect(http.client).toMatch(new RegExp(`^${client}`))
    // 120 bytes before the match (the last is the space), the match, what follows.
    expect(http.snippet).toBe(`${'x'.repeat(119)} version=7\n`)
  })
  test('a redirect is followed', async () => {
    expect((await poll('/old', { clients })).http).toMatchObject({ status: '200', match: 'yes', at: 5001 })
  })
  test('an answer slower than verify-interval is an answer (the request gets the time left)', async () => {
    const { http } = await poll('/slow', { clients, interval: 1, timeout: 10 })
    expect(http).toMatchObject({ status: '200', match: 'yes', attempts: 1 })
  })
  test('a non-2xx answer: its status and body are reported; one attempt when asked, pending', async () => {
    const { http } = await poll('/down', { clients, once: true })
    expect(http).toMatchObject({ status: '503', match: 'no', attempts: 1, pending: true, snippet: 'starting up\n' })
    expect(http.deadline).toBeGreaterThan(Date.now() / 1000)
  })
  test('a request that never answers ends at the deadline: 000', async () => {
    const { http, seconds } = await poll('/hang', { clients, timeout: 2 })
    expect(http).toMatchObject({ status: '000', pending: false })
    expect(seconds).toBeLessThan(8)
  })
})

test('curl takes [] and {} in the URL literally (--globoff)', async () => {
  expect((await poll('/[x]{y}', { clients: ['curl'] })).http).toMatchObject({ status: '200', match: 'yes' })
})

test('polls until the answer passes or verify-timeout ends, every verify-interval', async () => {
  const { http, seconds } = await poll('/down', { clients: ['curl'], timeout: 10, interval: 1 })
  expect(http.status).toBe('503')
  expect(http.attempts).toBeGreaterThanOrEqual(2)
  expect(seconds).toBeLessThan(20)
})

test('no client at all: http-no-client with what was looked for', async () => {
  const { http } = await poll('/big', { clients: [] })
  expect(http.error).toContain('no http client on the target host (looked for curl, wget, python3, busybox wget)')
})

describe('http-client.sh: which client, in the order given (stand-in binaries)', () => {
  const standIns: Record<string, string> = {
    curl: '#!/bin/sh\necho "curl $*"\n',
    python3: '#!/bin/sh\necho "python3 $2"\n',
    'wget-gnu': '#!/bin/sh\n[ "$1" = --version ] && { echo "GNU Wget 1.21.3"; exit 0; }\necho "wget $*"\n',
    'wget-busybox': '#!/bin/sh\n[ "$1" = --version ] && exit 1\necho "bbwget $*"\n',
    'busybox-wget': '#!/bin/sh\n[ "$1" = --list ] && { printf "sh\\nwget\\nhttpd\\n"; exit 0; }\necho "busybox $*"\n',
    'busybox-nowget': '#!/bin/sh\n[ "$1" = --list ] && { printf "sh\\nhttpd\\n"; exit 0; }\necho "busybox $*"\n'
  }
  let n = 0
  async function pick(order: string, have: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const bin = join(dir, `standins-${n++}`)
    mkdirSync(bin)
    for (const t of ['sh', 'grep']) symlinkSync(['/usr/bin', '/bin'].map(d => join(d, t)).find(p => existsSync(p))!, join(bin, t))
    for (const h of have) writeFileSync(join(bin, h.split('-')[0]), standIns[h], { mode: 0o755 })
    return run('sh', ['-c', readScript('http-client.sh'), 'fd-http', order, 'http://h/x', '7', 'PYCODE', '1048576'], { PATH: bin })
  }
  const CONTAINER = 'python3 curl wget busybox'
  test('in the container: python3 first', async () => {
    const r = await pick(CONTAINER, ['curl', 'python3', 'wget-gnu', 'busybox-wget'])
    expect(r.stderr).toBe('fd-http-client python3\n')
    expect(r.stdout).toBe('python3 PYCODE\n')
  })
  test('then curl, with redirects, --globoff and the time left', async () => {
    const r = await pick(CONTAINER, ['curl', 'wget-gnu'])
    expect(r.stderr).toBe('fd-http-client curl\n')
    expect(r.stdout).toBe('curl -sS -L --globoff --max-redirs 20 --max-time 7 -D /dev/stderr -o - --url http://h/x\n')
  })
  test('then GNU wget: one try, the body of an error kept', async () => {
    const r = await pick(CONTAINER, ['wget-gnu', 'busybox-wget'])
    expect(r.stderr).toBe('fd-http-client wget\n')
    expect(r.stdout).toBe('wget -S --tries=1 --max-redirect=20 --content-on-error -T 7 -O - -- http://h/x\n')
  })
  test('a wget that is not GNU (busybox\'s applet) gets only the options it knows', async () => {
    const r = await pick(CONTAINER, ['wget-busybox'])
    expect(r.stderr).toBe('fd-http-client wget (busybox)\n')
    expect(r.stdout).toBe('bbwget -S -T 7 -O - http://h/x\n')
  })
  test('then busybox wget, when busybox has the applet', async () => {
    const r = await pick(CONTAINER, ['busybox-wget'])
    expect(r.stderr).toBe('fd-http-client busybox wget\n')
    expect(r.stdout).toBe('busybox wget -S -T 7 -O - http://h/x\n')
  })
  test('busybox without wget, nothing else: none, exit 127, naming what was looked for', async () => {
    const r = await pick(CONTAINER, ['busybox-nowget'])
    expect(r.code).toBe(127)
    expect(r.stderr).toBe('fd-http-client none (looked for python3 curl wget busybox-wget)\n')
    expect(r.stdout).toBe('')
  })
  test('on the host: curl first', async () => {
    expect((await pick('curl wget python3 busybox', ['curl', 'python3', 'wget-gnu'])).stderr).toBe('fd-http-client curl\n')
  })
})

describe('the runner side (verify-from: runner)', () => {
  test('judges the whole body: the expected text at byte 5001', async () => {
    const h = await httpProbeFromRunner({ url: `${base}/big`, expect: 'version=7', timeoutSeconds: 10, intervalSeconds: 1 })
    expect(h).toMatchObject({ status: '200', match: 'yes', at: 5001, size: BIG.length, attempts: 1, client: 'fetch', from: 'runner' })
  })
  test('follows a redirect; waits for a slow answer longer than verify-interval', async () => {
    expect(await httpProbeFromRunner({ url: `${base}/old`, expect: 'version=7', timeoutSeconds: 10, intervalSeconds: 1 })).toMatchObject({ status: '200', match: 'yes' })
    expect(await httpProbeFromRunner({ url: `${base}/slow`, expect: 'version=7', timeoutSeconds: 10, intervalSeconds: 1 })).toMatchObject({ status: '200', match: 'yes', attempts: 1 })
  })
  test('once: one attempt, pending while time is left', async () => {
    const h = await httpProbeFromRunner({ url: `${base}/down`, expect: 'version=7', timeoutSeconds: 10, intervalSeconds: 1, once: true })
    expect(h).toMatchObject({ status: '503', match: 'no', attempts: 1, pending: true })
  })
  test('a request that never answers ends at verify-timeout', async () => {
    const t0 = Date.now()
    const h = await httpProbeFromRunner({ url: `${base}/hang`, expect: '', timeoutSeconds: 2, intervalSeconds: 1 })
    expect(h.status).toBe('000')
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  describe('through the proxy HTTP_PROXY names, unless NO_PROXY exempts the host', () => {
    let proxy: Server
    let proxied: string[] = []
    beforeAll(async () => {
      // A forwarding proxy: absolute-form request lines, answered from the app with a mark.
      proxy = createServer((req, res) => {
        proxied.push(req.url ?? '')
        const target = new URL(req.url ?? '')
        const up = request({ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers }, upRes => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          upRes.pipe(res)
        })
        up.on('error', () => res.writeHead(502).end())
        req.pipe(up)
      })
      await new Promise<void>(r => proxy.listen(0, '127.0.0.1', r))
    })
    afterAll(async () => {
      proxy.closeAllConnections()
      await new Promise(r => proxy.close(r))
    })
    beforeEach(() => (proxied = []))
    const proxyUrl = (): string => `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    // The app's own address goes through the proxy under another name than NO_PROXY's.
    test('http_proxy set: the request goes through it', async () => {
      const h = await httpProbeFromRunner({ url: `${base}/big`, expect: 'version=7', timeoutSeconds: 10, intervalSeconds: 1, env: { http_proxy: proxyUrl() } })
      expect(h).toMatchObject({ status: '200', match: 'yes', at: 5001 })
      expect(proxied).toEqual([`${base}/big`])
    })
    test('HTTP_PROXY with NO_PROXY naming the host: direct', async () => {
      const h = await httpProbeFromRunner({ url: `${base}/big`, expect: 'version=7', timeoutSeconds: 10, intervalSeconds: 1, env: { HTTP_PROXY: proxyUrl(), NO_PROXY: 'example.com,127.0.0.1' } })
      expect(h).toMatchObject({ status: '200', match: 'yes' })
      expect(proxied).toEqual([])
    })
    test('a proxy that does not answer: no 2xx (the proxy is really used)', async () => {
      const h = await httpProbeFromRunner({ url: `${base}/big`, expect: 'version=7', timeoutSeconds: 2, intervalSeconds: 1, env: { HTTP_PROXY: 'http://127.0.0.1:1' } })
      expect(h.status).toBe('000')
    })
    test('proxyFor: lowercase first, by scheme', () => {
      expect(proxyFor('http://a/', { http_proxy: 'http://l', HTTP_PROXY: 'http://u' })).toBe('http://l')
      expect(proxyFor('https://a/', { HTTP_PROXY: 'http://u' })).toBe('')
      expect(proxyFor('HTTPS://a/', { HTTPS_PROXY: 'http://s' })).toBe('http://s')
    })
  })
})

describe('judgeBody (the runner\'s judgement, the same rules as http-poll.sh)', () => {
  test('byte offsets, UTF-8 text, a snippet of 120 bytes either side', () => {
    const body = Buffer.from(`${'é'.repeat(100)}needle${'z'.repeat(300)}`)
    expect(judgeBody(body, 'needle')).toEqual({ match: 'yes', at: 200, size: body.length, snippet: `${'é'.repeat(60)}needle${'z'.repeat(120)}` })
  })
  test('no match: the body\'s first 300 bytes; no expect: none', () => {
    expect(judgeBody(Buffer.from('a'.repeat(400)), 'b')).toMatchObject({ match: 'no', snippet: 'a'.repeat(300) })
    expect(judgeBody(Buffer.from('abc'), '')).toMatchObject({ match: 'none', snippet: 'abc' })
  })
})
