// The http probe from the runner (verify-from: runner): poll until a 2xx answer whose body
// holds verify-expect, or until verify-timeout.
import type { HttpResult } from './probes.js'

export interface HttpProbeOptions {
  url: string
  expect: string
  timeoutSeconds: number
  intervalSeconds: number
}

export async function httpProbeFromRunner(o: HttpProbeOptions): Promise<HttpResult> {
  const deadline = Date.now() + o.timeoutSeconds * 1000
  let attempts = 0
  let status = '000'
  let body = ''
  for (;;) {
    attempts++
    try {
      const res = await fetch(o.url, { signal: AbortSignal.timeout(o.intervalSeconds * 1000 + 1000), redirect: 'follow' })
      status = String(res.status)
      body = (await res.text()).slice(0, 2000)
      if (res.ok && (o.expect === '' || body.includes(o.expect))) break
    } catch {
      status = '000'
      body = ''
    }
    if (Date.now() + o.intervalSeconds * 1000 > deadline) break
    await new Promise(r => setTimeout(r, o.intervalSeconds * 1000))
  }
  return { attempts, status, body, from: 'runner' }
}
