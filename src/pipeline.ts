// The deploy, top to bottom: connect, lock, sync, snapshot, purge, rebuild, verify, heal,
// rollback, report (../shared/contract.md, "The pipeline").
import { randomBytes } from 'node:crypto'
import * as core from './actions-core.js'
import type { DeploymentHandle } from './deployment.js'
import { httpProbeFromRunner } from './http-probe.js'
import { getSettings, InputError, quoteValue } from './input-helper.js'
import { parseVerifyRecords, probesJson, runProbes, verdictOf, type Probe, type ProbeContext } from './probes.js'
import { Report } from './report.js'
import { preamble, readScript, type ScriptName } from './scripts.js'
import type { Settings } from './settings.js'
import { closeSshSoon, createSshDir, describeTarget, maskKey, openMaster, prepareSsh, type SshFiles } from './ssh.js'
import { saveSshState } from './state-helper.js'
import { buildSummary } from './summary.js'
import { RemoteError, Target, TargetInputError, type Container, type DeployRun, type Preflight, type PurgeResult, type Snapshot } from './target.js'
import { LocalTransport, logUntrusted, type Held, type Transport } from './transport.js'

const ALL_PROBES = ['recreated', 'image', 'source', 'bytecode', 'health', 'http'] as const

function newRunId(): string {
  return `${process.env.GITHUB_RUN_ID || 'local'}-${process.env.GITHUB_RUN_ATTEMPT || '1'}-${randomBytes(4).toString('hex')}`
}

/** An error message for the user: inputs named with their values, secrets never quoted. */
function describeError(e: unknown): string {
  if (e instanceof TargetInputError) {
    const value = e.input === 'ssh-key' ? '' : ` ${quoteValue(core.getInput(e.input))}`
    return `input ${e.input}:${value} ${e.detail}`
  }
  return e instanceof Error ? e.message : String(e)
}

async function connect(s: Settings, onFiles: (files: SshFiles) => void): Promise<Transport> {
  if (!s.ssh) return new LocalTransport()
  const files = createSshDir()
  saveSshState({ dir: files.dir, config: files.config, control: files.control, host: s.ssh.host })
  onFiles(files)
  const args = await prepareSsh(s.ssh, files)
  return openMaster(s.ssh, files, args)
}

function logProbes(probes: Probe[]): void {
  for (const p of probes) {
    const evidence = p.verdict === 'pass' ? p.found : p.reason
    core.info(`${p.verdict.padEnd(4)} ${p.name}${evidence ? `: ${evidence}` : ''}`)
  }
}

function printPlan(target: Target, s: Settings, pre: Preflight, runId: string): void {
  const show = (name: ScriptName, title: string, vars: Record<string, string | number | boolean | undefined>): void => {
    core.startGroup(`${title}: plan (dry-run, not run)`)
    const body = readScript(`${name}.sh`)
    core.info(`${preamble({ ...vars })}\n${body}`)
    core.endGroup()
  }
  const common = {
    FD_PROJECT_DIR: s.projectDir,
    FD_COMPOSE_CMD: pre.compose,
    FD_COMPOSE_FILES: s.composeFiles.join('\n'),
    FD_PROJECT_NAME: s.composeProjectName,
    FD_RESOLVED_PROJECT: target.resolvedProject,
    FD_SERVICE: s.service
  }
  core.info(`dry-run: every step below would run on ${target.where} with bash -s, preceded by src/scripts/lib.sh; run id ${runId}`)
  core.startGroup('lib.sh (sent before every step script)')
  core.info(readScript('lib.sh'))
  core.endGroup()
  show('lock', 'lock', { ...common, ...target.lockVars(pre.flock) })
  if (s.sync === 'git') show('sync', 'sync', { ...common, FD_REF: s.ref, FD_DISCARD: s.syncDiscardChanges })
  show('snapshot', 'snapshot', common)
  if (s.purge) show('purge', 'purge', { ...common, FD_SOURCE_DIR: s.sourceDir, FD_CONTAINER_SOURCE_DIR: s.containerSourceDir, FD_PURGE_SH: '(src/scripts/purge-tree.sh)', FD_KNOWN_CID: '(the container the snapshot found)', FD_KNOWN_CID_SET: 'yes' })
  show('rebuild', 'rebuild', { ...common, ...target.rebuildVars(s.buildNoCache) })
  if (s.verify) {
    show('verify', 'verify', {
      ...common,
      ...target.verifyVars('(the container the rebuild created)'),
      FD_FINGERPRINT_SH: '(src/scripts/fingerprint.sh)',
      FD_BYTECODE_PY: '(src/scripts/bytecode.py)',
      FD_HTTP_PY: '(src/scripts/http-get.py)'
    })
  }
}

export async function run(): Promise<void> {
  const report = new Report()
  // Mask the key before anything else can print it, even an error about another input.
  maskKey(core.getInput('ssh-key').replace(/\r\n/g, '\n'))

  let s: Settings
  try {
    s = getSettings(name => core.getInput(name))
  } catch (e) {
    report.error = e instanceof InputError ? e.message : describeError(e)
    await finish(report, undefined, undefined)
    return
  }

  const runId = newRunId()
  report.revision = s.ref
  report.dryRun = s.dryRun
  report.target = s.ssh ? `ssh ${describeTarget(s.ssh)}:${s.projectDir}` : `local:${s.projectDir}`
  let deployment: DeploymentHandle | undefined
  if (s.environment && !s.dryRun) {
    // Loaded only here: @actions/github (Octokit) is a third of the bundle, and every run
    // without an environment would parse and evaluate it before its first ssh call.
    const { startDeployment } = await import('./deployment.js')
    deployment = await startDeployment({
      token: s.githubToken,
      environment: s.environment,
      environmentUrl: s.environmentUrl,
      ref: s.ref,
      description: `fresh-deploy of ${s.service}`
    })
    if (deployment) report.deploymentId = String(deployment.id)
  }

  let target: Target | undefined
  let lock: (Held & { pid: string }) | undefined
  let sshFiles: SshFiles | undefined
  try {
    const transport = await report.step('connect', s.ssh ? describeTarget(s.ssh) : 'local transport', async () => connect(s, f => (sshFiles = f)))
    target = new Target(transport, s, runId)
    const t = target
    // The preflight and the lock share one script on the target (one remote shell start); a
    // dry-run takes no lock, so it runs the preflight alone.
    const session = s.dryRun
      ? undefined
      : t.preflightAndLock(
          s.sync !== 'git',
          holder => core.info(`waiting for the deploy lock (up to ${s.lockTimeout} s, input lock-timeout), held by ${holder}`),
          holder => core.warning(`the deploy lock of ${s.projectDir} was left by a deploy that is gone (${holder}); taking it over`)
        )
    const pre = await report.step('connect', 'preflight checks on the target', async note => {
      const p = session ? await session.preflight : await t.preflight(s.sync !== 'git')
      note(`${t.where}; ${p.realPath}; docker ${p.engineVersion}; ${p.compose} ${p.composeVersion}`)
      return p
    })
    mergeConnectSteps(report)

    if (!session) {
      printPlan(t, s, pre, runId)
      for (const name of ['lock', 'sync', 'snapshot', 'purge', 'rebuild', 'verify'] as const) report.skipStep(name, 'dry-run: nothing changed')
      report.verdict = 'dry-run'
      return
    }

    lock = await report.step('lock', `deploy lock for ${s.projectDir}`, async note => {
      const held = await session.lock
      note(pre.flock ? 'flock' : 'mkdir lock (no flock on the target)')
      return held
    })
    // The lock lasts as long as its script on the target. If that ends early (killed, or its
    // session dropped), another deploy may take the lock over: stop before the next step
    // rather than go on changing the service unprotected.
    let lockEnded: number | undefined
    lock.done.then(
      r => (lockEnded = r.code),
      () => (lockEnded = -1)
    )
    report.guard = name => {
      if (lockEnded !== undefined) {
        throw new RemoteError('lock', lockEnded, `the deploy lock of ${s.projectDir} was lost (its holder on the target ended with exit ${lockEnded}); stopped before the ${name} step so that two deploys cannot overlap`)
      }
    }

    let hasBuild = pre.hasBuild ?? false
    if (s.sync === 'git') {
      await report.step('sync', `git checkout ${s.ref}`, async note => {
        const synced = await t.sync()
        hasBuild = synced.hasBuild
        note(`HEAD ${synced.head} (was ${synced.previous || 'nothing'})`)
      })
    } else {
      report.skipStep('sync', 'sync: none')
    }

    // Everything from here to the verdict is one script on the target (snapshot, purge, rebuild,
    // verify): no round trip or remote shell start between the steps. Each step is reported
    // when its part is done; each checks on the target that the deploy lock is still held.
    const run = t.deploy({ snapshot: true, purge: s.purge, noCache: s.buildNoCache, verify: s.verify, lockPid: lock.pid })
    const snapshot: Snapshot | undefined = await report.step('snapshot', `the running ${s.service} container`, async note => {
      run.attach('snapshot')
      const snap = await run.snapshot
      note(snap ? `container ${snap.containerId.slice(0, 12)}, image ${snap.imageId}, tagged ${snap.previousTag}` : 'no container yet: first deploy')
      return snap
    })
    report.previousImageId = snapshot?.imageId ?? ''

    // A heal purges too: its counts add up with the first purge's.
    const purgeStep = async (deploy: DeployRun): Promise<string> => {
      deploy.attach('purge')
      const purged = (await deploy.purge) as PurgeResult
      report.purgedHost += purged.host
      report.purgedContainer += purged.container
      for (const n of [...purged.notes, ...purged.warnings]) if (!report.purgeNotes.includes(n)) report.purgeNotes.push(n)
      for (const w of purged.warnings) core.warning(`purge: ${w}`)
      return `${purged.host} on the host, ${purged.container} in the container${purged.notes.length ? `; ${purged.notes.join('; ')}` : ''}`
    }
    if (s.purge) {
      await report.step('purge', `bytecode under ${s.sourceDir} and ${s.containerSourceDir}`, async note => note(await purgeStep(run)))
    } else {
      report.skipStep('purge', 'purge: false')
    }

    const setContainer = (c: Pick<Container, 'containerId' | 'imageId' | 'startedAt'>): void => {
      report.containerId = c.containerId
      report.imageId = c.imageId
      report.startedAtContainer = c.startedAt
    }
    const rebuildStep = async (deploy: DeployRun, note: (text: string) => void): Promise<Container> => {
      deploy.attach('rebuild')
      const c = await deploy.rebuild
      note(`container ${c.containerId.slice(0, 12)}, image ${c.imageId}`)
      return c
    }
    let container = await report.step('rebuild', `build and recreate ${s.service}`, async note => rebuildStep(run, note))
    setContainer(container)

    if (!s.verify) {
      report.verifySkipped = true
      report.probes = ALL_PROBES.map(name => ({ name, verdict: 'skip', expected: '', found: '', reason: 'verify: false' }))
      report.skipStep('verify', 'verify: false — no probe ran')
      report.verdict = 'fresh'
      return
    }

    const ctx: ProbeContext = {
      previousContainerId: snapshot?.containerId ?? '',
      deployStartedAt: pre.now,
      runId,
      hasBuild,
      sourceDir: s.sourceDir,
      containerSourceDir: s.containerSourceDir,
      sourceExclude: s.sourceExclude,
      verifyUrl: s.verifyUrl,
      verifyExpect: s.verifyExpect,
      verifyTimeout: s.verifyTimeout
    }
    const verifyOnce = async (deploy: DeployRun, note: (text: string) => void): Promise<Probe[]> => {
      const facts = parseVerifyRecords((await deploy.verify) ?? [])
      if (s.verifyUrl && s.verifyFrom === 'runner' && facts.running) {
        facts.http = await httpProbeFromRunner({ url: s.verifyUrl, expect: s.verifyExpect, timeoutSeconds: s.verifyTimeout, intervalSeconds: s.verifyInterval })
      }
      if (facts.containerId) setContainer(facts)
      const probes = runProbes(facts, ctx)
      logProbes(probes)
      note(`${verdictOf(probes)}: ${probes.map(p => `${p.name} ${p.verdict}`).join(', ')}`)
      return probes
    }

    report.probes = await report.step('verify', 'probes', async note => verifyOnce(run, note))
    report.verdict = verdictOf(report.probes)

    while (report.verdict === 'stale' && report.healAttempts < s.staleRetries) {
      report.healAttempts++
      const failed = report.probes.filter(p => p.verdict === 'fail').map(p => p.name)
      report.probes = await report.step('heal', `no-cache rebuild ${report.healAttempts}/${s.staleRetries}`, async note => {
        core.info(`verdict stale (${failed.join(', ')} failed): ${s.purge ? 'purging, ' : ''}rebuilding without cache and recreating, then verifying again`)
        const heal = t.deploy({ snapshot: false, purge: s.purge, noCache: true, verify: true, lockPid: lock?.pid ?? '' })
        if (s.purge) core.info(`purge: ${await purgeStep(heal)}`)
        container = await rebuildStep(heal, () => undefined)
        setContainer(container)
        return verifyOnce(heal, note)
      })
      report.verdict = verdictOf(report.probes)
    }

    if (report.verdict === 'unhealthy') {
      if (!s.rollback) {
        report.rollbackNote = 'rollback: false — the unhealthy container was left in place'
      } else if (!snapshot) {
        report.rollbackNote = 'no previous image: this was the first deploy of the service, so no rollback was possible'
        core.warning(report.rollbackNote)
      } else {
        // Read the logs now: after the rollback, the service's logs are the previous image's,
        // and the report would show a healthy start instead of why the new container failed.
        report.failedLogs = await t.logs()
        await report.step('rollback', `previous image of ${s.service}`, async note => {
          const targetImage = container.configImage || snapshot.configImage
          const back = await t.rollback(snapshot.previousTag, targetImage, snapshot.revision || 'rollback')
          setContainer(back.container)
          report.rolledBack = true
          report.rollbackNote = `put back image ${back.container.imageId} (revision ${snapshot.revision || 'unknown'}) as container ${back.container.containerId.slice(0, 12)}; ${back.health.startsWith('pass') ? 'it runs' : `but it is not healthy either: ${back.health}`}`
          note(report.rollbackNote)
        })
      }
    }
  } catch (e) {
    report.verdict = 'error'
    report.error = describeError(e)
  } finally {
    if (lock) {
      const released = await lock.release()
      core.debug(`lock released (exit ${released.code})`)
    }
    await finish(report, target, deployment)
    target?.close()
    if (sshFiles && s.ssh) closeSshSoon(sshFiles, s.ssh.host)
  }
}

/** connect runs in two parts (transport, preflight); the summary shows them as one step. */
function mergeConnectSteps(report: Report): void {
  const parts = report.steps.filter(x => x.name === 'connect')
  if (parts.length < 2) return
  const [first, ...rest] = parts
  for (const p of rest) {
    first.seconds += p.seconds
    first.note = [first.note, p.note].filter(Boolean).join('; ')
    report.steps.splice(report.steps.indexOf(p), 1)
  }
}

function failureMessage(report: Report): string {
  if (report.verdict === 'error') return report.error
  const failed = report.probes.filter(p => p.verdict === 'fail')
  const first = failed.find(p => p.leadsTo === (report.verdict === 'unhealthy' ? 'unhealthy' : 'stale')) ?? failed[0]
  const evidence = first ? `probe ${first.name} failed: ${first.reason} (expected: ${first.expected}; found: ${first.found})` : ''
  const others = failed.length > 1 ? ` Also failed: ${failed.filter(p => p !== first).map(p => p.name).join(', ')}.` : ''
  const rolled = report.rolledBack ? ` Rolled back: ${report.rollbackNote}.` : report.rollbackNote ? ` ${report.rollbackNote}.` : ''
  return `fresh-deploy verdict ${report.verdict}: ${evidence}.${others}${rolled}`
}

async function finish(report: Report, target: Target | undefined, deployment: DeploymentHandle | undefined): Promise<void> {
  const failed = report.verdict !== 'fresh' && report.verdict !== 'dry-run'
  if (failed && target) {
    if (report.failedLogs !== undefined) {
      core.startGroup('report: last 50 lines of the failed container\'s logs (before the rollback)')
      logUntrusted(report.failedLogs)
      core.endGroup()
    }
    core.startGroup(`report: last 50 lines of the service logs${report.rolledBack ? ' (the rolled-back container)' : ''}`)
    logUntrusted(await target.logs())
    core.endGroup()
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
    await deployment.finish(report.verdict === 'fresh' ? 'success' : 'failure', `fresh-deploy: ${report.verdict}`)
  }
  try {
    await core.summary.addRaw(buildSummary(report)).write()
  } catch (e) {
    core.debug(`job summary not written: ${(e as Error).message}`)
  }
  if (failed) core.setFailed(failureMessage(report))
  else core.info(report.verdict === 'dry-run' ? 'dry-run: nothing was changed' : `verdict fresh: ${report.verifySkipped ? 'deployed, not verified (verify: false)' : 'the new code is what runs'}`)
}
