// The http probe's polling, decided on the runner. verify.sh makes the first attempt on the
// target (verify-from: host or container); the runner polls further (http.sh on the target, or
// its own requests with verify-from: runner) only while no other probe failed: a container that
// runs the wrong image or files stays stale however long one waits.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { failedBesidesHttp, parseHttpRecords, type HttpFrom, type HttpResult, type ProbeContext, type VerifyFacts } from './probes.js'
import type { RemoteRecord } from './transport.js'

/** Bytes of the body that are read and judged, wherever the probe runs (http-poll.sh too). */
export const HTTP_BODY_LIMIT = 1 << 20

export interface HttpProbeOptions {
  url: string
  expect: string
  timeoutSeconds: number
  intervalSeconds: number
  /** One attempt; when it does not pass and time is left, the result is `pending`. */
  once?: boolean
  /** The environment whose http(s)_proxy / no_proxy apply (default: process.env). */
  env?: NodeJS.ProcessEnv
}

/**
 * The proxy for this URL from the environment, as curl and wget read it: http_proxy /
 * https_proxy (lowercase first), unless no_proxy names the host ("*", a host, a .domain or a
 * domain that the host ends with, optionally with :port). Node's fetch ignores these variables
 * (Node 24's NODE_USE_ENV_PROXY works only when set at start-up, which an action cannot do), so
 * the runner-side probe applies them itself.
 */
export function proxyFor(url: string, env: NodeJS.ProcessEnv): string {
  const u = new URL(url)
  const value = u.protocol === 'https:' ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY)
  if (!value) return ''
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = u.port || (u.protocol === 'https:' ? '443' : '80')
  for (const raw of (env.no_proxy ?? env.NO_PROXY ?? '').split(',')) {
    let entry = raw.trim().toLowerCase()
    if (entry === '*') return ''
    if (!entry) continue
    let entryPort = ''
    const m = /^(.*[^:]):(\d+)$/.exec(entry)
    if (m && !m[1].includes(':')) [entry, entryPort] = [m[1], m[2]]
    entry = entry.replace(/^\*?\./, '').replace(/^\[|\]$/g, '')
    if ((host === entry || host.endsWith(`.${entry}`)) && (!entryPort || entryPort === port)) return ''
  }
  return value.includes('://') ? value : `http://${value}`
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {}
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return { 'proxy-authorization': `Basic ${Buffer.from(user).toString('base64')}` }
}

/** One GET through `proxy`: http:// in absolute form, https:// through a CONNECT tunnel. */
function getViaProxy(url: URL, proxy: string, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => reject(e)
    if (!proxy) {
      ;(url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: 'GET', signal }, resolve).on('error', fail).end()
      return
    }
    const p = new URL(proxy)
    const at = { host: p.hostname.replace(/^\[|\]$/g, ''), port: p.port || 80, signal }
    if (url.protocol === 'http:') {
      httpRequest({ ...at, method: 'GET', path: url.href, headers: { host: url.host, ...proxyAuth(p) } }, resolve).on('error', fail).end()
      return
    }
    const target = `${url.hostname}:${url.port || 443}`
    const tunnel = httpRequest({ ...at, method: 'CONNECT', path: target, headers: { host: target, ...proxyAuth(p) } })
    tunnel.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        reject(new Error(`the proxy refused CONNECT ${target}: ${res.statusCode}`))
        return
      }
      const servername = url.hostname.replace(/^\[|\]$/g, '')
      httpsRequest(url, { method: 'GET', signal, createConnection: () => tlsConnect({ socket, servername }) }, resolve).on('error', fail).end()
    })
    tunnel.on('error', fail).end()
  })
}

/** The body, at most `limit` bytes; what came before a timeout or a cut connection is kept. */
async function readStream(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      chunks.push(Buffer.from(chunk))
      size += chunk.byteLength
      if (size >= limit) break
    }
  } catch {
    /* judged on what came */
  }
  return Buffer.concat(chunks).subarray(0, limit)
}

/** GET with redirects followed (20 at most, as curl is told), each hop through its own proxy. */
async function get(url: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<{ status: number; body: Buffer }> {
  let u = new URL(url)
  if (!proxyFor(url, env)) {
    const res = await fetch(u, { signal, redirect: 'follow' })
    return { status: res.status, body: res.body ? await readStream(res.body as unknown as AsyncIterable<Uint8Array>, HTTP_BODY_LIMIT) : Buffer.alloc(0) }
  }
  for (let hop = 0; ; hop++) {
    const res = await getViaProxy(u, proxyFor(u.href, env), signal)
    const status = res.statusCode ?? 0
    if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && hop < 20) {
      res.resume()
      u = new URL(res.headers.location, u)
      continue
    }
    const body = await readStream(res, HTTP_BODY_LIMIT)
    res.destroy()
    return { status, body }
  }
}

/** The same judgement as http-poll.sh: the byte offset of verify-expect, and a snippet. */
export function judgeBody(body: Buffer, expect: string): Pick<HttpResult, 'match' | 'at' | 'size' | 'snippet'> {
  if (!expect) return { match: 'none', at: 0, size: body.length, snippet: body.subarray(0, 300).toString('utf8') }
  const needle = Buffer.from(expect, 'utf8')
  const at = body.indexOf(needle)
  if (at < 0) return { match: 'no', at: 0, size: body.length, snippet: body.subarray(0, 300).toString('utf8') }
  const from = Math.max(0, at - 120)
  return { match: 'yes', at, size: body.length, snippet: body.subarray(from, at + needle.length + 120).toString('utf8') }
}

/** The http probe from the runner (verify-from: runner). */
export async function httpProbeFromRunner(o: HttpProbeOptions): Promise<HttpResult> {
  const env = o.env ?? process.env
  const deadline = Date.now() + o.timeoutSeconds * 1000
  const result: HttpResult = { attempts: 0, status: '000', match: 'none', snippet: '', at: 0, size: 0, client: 'fetch', from: 'runner', pending: false, deadline: 0 }
  for (;;) {
    result.attempts++
    // One request may take until verify-timeout ends: a slow endpoint is still an answer.
    const signal = AbortSignal.timeout(Math.max(1000, deadline - Date.now()))
    try {
      const res = await get(o.url, env, signal)
      result.status = String(res.status).padStart(3, '0')
      Object.assign(result, judgeBody(res.body, o.expect))
    } catch {
      Object.assign(result, { status: '000', ...judgeBody(Buffer.alloc(0), o.expect) })
    }
    if (/^2\d\d$/.test(result.status) && result.match !== 'no') break
    const left = deadline - Date.now()
    if (o.once) {
      result.pending = left > 0
      break
    }
    if (left <= 0) break
    await new Promise(r => setTimeout(r, Math.min(o.intervalSeconds * 1000, left)))
  }
  return result
}

export interface FinishHttpOptions {
  from: HttpFrom
  url: string
  expect: string
  timeoutSeconds: number
  intervalSeconds: number
  /** Runs http.sh on the target: the rest of the polling after verify.sh's first attempt. */
  pollOnTarget: (first: HttpResult) => Promise<RemoteRecord[]>
}

/**
 * Completes facts.http after verify.sh: the runner's own probe (verify-from: runner), or the
 * rest of the target's polling when its first attempt did not pass. Either polls only while no
 * other probe failed; else the one attempt stands (see probeHttp: `pending`).
 */
export async function finishHttpProbe(facts: VerifyFacts, ctx: ProbeContext, o: FinishHttpOptions): Promise<void> {
  if (!o.url || !facts.running) return
  const failed = failedBesidesHttp(facts, ctx)
  if (o.from === 'runner') {
    facts.http = await httpProbeFromRunner({ url: o.url, expect: o.expect, timeoutSeconds: o.timeoutSeconds, intervalSeconds: o.intervalSeconds, once: failed.length > 0 })
  } else if (facts.http?.pending && failed.length === 0) {
    facts.http = parseHttpRecords(await o.pollOnTarget(facts.http), o.from) ?? { ...facts.http, pending: false }
  }
  if (facts.http?.pending) facts.http.stoppedBy = failed.join(', ')
}
