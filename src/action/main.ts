// The action's main step: inputs in, the engine's deploy, then outputs, the job summary, the
// GitHub Deployment and the failure annotation. Also the entry point for @github/local-action.
import { probesJson } from '../engine/probes.js'
import { deploy, describeError, errorReport } from '../engine/pipeline.js'
import { Report } from '../engine/report.js'
import { getSettings, InputError } from '../engine/input-helper.js'
import { continues, HostReporter, hostsJson, rollout, type Rollout } from '../engine/rollout.js'
import type { Settings } from '../engine/settings.js'
import { maskKey } from '../engine/ssh.js'
import * as core from './actions-core.js'
import type { DeploymentHandle } from './deployment.js'
import { ActionReporter } from './log.js'
import { saveSshState, saveSshStates, type SshState } from './state-helper.js'
import { buildRolloutSummary, buildSummary } from './summary.js'
import { breakLegacy } from './workflow-commands.js'

export async function run(): Promise<void> {
  const log = new ActionReporter()
  // Mask the key before anything else can print it, even an error about another input.
  maskKey(core.getInput('ssh-key').replace(/\r\n/g, '\n'), log)

  let report: Report
  let deployment: DeploymentHandle | undefined
  try {
    const s = getSettings(name => core.getInput(name))
    const several = (s.hosts?.length ?? 0) > 1
    if (s.environment && !s.dryRun) {
      // Loaded only here: @actions/github (Octokit) is a third of the bundle, and every run
      // without an environment would parse and evaluate it before its first ssh call.
      const { startDeployment } = await import('./deployment.js')
      // One deployment for the whole run, several hosts or one.
      deployment = await startDeployment({
        token: s.githubToken,
        environment: s.environment,
        environmentUrl: s.environmentUrl,
        ref: s.ref,
        description: `fresh-deploy of ${s.service}${several ? ` to ${s.hosts?.length} hosts` : ''}`
      })
    }
    if (several) {
      await runRollout(s, log, deployment)
      return
    }
    report = await deploy(s, log, {
      inputValue: name => core.getInput(name),
      onSshFiles: files => saveSshState({ dir: files.dir, config: files.config, control: files.control, host: s.ssh?.host ?? '' })
    })
  } catch (e) {
    report = errorReport(e instanceof InputError ? e.message : describeError(e, name => core.getInput(name)), log)
  }
  if (deployment) report.deploymentId = String(deployment.id)
  await finish(report, deployment)
}

/**
 * Several hosts: the rolling deploy, then the outputs (verdict the worst reached, the others the
 * last host reached), the roll-up summary and one deployment status. A cancelled run (SIGINT or
 * SIGTERM, as the runner sends them) starts no further host; the hosts in flight go on to their
 * end (a deploy cut off half-way could leave a service down), their locks released as usual.
 */
async function runRollout(s: Settings, log: ActionReporter, deployment: DeploymentHandle | undefined): Promise<void> {
  let cancelled = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!cancelled) log.warning(`${signal}: the run is cancelled; no further host is started, the hosts in flight finish their deploy (and roll back if need be)`)
    cancelled = true
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const states: SshState[] = []
  let r: Rollout
  try {
    r = await rollout(s, label => new HostReporter(log, label, s.parallel > 1), {
      inputValue: name => core.getInput(name),
      cancelled: () => cancelled,
      onHostSshFiles: (h, files) => {
        states.push({ dir: files.dir, config: files.config, control: files.control, host: h.ssh.host })
        saveSshStates(states)
      }
    })
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  await finishRollout(r, s, log, deployment)
}

/** The annotation of a failed run: the verdict, the first failed probe's evidence, what followed. */
export function failureMessage(report: Report): string {
  const rolled = report.rolledBack ? ` Rolled back: ${report.rollbackNote}.` : report.rollbackNote ? ` ${report.rollbackNote}.` : ''
  const notes = report.notes.filter(n => n !== report.rollbackNote).map(n => ` ${n}.`).join('')
  // An error keeps its message first; what followed it (a rollback after a failed up) after.
  if (report.verdict === 'error' && report.error) return rolled || notes ? `${report.error.replace(/\.?$/, '.')}${rolled}${notes}` : report.error
  const failed = report.probes.filter(p => p.verdict === 'fail')
  const first = failed.find(p => p.leadsTo === report.verdict) ?? failed[0]
  const evidence = first ? `probe ${first.name} failed: ${first.reason} (expected: ${first.expected}; found: ${first.found})` : ''
  const others = failed.length > 1 ? ` Also failed: ${failed.filter(p => p !== first).map(p => p.name).join(', ')}.` : ''
  return `fresh-deploy verdict ${report.verdict}: ${evidence}.${others}${rolled}${notes}`
}

async function finish(report: Report, deployment: DeploymentHandle | undefined): Promise<void> {
  const log = report.log
  if (report.failedLogs !== undefined) {
    log.block("report: last 50 lines of the failed container's logs (before the rollback)", report.failedLogs, { untrusted: true })
  }
  if (report.serviceLogs !== undefined) {
    log.block(`report: last 50 lines of the service logs${report.rolledBack ? ' (the rolled-back container)' : ''}`, report.serviceLogs, { untrusted: true })
  }
  await report.step('report', 'outputs and summary', async note => {
    core.setOutput('verified', report.verified ? 'true' : 'false')
    core.setOutput('verdict', report.verdict)
    core.setOutput('probes', probesJson(report.probes))
    core.setOutput('container-id', report.containerId)
    core.setOutput('image-id', report.imageId)
    core.setOutput('previous-image-id', report.previousImageId)
    core.setOutput('revision', report.revision)
    core.setOutput('started-at', report.startedAtContainer)
    core.setOutput('purged', String(report.purged))
    core.setOutput('rolled-back', report.rolledBack ? 'true' : 'false')
    core.setOutput('deployment-id', report.deploymentId)
    note(`verdict ${report.verdict}`)
  })
  core.setOutput('duration-seconds', report.durationSeconds())
  if (deployment) {
    const ok = report.verdict === 'fresh' || report.verdict === 'unverified'
    await deployment.finish(ok ? 'success' : 'failure', report.verdict === 'unverified' ? 'fresh-deploy: deployed, not verified (verify: false)' : `fresh-deploy: ${report.verdict}`)
  }
  try {
    await core.summary.addRaw(buildSummary(report)).write()
  } catch (e) {
    core.debug(`job summary not written: ${(e as Error).message}`)
  }
  if (report.failed) core.setFailed(breakLegacy(failureMessage(report)))
  else if (report.verdict === 'dry-run') core.info('dry-run: nothing was changed')
  else if (report.verdict === 'unverified') core.info('verdict unverified: deployed, not verified (verify: false): nothing was checked')
  else core.info('verdict fresh: the new code is what runs')
}

/** The annotation of a failed rollout: the worst host's message, and which hosts were not reached. */
export function rolloutFailureMessage(r: Rollout): string {
  const worst = r.worst
  const skipped = r.outcomes.filter(o => !o.report).map(o => o.label)
  const rest = skipped.length ? ` Not reached (untouched): ${skipped.join(', ')}.` : ''
  if (!worst) return `fresh-deploy: no host was reached${r.cancelled ? ' (the run was cancelled)' : ''}.${rest}`
  if (r.cancelled && continues(r.verdict)) return `fresh-deploy: the run was cancelled; the hosts reached are ${r.verdict}.${rest}`
  return `${worst.label}: ${failureMessage(worst.report).replace(/\.?$/, '.')}${rest}`
}

async function finishRollout(r: Rollout, s: Settings, log: ActionReporter, deployment: DeploymentHandle | undefined): Promise<void> {
  for (const o of r.reached) {
    const p = o.report
    if (p.failedLogs !== undefined) log.block(`report (${o.label}): last 50 lines of the failed container's logs (before the rollback)`, p.failedLogs, { untrusted: true })
    if (p.serviceLogs !== undefined) log.block(`report (${o.label}): last 50 lines of the service logs${p.rolledBack ? ' (the rolled-back container)' : ''}`, p.serviceLogs, { untrusted: true })
  }
  const verdict = r.verdict
  const last = r.last?.report
  const timing = new Report(log)
  await timing.step('report', `outputs and summary of ${r.outcomes.length} hosts`, async note => {
    core.setOutput('verified', verdict === 'fresh' ? 'true' : 'false')
    core.setOutput('verdict', verdict)
    // The single-valued outputs describe the last host reached (the hosts output has them all).
    core.setOutput('probes', probesJson(last?.probes ?? []))
    core.setOutput('container-id', last?.containerId ?? '')
    core.setOutput('image-id', last?.imageId ?? '')
    core.setOutput('previous-image-id', last?.previousImageId ?? '')
    core.setOutput('revision', s.ref)
    core.setOutput('started-at', last?.startedAtContainer ?? '')
    core.setOutput('purged', String(last?.purged ?? 0))
    core.setOutput('rolled-back', last?.rolledBack ? 'true' : 'false')
    core.setOutput('deployment-id', deployment ? String(deployment.id) : '')
    core.setOutput('hosts', hostsJson(r))
    note(`verdict ${verdict}: ${r.outcomes.map(o => `${o.label} ${o.report?.verdict ?? 'skip'}`).join(', ')}`)
  })
  core.setOutput('duration-seconds', r.durationSeconds())
  // A cancelled rollout is no success, whatever the hosts it reached say.
  const failed = !continues(verdict) || r.cancelled
  if (deployment) {
    await deployment.finish(failed ? 'failure' : 'success', verdict === 'unverified' ? 'fresh-deploy: deployed, not verified (verify: false)' : `fresh-deploy: ${verdict} (${r.reached.length} of ${r.outcomes.length} hosts)`)
  }
  try {
    await core.summary.addRaw(buildRolloutSummary(r, s.ref)).write()
  } catch (e) {
    core.debug(`job summary not written: ${(e as Error).message}`)
  }
  if (failed) core.setFailed(breakLegacy(rolloutFailureMessage(r)))
  else if (verdict === 'dry-run') core.info(`dry-run: nothing was changed on ${r.outcomes.length} hosts`)
  else if (verdict === 'unverified') core.info(`verdict unverified on ${r.reached.length} hosts: deployed, not verified (verify: false): nothing was checked`)
  else core.info(`verdict fresh on all ${r.reached.length} hosts: the new code is what runs`)
}
