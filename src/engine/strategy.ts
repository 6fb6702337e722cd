// strategy: start-first (../shared/contract.md, "Strategy"): what must hold before the deploy may
// start a second container of the service next to the first. Pure: the facts come from compose's
// own config output (preflight.sh / sync.sh) and docker ps, so every rule is unit-tested.
import YAML from 'yaml'

/** Seconds between the new container taking the service's name and the old one stopping: proxies' DNS caches (nginx `resolver ... valid=1s`). */
export const CUTOVER_DNS_SECONDS = 3

export interface StartFirstFacts {
  /** compose config's output (v2 and v1 alike: YAML, normalized by compose itself). */
  config: string
  /** How many containers of the service run now. */
  running: number
}

interface ServiceConfig {
  container_name?: unknown
  network_mode?: unknown
  ports?: unknown
}

/** The fixed host ports the service publishes ("127.0.0.1:8080->80"), from compose's normalized config. */
export function fixedHostPorts(ports: unknown): string[] {
  if (!Array.isArray(ports)) return []
  const fixed: string[] = []
  for (const p of ports) {
    if (typeof p === 'string' || typeof p === 'number') {
      // Short syntax (compose v1 prints it): [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]; the host
      // port is the second field from the right.
      const parts = String(p).replace(/\/[a-z]+$/i, '').split(':')
      const published = parts.length >= 2 ? parts[parts.length - 2] : ''
      if (published !== '' && published !== '0') fixed.push(`${published}->${parts[parts.length - 1]}`)
    } else if (p && typeof p === 'object') {
      // Long syntax (compose v2 prints it): published is a string or a number; empty: an ephemeral port.
      const { published, target, host_ip: hostIp } = p as { published?: unknown; target?: unknown; host_ip?: unknown }
      const value = published === undefined || published === null ? '' : String(published)
      if (value !== '' && value !== '0') fixed.push(`${typeof hostIp === 'string' && hostIp ? `${hostIp}:` : ''}${value}->${String(target ?? '')}`)
    }
  }
  return fixed
}

/**
 * Why start-first cannot run for this service (undefined: it can). Each reason says what to do
 * instead; the caller names the input.
 */
export function startFirstRefusal(service: string, facts: StartFirstFacts): string | undefined {
  let doc: { services?: Record<string, ServiceConfig> } | undefined
  try {
    doc = YAML.parse(facts.config) as typeof doc
  } catch (e) {
    return `compose config's output could not be read (${e instanceof Error ? e.message.split('\n')[0] : String(e)}), so it is unknown whether two containers of service ${service} can run side by side; use strategy: recreate`
  }
  const svc = doc?.services?.[service]
  if (!svc) return `compose config does not list service ${service}; use strategy: recreate`
  if (typeof svc.container_name === 'string' && svc.container_name !== '') {
    return `service ${service} sets container_name (${JSON.stringify(svc.container_name)}): a second container cannot have the same name. Remove container_name (compose names the containers itself), or use strategy: recreate`
  }
  if (typeof svc.network_mode === 'string' && svc.network_mode !== '') {
    return `service ${service} sets network_mode: ${svc.network_mode}: the new container cannot join the project's networks without the service's name (and with the host's network, two containers cannot share a port). Use the project's networks, or use strategy: recreate`
  }
  const fixed = fixedHostPorts(svc.ports)
  if (fixed.length > 0) {
    return `service ${service} publishes the fixed host port ${fixed.join(', ')}: two containers cannot share it. Put a reverse proxy in front (on the project's network, resolving ${service} by name) and publish no host port from ${service}, or use strategy: recreate`
  }
  if (facts.running > 1) {
    return `${facts.running} containers of service ${service} run: start-first replaces exactly one. Scale it to one (compose up -d --scale ${service}=1), or use strategy: recreate`
  }
  return undefined
}
