// What the command line prints when a run is over: the probes as a table, the facts, the verdict
// line (or one JSON object with --json), and the exit code. Pure, so unit tests read it exactly.
import type { Probe, Verdict } from '../engine/probes.js'
import type { Report } from '../engine/report.js'
import { hostsObjects, type Rollout } from '../engine/rollout.js'
import type { ServiceStatus } from '../engine/target.js'
import type { Command } from './args.js'
import { paint, sanitize, type Color } from './reporter.js'

export const EXIT = { ok: 0, error: 1, stale: 2, unhealthy: 3, usage: 64 } as const

export function exitCodeOf(verdict: Verdict): number {
  if (verdict === 'stale') return EXIT.stale
  if (verdict === 'unhealthy') return EXIT.unhealthy
  if (verdict === 'error') return EXIT.error
  return EXIT.ok
}

/** status: 0 when the service runs (healthy, or without a healthcheck), 3 when it does not, 1 when unread. */
export function statusExitCode(status: ServiceStatus | undefined): number {
  if (!status) return EXIT.error
  return status.running && (status.health === 'healthy' || status.health === 'none') ? EXIT.ok : EXIT.unhealthy
}

/** --json: the action's outputs by name (typed: booleans, numbers, the probes as an array) plus steps. */
export function jsonResult(r: Report): Record<string, unknown> {
  return {
    verified: r.verified,
    verdict: r.verdict,
    probes: r.probes.map(p => ({ name: p.name, verdict: p.verdict, expected: p.expected, found: p.found, reason: p.reason })),
    'container-id': r.containerId,
    'image-id': r.imageId,
    'previous-image-id': r.previousImageId,
    revision: r.revision,
    'started-at': r.startedAtContainer,
    purged: r.purged,
    'rolled-back': r.rolledBack,
    'duration-seconds': Number(r.durationSeconds()),
    steps: r.steps.map(s => ({ name: s.name, status: s.status, seconds: Number(s.seconds.toFixed(1)), note: s.note })),
    ...(r.error ? { error: r.error } : {}),
    ...(r.rollbackNote ? { 'rollback-note': r.rollbackNote } : {})
  }
}

export function statusJson(r: Report, s: ServiceStatus | undefined, service: string): Record<string, unknown> {
  return {
    service,
    state: s?.state ?? '',
    running: s?.running ?? false,
    health: s?.health ?? '',
    restarts: s?.restarts ?? 0,
    'container-id': s?.containerId ?? '',
    'image-id': s?.imageId ?? '',
    image: s?.configImage ?? '',
    'image-tag-id': s?.tagImageId ?? '',
    'started-at': s?.startedAt ?? '',
    revision: s?.revision ?? '',
    run: s?.runId ?? '',
    'previous-tag': s?.previousTag ?? '',
    'previous-image-id': s?.previousImageId ?? '',
    'previous-created': s?.previousCreated ?? '',
    'duration-seconds': Number(r.durationSeconds()),
    steps: r.steps.map(x => ({ name: x.name, status: x.status, seconds: Number(x.seconds.toFixed(1)), note: x.note })),
    ...(r.error ? { error: r.error } : {})
  }
}

const VERDICT_COLOR: Record<string, Color> = { pass: 'green', fail: 'red', skip: 'dim' }

/** The probes as an aligned table: name, verdict, and the evidence (what was found, or why not). */
export function probeTable(probes: Probe[], color: boolean): string[] {
  const width = Math.max(5, ...probes.map(p => p.name.length))
  return probes.map(p => {
    const evidence = sanitize(p.verdict === 'pass' ? p.found : p.reason)
    return `  ${p.name.padEnd(width)}  ${paint(color, VERDICT_COLOR[p.verdict] ?? 'dim', p.verdict.padEnd(4))}  ${evidence}`
  })
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12)

/** The lines after the steps: probes, facts, notes, the error (not the verdict line). */
export function resultLines(r: Report, command: Command, color: boolean): string[] {
  const out: string[] = []
  if (r.verifySkipped) out.push('', 'probes: none ran (verify: false): nothing was checked')
  else if (r.probes.length > 0) out.push('', 'probes', ...probeTable(r.probes, color))
  const ran = (name: string): boolean => r.steps.some(s => s.name === name && s.status === 'ok')
  const facts = [
    ['container', r.containerId ? short(r.containerId) : ''],
    ['image', r.imageId],
    [command === 'rollback' ? 'replaced' : 'previous', command === 'deploy' && ran('snapshot') ? r.previousImageId || '(none: first deploy)' : r.previousImageId],
    ['revision', r.revision],
    ['started', r.startedAtContainer]
  ].filter(([, v]) => v !== '')
  if (facts.length > 0) out.push('', ...facts.map(([k, v]) => `  ${k.padEnd(10)} ${v}`))
  if (command === 'deploy' && ran('purge')) {
    out.push(`  ${'purged'.padEnd(10)} ${r.purged} (${r.purgedHost} on the host, ${r.purgedContainer} in the container)${r.purgeNotes.length ? `; ${r.purgeNotes.join('; ')}` : ''}`)
  }
  if (r.healAttempts > 0) out.push(`  ${'heal'.padEnd(10)} ${r.healAttempts} no-cache rebuild(s) after a stale verdict`)
  if (r.rollbackNote) out.push(`  ${(r.rolledBack ? 'rolled back' : 'rollback').padEnd(10)} ${r.rollbackNote}`)
  for (const n of r.notes.filter(n => n !== r.rollbackNote)) out.push(`  note       ${n}`)
  return out
}

const TEXT: Record<Command, Partial<Record<Verdict, string>>> = {
  deploy: {
    fresh: 'the new code is what runs',
    stale: 'the container does not run the code that was deployed',
    unhealthy: 'the new container did not become healthy',
    unverified: 'deployed, but nothing was checked (verify: false)'
  },
  plan: { 'dry-run': 'the plan above; nothing was changed' },
  verify: {
    fresh: 'what runs is the code in source-dir',
    stale: 'what runs is not the code in source-dir',
    unhealthy: 'the service is not healthy'
  },
  rollback: {
    unverified: 'the previous image runs again',
    unhealthy: 'the previous image was put back, but it is not healthy'
  },
  status: {}
}

/** The last line: the verdict, why, in color. */
export function verdictLine(r: Report, command: Command, color: boolean): string {
  const word = command === 'plan' ? 'plan' : command === 'rollback' && r.verdict === 'unverified' ? 'rolled back' : r.verdict
  let why = TEXT[command][r.verdict] ?? ''
  if (r.verdict === 'error') why = r.error || 'the run stopped before it could verify'
  const failed = r.probes.filter(p => p.verdict === 'fail')
  const first = failed.find(p => p.leadsTo === r.verdict) ?? failed[0]
  if (first && command !== 'rollback') why += ` (probe ${first.name}: ${sanitize(first.reason)})`
  if (command === 'deploy' && r.verdict === 'unhealthy') why += r.keptPrevious ? '; the previous container kept serving' : r.rolledBack ? '; the previous image was put back' : r.rollbackNote ? `; ${r.rollbackNote}` : ''
  const c: Color = r.verdict === 'fresh' ? 'green' : r.verdict === 'unverified' || r.verdict === 'dry-run' ? 'yellow' : 'red'
  return `${paint(color, 'bold', paint(color, c, word))}: ${why}`
}

/** status on a terminal: what runs, its labels, health, and what the rollback tag holds. */
export function statusLines(r: Report, s: ServiceStatus | undefined, service: string, color: boolean): string[] {
  if (!s) return [`${paint(color, 'red', 'error')}: ${r.error}`]
  if (s.state === 'none') return ['', `  ${'service'.padEnd(10)} ${service}: no container`, '', `${paint(color, 'red', 'not running')}: service ${service} has no container`]
  const health = s.health === 'none' ? 'no healthcheck' : s.health
  const lines = [
    '',
    `  ${'service'.padEnd(10)} ${service} on ${r.target}`,
    `  ${'container'.padEnd(10)} ${short(s.containerId)}  ${s.state}, ${health}, ${s.restarts} restart(s), started ${s.startedAt}`,
    `  ${'revision'.padEnd(10)} ${s.revision || '(no io.fresh-deploy.revision label: not deployed by fresh-deploy)'}`,
    `  ${'run'.padEnd(10)} ${s.runId || '(none)'}`,
    `  ${'image'.padEnd(10)} ${s.imageId}  ${s.configImage}`
  ]
  if (s.tagImageId && s.tagImageId !== s.imageId) lines.push(`  ${''.padEnd(10)} ${s.configImage} now points to ${s.tagImageId}: an image the container does not run`)
  lines.push(`  ${'previous'.padEnd(10)} ${s.previousImageId ? `${s.previousTag} = ${s.previousImageId} (created ${s.previousCreated})` : `none (${s.previousTag} does not exist)`}`)
  const ok = s.running && (s.health === 'healthy' || s.health === 'none')
  lines.push('', `${paint(color, 'bold', paint(color, ok ? 'green' : 'red', ok ? 'running' : 'not healthy'))}: ${service} is ${s.state}, ${health}`)
  return lines
}

/** --json with several hosts: the action's outputs (the last host reached, the worst verdict), hosts, and every host's steps. */
export function jsonRollout(r: Rollout, revision: string): Record<string, unknown> {
  const last = r.last?.report
  const base = last ? jsonResult(last) : {}
  const worst = r.worst?.report
  return {
    ...base,
    verified: r.verdict === 'fresh',
    verdict: r.verdict,
    revision,
    'duration-seconds': Number(r.durationSeconds()),
    hosts: hostsObjects(r),
    steps: r.reached.flatMap(o => o.report.steps.map(s => ({ host: o.label, name: s.name, status: s.status, seconds: Number(s.seconds.toFixed(1)), note: s.note }))),
    ...(worst?.error ? { error: `${r.worst?.label}: ${worst.error}` } : { error: undefined }),
    ...(worst?.rollbackNote ? { 'rollback-note': `${r.worst?.label}: ${worst.rollbackNote}` } : { 'rollback-note': undefined })
  }
}

/** Several hosts: the roll-up, one line per host (verdict, time, container, image). */
export function rollupLines(r: Rollout, color: boolean): string[] {
  const width = Math.max(4, ...r.outcomes.map(o => o.label.length))
  const lines = ['hosts', ...r.outcomes.map(o => {
    const p = o.report
    if (!p) return `  ${o.label.padEnd(width)}  ${paint(color, 'dim', 'skip'.padEnd(10))}  ${o.skipReason ?? 'not reached'}`
    const c: Color = p.verdict === 'fresh' ? 'green' : p.verdict === 'unverified' || p.verdict === 'dry-run' ? 'yellow' : 'red'
    const facts = [`${o.seconds.toFixed(1).padStart(5)} s`, p.containerId ? short(p.containerId) : '', p.imageId, p.rolledBack ? 'rolled back' : ''].filter(Boolean)
    return `  ${o.label.padEnd(width)}  ${paint(color, c, p.verdict.padEnd(10))}  ${facts.join('  ')}`
  })]
  return lines
}

/** The last line with several hosts: the worst verdict, and on which host. */
export function rolloutVerdictLine(r: Rollout, command: Command, color: boolean): string {
  const worst = r.worst
  const n = r.outcomes.length
  if (!worst) return `${paint(color, 'bold', paint(color, 'red', 'error'))}: no host was reached`
  const line = verdictLine(worst.report, command, color)
  const skipped = r.outcomes.filter(o => !o.report).length
  if (r.cancelled) return `${paint(color, 'bold', paint(color, 'red', 'cancelled'))}: ${r.reached.length} of ${n} hosts reached (${worst.report.verdict} at worst, on ${worst.label}); ${skipped} host(s) not reached (untouched)`
  if (['fresh', 'unverified', 'dry-run'].includes(r.verdict)) return `${line} (${r.reached.length} of ${n} hosts)`
  return `${line} — on ${worst.label}; ${skipped ? `${skipped} of ${n} host(s) not reached (untouched)` : `all ${n} hosts reached`}`
}
