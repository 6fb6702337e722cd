// The job summary, as Markdown, from a Report. Pure, so unit tests read exactly what a user sees.
import type { Report } from '../engine/report.js'
import type { Rollout } from '../engine/rollout.js'

const ICON: Record<string, string> = { pass: '✅', fail: '❌', skip: '⏭️', ok: '✅', failed: '❌', skipped: '⏭️' }

/**
 * Table cells: no pipes or line breaks may break the table; long evidence is shortened. A
 * backslash becomes an entity: GFM reads "\\|" as an escaped backslash and then a cell border.
 */
export function cell(text: string, max = 400): string {
  const flat = text.replace(/\r\n|[\r\n]/g, ' ').replace(/\\/g, '&#92;').replace(/\|/g, '\\|').replace(/</g, '&lt;')
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

const HEADINGS: Record<string, string> = {
  fresh: '✅ fresh: the new code is what runs',
  stale: '❌ stale: the container does not run the code that was deployed',
  unhealthy: '❌ unhealthy: the new container did not become healthy',
  error: '❌ error: the deploy did not get as far as verifying',
  'dry-run': '📝 dry-run: nothing was changed',
  unverified: '⚠️ unverified: deployed, but nothing was checked (verify: false)'
}

export function buildSummary(r: Report): string {
  const out: string[] = []
  out.push(`## fresh-deploy ${HEADINGS[r.verdict] ?? r.verdict}`, '')
  const facts = [
    ['target', r.target],
    ['revision', r.revision],
    ['container', r.containerId ? r.containerId.slice(0, 12) : ''],
    ['image', r.imageId],
    ['previous image', r.previousImageId || '(none: first deploy)'],
    ['duration', `${r.durationSeconds()} s`]
  ].filter(([, v]) => v !== '')
  out.push(facts.map(([k, v]) => `**${k}**: \`${cell(v, 100)}\``).join(' · '), '')
  out.push(...details(r, '###'))
  return out.join('\n')
}

/** A run's error, steps, probes, purge, heal, rollback and notes; h: the level of their headings. */
function details(r: Report, h: string): string[] {
  const out: string[] = []
  if (r.error) out.push(`> **Error:** ${cell(r.error, 1000)}`, '')

  out.push(`${h} Steps`, '', '| step | result | time | notes |', '| --- | --- | --- | --- |')
  for (const s of r.steps) out.push(`| ${s.name} | ${ICON[s.status]} ${s.status} | ${s.seconds.toFixed(1)} s | ${cell(s.note)} |`)
  out.push('')

  if (r.verifySkipped) {
    out.push(`${h} Probes`, '', '_verify: false — no probe ran, nothing was checked._', '')
  } else if (r.probes.length > 0) {
    out.push(`${h} Probes`, '', '| probe | verdict | expected | found | reason |', '| --- | --- | --- | --- | --- |')
    for (const p of r.probes) out.push(`| ${p.name} | ${ICON[p.verdict]} ${p.verdict} | ${cell(p.expected)} | ${cell(p.found)} | ${cell(p.reason)} |`)
    out.push('')
  }

  out.push(`**Purged**: ${r.purged} bytecode item(s) (${r.purgedHost} on the host, ${r.purgedContainer} in the container)${r.purgeNotes.length ? `; ${cell(r.purgeNotes.join('; '))}` : ''}`, '')
  if (r.healAttempts > 0) out.push(`**Heal**: ${r.healAttempts} no-cache rebuild(s) after a stale verdict.`, '')
  if (r.rolledBack) out.push(`**Rolled back**: ${cell(r.rollbackNote)}`, '')
  else if (r.rollbackNote) out.push(`**Rollback**: ${cell(r.rollbackNote)}`, '')
  const notes = r.notes.filter(n => n !== r.rollbackNote)
  if (notes.length) out.push(`**Notes**: ${cell(notes.join('; '))}`, '')
  return out
}

const VERDICT_ICON: Record<string, string> = { fresh: '✅', unverified: '⚠️', 'dry-run': '📝', skip: '⏭️' }

/** Several hosts: the roll-up table (host, verdict, time, container, image), then each host's details. */
export function buildRolloutSummary(r: Rollout, revision: string): string {
  const out: string[] = []
  const verdict = r.verdict
  out.push(`## fresh-deploy ${HEADINGS[verdict] ?? verdict}`, '')
  const reached = r.reached.length
  const facts = [
    ['hosts', `${reached} of ${r.outcomes.length} reached, ${r.parallel} at a time after the canary`],
    ['revision', revision],
    ['duration', `${r.durationSeconds()} s`]
  ].filter(([, v]) => v !== '')
  out.push(facts.map(([k, v]) => `**${k}**: \`${cell(v, 100)}\``).join(' · '), '')
  if (r.cancelled) out.push('> **Cancelled:** no further host was started; the hosts in flight finished.', '')
  out.push('### Hosts', '', '| host | verdict | time | container | image |', '| --- | --- | --- | --- | --- |')
  for (const o of r.outcomes) {
    const v = o.report ? o.report.verdict : 'skip'
    const shown = o.report ? `${VERDICT_ICON[v] ?? '❌'} ${v}${o.report.rolledBack ? ' (rolled back)' : ''}` : `${VERDICT_ICON.skip} skip: ${cell(o.skipReason ?? 'not reached')}`
    const container = o.report?.containerId ? `\`${o.report.containerId.slice(0, 12)}\`` : ''
    const image = o.report?.imageId ? `\`${cell(o.report.imageId, 100)}\`` : ''
    out.push(`| ${cell(o.label, 200)} | ${shown} | ${o.report ? `${o.seconds.toFixed(1)} s` : ''} | ${container} | ${image} |`)
  }
  out.push('')
  for (const o of r.reached) {
    const p = o.report
    out.push(`### ${cell(o.label, 200)}: ${HEADINGS[p.verdict] ?? p.verdict}`, '')
    const hostFacts = [
      ['target', p.target],
      ['previous image', p.previousImageId || '(none: first deploy)'],
      ['duration', `${o.seconds.toFixed(1)} s`]
    ].filter(([, v]) => v !== '')
    out.push(hostFacts.map(([k, v]) => `**${k}**: \`${cell(v, 100)}\``).join(' · '), '')
    out.push(...details(p, '####'))
  }
  return out.join('\n')
}
