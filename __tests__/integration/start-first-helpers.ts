// Helpers of the start-first tests (issue 15): a bounded load loop through a reverse proxy
// (loopback only), the example app behind nginx, and the containers of a service.
import { execFileSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { docker, httpGet, makeProject, runAction, type ActionRun, type Project } from './harness.js'
import { nginxImage } from './paths.js'

export interface Sample {
  at: number
  status: number
  version: string
}

/**
 * Requests through the proxy, one at a time, every `interval` ms, at most `max` in all; stop()
 * sends `after` more (sent after it was called) once the deploy is over and returns them all. Bounded in count and time.
 */
export function startLoad(url: string, interval = 200, max = 400): { stop: (after?: number) => Promise<Sample[]> } {
  const samples: Sample[] = []
  let until = Infinity
  let inFlight = false
  const loop = (async () => {
    while (samples.length < Math.min(max, until)) {
      const at = Date.now()
      inFlight = true
      const r = await httpGet(url)
      inFlight = false
      let version = ''
      try {
        version = (JSON.parse(r.body) as { version: string }).version
      } catch {
        /* a failed request: status tells */
      }
      samples.push({ at, status: r.status, version })
      await new Promise(res => setTimeout(res, interval))
    }
  })()
  return {
    stop: async (after = 10) => {
      // `after` requests sent after this call: one in flight now was sent before it.
      until = Math.min(max, samples.length + (inFlight ? 1 : 0) + after)
      await loop
      return samples
    }
  }
}

/** The example app's compose file with the nginx proxy in front. */
export const SF = 'compose.start-first.yaml'

/** compose's argv for a compose-command input. */
export function composeArgv(compose: string): string[] {
  return compose === 'docker compose' ? ['docker', 'compose'] : ['docker-compose']
}

/** Starts a project's proxy service alone (it publishes the port: p.url goes through it). */
export function startProxy(p: Project, compose: string, files: string, service = 'proxy'): void {
  const cmd = composeArgv(compose)
  execFileSync(cmd[0], [...cmd.slice(1), '-f', files, '-p', p.name, 'up', '-d', '--no-deps', service], { cwd: p.dir, stdio: 'pipe' })
}

/** The example app behind nginx (only the proxy publishes a port: p.url goes through it). */
export async function proxiedProject(label: string, compose: string): Promise<Project> {
  const p = await makeProject(label)
  appendFileSync(join(p.dir, '.env'), `NGINX_IMAGE=${nginxImage()}\n`)
  startProxy(p, compose, SF)
  return p
}

/** Every container of the service (running or not). */
export function serviceContainers(p: Project, service = 'backend'): string[] {
  return docker('ps', '-a', '-q', '--no-trunc', '--filter', `label=com.docker.compose.project=${p.name}`, '--filter', `label=com.docker.compose.service=${service}`)
    .split('\n')
    .filter(Boolean)
}

export function failed(samples: Sample[]): Sample[] {
  return samples.filter(s => s.status !== 200)
}

/** Runs a deploy under load; returns the run and the samples before (version only), during and after. */
export async function deployUnderLoad(p: Project, inputs: Record<string, string>): Promise<{ run: ActionRun; samples: Sample[]; started: number; ended: number }> {
  const load = startLoad(p.url)
  await new Promise(res => setTimeout(res, 600))
  const started = Date.now()
  const run = await runAction(inputs)
  const ended = Date.now()
  const samples = await load.stop()
  return { run, samples, started, ended }
}
