// The command line's entry points beside deploy: verify (the probes against what runs now),
// rollback (put the rollback tag's image back, under the lock) and status (what runs). Each
// connects as a deploy does, reports through the same Reporter and returns a Report.
import { finishHttpProbe } from './http-probe.js'
import { connect, describeError, lockStep, newRunId, preflightStep, setContainer, settle, type DeployOptions } from './pipeline.js'
import { parseVerifyRecords, runProbes, verdictOf, type Probe, type ProbeContext, type VerifyFacts } from './probes.js'
import { Report } from './report.js'
import type { Reporter } from './reporter.js'
import type { Settings } from './settings.js'
import { closeSshSoon, describeTarget, type SshFiles } from './ssh.js'
import { RemoteError, Target, type ServiceStatus } from './target.js'

/**
 * Connects (transport, then the read-only preflight inside body), runs body, and closes what
 * it opened; an exception becomes the report's error. With failed verdicts, the service's last
 * log lines are read for the report.
 */
async function withTarget(s: Settings, log: Reporter, options: DeployOptions, report: Report, body: (target: Target) => Promise<void>): Promise<void> {
  report.target = s.ssh ? `ssh ${describeTarget(s.ssh)}:${s.projectDir}` : `local:${s.projectDir}`
  let target: Target | undefined
  let sshFiles: SshFiles | undefined
  try {
    const transport = await report.step('connect', s.ssh ? describeTarget(s.ssh) : 'local transport', async () =>
      connect(s, log, f => {
        sshFiles = f
        options.onSshFiles?.(f)
      })
    )
    target = new Target(transport, s, options.runId ?? newRunId(), log)
    await body(target)
  } catch (e) {
    report.verdict = 'error'
    report.error = describeError(e, options.inputValue)
  } finally {
    if (report.failed && target && report.steps.some(x => x.name === 'connect' && x.status === 'ok')) {
      const t = target
      await settle(log, 'reading the service logs', async () => {
        report.serviceLogs = await t.logs()
      })
    }
    await settle(log, 'closing the transport', async () => target?.close())
    await settle(log, 'closing the ssh connection', async () => {
      if (sshFiles && s.ssh) closeSshSoon(sshFiles, s.ssh.host, log)
    })
  }
}

/**
 * The probes of a verify without a deploy: `recreated` and `image` speak of a deploy that did
 * not happen, so they skip ("verify only"); the others judge what runs now.
 */
export function verifyOnlyProbes(facts: VerifyFacts, context: ProbeContext): Probe[] {
  return runProbes(facts, context).map(p => (p.name === 'recreated' || p.name === 'image' ? { name: p.name, verdict: 'skip', expected: '', found: '', reason: 'verify only' } : p))
}

/** `fresh-deploy verify`: is what runs now the code in source-dir? Nothing is changed or built. */
export async function verifyOnly(s: Settings, log: Reporter, options: DeployOptions = {}): Promise<Report> {
  const report = new Report(log)
  await withTarget(s, log, options, report, async target => {
    const pre = await preflightStep(report, target, s, target.preflight(true))
    report.probes = await report.step('verify', 'probes against what runs now (nothing is changed)', async note => {
      const facts = parseVerifyRecords(await target.verify(), s.verifyFrom)
      const context: ProbeContext = {
        previousContainerId: '',
        deployStartedAt: pre.now,
        runId: '',
        hasBuild: pre.hasBuild ?? false,
        sourceDir: s.sourceDir,
        containerSourceDir: s.containerSourceDir,
        sourceInclude: s.sourceInclude,
        sourceExclude: s.sourceExclude,
        ...target.sourceFacts,
        verifyUrl: s.verifyUrl,
        verifyExpect: s.verifyExpect,
        verifyTimeout: s.verifyTimeout
      }
      // No lock is held (nothing changes): the http poll needs no lock guard.
      await finishHttpProbe(facts, context, {
        from: s.verifyFrom,
        url: s.verifyUrl,
        expect: s.verifyExpect,
        timeoutSeconds: s.verifyTimeout,
        intervalSeconds: s.verifyInterval,
        pollOnTarget: first => target.httpPoll(facts.containerId, first, '')
      })
      if (facts.containerId) setContainer(report, facts)
      report.revision = facts.revisionLabel
      const probes = verifyOnlyProbes(facts, context)
      note(`${verdictOf(probes)}: ${probes.map(p => `${p.name} ${p.verdict}`).join(', ')}`)
      return probes
    })
    report.verdict = verdictOf(report.probes)
  })
  return report
}

/**
 * `fresh-deploy rollback`: under the deploy lock, puts the rollback tag's image (what ran before
 * the last deploy) back and waits for its health. Verdict `unverified` when it runs healthy (it
 * is older code: nothing proves it is any code in particular), `unhealthy` when it does not.
 */
export async function rollbackCommand(s: Settings, log: Reporter, options: DeployOptions = {}): Promise<Report> {
  const report = new Report(log)
  report.revision = 'rollback'
  await withTarget(s, log, options, report, async target => {
    const session = target.preflightAndLock(
      true,
      holder => log.info(`waiting for the deploy lock (up to ${s.lockTimeout} s, option lock-timeout), held by ${holder}`),
      holder => log.warning(`the deploy lock of ${s.projectDir} was left by a deploy that is gone (${holder}); taking it over`)
    )
    const pre = await preflightStep(report, target, s, session.preflight)
    const lock = await lockStep(report, s, pre, session.lock)
    try {
      await report.step('rollback', `the previous image of ${s.service}`, async note => {
        const now = await target.status()
        if (now.state === 'none') {
          throw new RemoteError('rollback', 1, `service ${s.service} has no container in ${s.projectDir}: there is nothing to roll back from; deploy it instead`)
        }
        if (!now.previousImageId) {
          throw new RemoteError('rollback', 1, `no previous image: ${now.previousTag} does not exist on the target (a deploy tags the running image before it replaces the container; none has done so for this service yet)`)
        }
        report.previousImageId = now.imageId
        if (now.imageId === now.previousImageId) log.info(`the container already runs ${now.previousTag} (${now.imageId}); recreating it from that image all the same`)
        const back = await target.rollback({ previousTag: now.previousTag, previousImage: now.previousImageId }, 'rollback')
        setContainer(report, back.container)
        report.rolledBack = true
        const passed = back.health.startsWith('pass')
        const detail = back.health.replace(/^(pass|fail) ?/, '')
        report.probes = [{ name: 'health', verdict: passed ? 'pass' : 'fail', expected: 'healthy, or running with a steady restart count', found: detail, reason: passed ? '' : detail, leadsTo: 'unhealthy' }]
        report.rollbackNote = `put back ${now.previousTag} (image ${back.container.imageId}) as container ${back.container.containerId.slice(0, 12)}; ${passed ? 'it runs' : `but it is not healthy: ${detail}`}`
        note(report.rollbackNote)
      })
      report.verdict = report.probes.some(p => p.verdict === 'fail') ? 'unhealthy' : 'unverified'
    } finally {
      await settle(log, 'releasing the deploy lock', async () => {
        log.debug(`lock released (exit ${(await lock.release()).code})`)
      })
    }
  })
  return report
}

/** `fresh-deploy status`: what runs now, read-only. status is undefined when it could not be read. */
export async function statusCommand(s: Settings, log: Reporter, options: DeployOptions = {}): Promise<{ report: Report; status?: ServiceStatus }> {
  const report = new Report(log)
  let status: ServiceStatus | undefined
  await withTarget(s, log, options, report, async target => {
    await preflightStep(report, target, s, target.preflight(true))
    status = await target.status()
    setContainer(report, status)
    report.revision = status.revision
    report.previousImageId = status.previousImageId
    // Read, not judged: the front end says what the state means.
    report.verdict = 'unverified'
  })
  return { report, status }
}
