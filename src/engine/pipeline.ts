// The deploy, top to bottom: connect, lock, sync, snapshot, purge, rebuild, verify, heal,
// rollback (../shared/contract.md, "The pipeline"). The engine reports through a Reporter and
// returns a Report; the action and the command line turn that into outputs or terminal lines.
import { randomBytes } from 'node:crypto'
import { finishHttpProbe, httpProbeFromRunner } from './http-probe.js'
import { quoteValue } from './input-helper.js'
import { maskingMounts, parseHttpRecords, parseVerifyRecords, probeHttp, probeSmoke, runProbes, verdictOf, type Probe, type ProbeContext, type VerifyFacts } from './probes.js'
import { Report } from './report.js'
import type { Reporter } from './reporter.js'
import { preamble, readScript, type ScriptName } from './scripts.js'
import type { Settings } from './settings.js'
import { closeSshSoon, createSshDir, describeTarget, maskKey, openMaster, prepareSsh, type SshFiles } from './ssh.js'
import { startFirstRefusal } from './strategy.js'
import { RemoteError, Target, TargetInputError, type Container, type DeployRun, type HookResult, type Preflight, type PurgeResult, type Snapshot, type StartFirst } from './target.js'
import { LocalTransport, type Held, type Transport } from './transport.js'

export const ALL_PROBES = ['recreated', 'image', 'source', 'bytecode', 'health', 'http', 'smoke'] as const

export interface DeployOptions {
  /** This run's id (the io.fresh-deploy.run label); a new one by default. */
  runId?: string
  /** The raw text of an input, for error messages that quote it (never a secret's). */
  inputValue?: (name: string) => string
  /** Told the ssh files as soon as they exist (the action's post step deletes them). */
  onSshFiles?: (files: SshFiles) => void
  /** Run the scripts through this transport instead of connecting (unit tests: a stub target). */
  transport?: Transport
}

export function newRunId(): string {
  return `${process.env.GITHUB_RUN_ID || 'local'}-${process.env.GITHUB_RUN_ATTEMPT || '1'}-${randomBytes(4).toString('hex')}`
}

/** An error message for the user: inputs named with their values, secrets never quoted. */
export function describeError(e: unknown, inputValue: (name: string) => string = () => ''): string {
  if (e instanceof TargetInputError) {
    const raw = e.input === 'ssh-key' ? '' : inputValue(e.input)
    return `input ${e.input}:${raw ? ` ${quoteValue(raw)}` : ''} ${e.detail}`
  }
  return e instanceof Error ? e.message : String(e)
}

/** A report for a run that stopped before it started (bad input): verdict error. */
export function errorReport(message: string, log: Reporter): Report {
  const report = new Report(log)
  report.error = message
  return report
}

/** What one deploy holds while it runs: settings, where to report, the target, the lock. */
interface Run {
  s: Settings
  log: Reporter
  report: Report
  runId: string
  target: Target
  pre: Preflight
  lock: Held & { pid: string }
  hasBuild: boolean
  snapshot?: Snapshot
  container?: Container
  /** start-first: the new container next to the old one, until the cutover or its removal. */
  sf?: StartFirst
  /** start-first: the cutover was started (it runs detached on the target, whatever happens to the connection). */
  cutoverStarted?: boolean
  /** What the last verify found on the target (the heal reads it; start-first's public http probe after the cutover too). */
  facts?: VerifyFacts
}

export async function deploy(s: Settings, log: Reporter, options: DeployOptions = {}): Promise<Report> {
  const report = new Report(log)
  // Mask the key before anything else can print it.
  if (s.ssh) maskKey(s.ssh.key, log)
  const runId = options.runId ?? newRunId()
  report.revision = s.ref
  report.dryRun = s.dryRun
  report.target = s.ssh ? `ssh ${describeTarget(s.ssh)}:${s.projectDir}` : `local:${s.projectDir}`

  let target: Target | undefined
  let lock: (Held & { pid: string }) | undefined
  let locking: { lock: Promise<Held & { pid: string }> } | undefined
  let sshFiles: SshFiles | undefined
  let current: Run | undefined
  try {
    const transport = await report.step('connect', s.ssh ? describeTarget(s.ssh) : 'local transport', async () =>
      options.transport ??
      connect(s, log, f => {
        sshFiles = f
        options.onSshFiles?.(f)
      })
    )
    target = new Target(transport, s, runId, log)
    if (s.dryRun) {
      const pre = await preflightStep(report, target, s)
      checkStrategy(target, s)
      printPlan(log, target, s, pre, runId)
      const planned = ['lock', 'sync', 'snapshot', 'purge', 'rebuild', ...(s.preDeploy ? ['pre-deploy' as const] : []), 'verify', ...(s.postDeploy ? ['post-deploy' as const] : []), ...(s.strategy === 'start-first' ? ['cutover' as const] : [])] as const
      for (const name of planned) report.skipStep(name, 'dry-run: nothing changed')
      report.verdict = 'dry-run'
      return report
    }
    const session = (locking = target.preflightAndLock(
      s.sync !== 'git',
      // The holder's text comes from a file on the target: shown, never obeyed.
      holder => log.untrusted(`waiting for the deploy lock (up to ${s.lockTimeout} s, input lock-timeout), held by ${holder}`),
      holder => log.warning(`the deploy lock of ${s.projectDir} was left by a deploy that is gone (${holder}); taking it over`)
    ))
    const pre = await preflightStep(report, target, s, session.preflight)
    // Refused before the lock's step (with sync: git, after the sync, which reads the compose files of ref).
    if (s.sync !== 'git') checkStrategy(target, s)
    lock = await lockStep(report, s, pre, session.lock)
    const run: Run = { s, log, report, runId, target, pre, lock, hasBuild: pre.hasBuild ?? false }
    current = run
    await syncStep(run)
    if (s.sync === 'git') checkStrategy(target, s)
    await deployAndVerify(run)
    await healWhileStale(run)
    await postDeployStep(run)
    await finishStartFirst(run)
    await rollbackIfUnhealthy(run)
  } catch (e) {
    report.verdict = 'error'
    report.error = describeError(e, options.inputValue)
    // Also when the preflight failed: the summary lists connect once.
    mergeConnectSteps(report)
    // start-first: a new container that did not take over must not stay beside the old one.
    const run = current
    if (run?.sf) {
      await settle(log, 'removing the new container', async () => {
        await discardNew(run, 'the deploy failed', true)
      })
    }
  } finally {
    // Release the lock first (another deploy may be waiting), then read what the report needs,
    // then close the connection and delete the key: each step even when an earlier one throws.
    await settle(log, 'releasing the deploy lock', async () => {
      if (lock) log.debug(`lock released (exit ${(await lock.release()).code})`)
      // Stopped between the preflight and the lock step: the lock script may still take the lock
      // later; release it then (not awaited: it may wait up to lock-timeout for another deploy).
      else locking?.lock.then(held => held.release(), () => undefined)
    })
    if (report.failed && target && !report.dryRun) {
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
  return report
}

export async function settle(log: Reporter, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (e) {
    log.warning(`${what} failed: ${e instanceof Error ? e.message : String(e)}`)
  }
}

export async function connect(s: Settings, log: Reporter, onFiles: (files: SshFiles) => void): Promise<Transport> {
  if (!s.ssh) return new LocalTransport(line => log.untrusted(line))
  const files = createSshDir()
  onFiles(files)
  const args = await prepareSsh(s.ssh, files, log)
  return openMaster(s.ssh, files, args, log)
}

/** connect, second part: the preflight checks on the target (alone for a dry-run). */
export async function preflightStep(report: Report, t: Target, s: Settings, running?: Promise<Preflight>): Promise<Preflight> {
  const pre = await report.step('connect', 'preflight checks on the target', async note => {
    const p = running ? await running : await t.preflight(s.sync !== 'git')
    note(`${t.where}; ${p.realPath}; docker ${p.engineVersion}; ${p.compose} ${p.composeVersion}`)
    return p
  })
  mergeConnectSteps(report)
  return pre
}

export async function lockStep(report: Report, s: Settings, pre: Preflight, locking: Promise<Held & { pid: string }>): Promise<Held & { pid: string }> {
  const lock = await report.step('lock', `deploy lock for ${s.projectDir}`, async note => {
    const held = await locking
    note(pre.flock ? 'flock' : 'mkdir lock (no flock on the target)')
    return held
  })
  // The lock lasts as long as its script on the target. If that ends early (killed, or its
  // session dropped), another deploy may take the lock over: stop before the next step rather
  // than go on changing the service unprotected.
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
  return lock
}

/** strategy: start-first refused before anything changes: container_name, a fixed host port, network_mode, several containers. */
function checkStrategy(target: Target, s: Settings): void {
  if (s.strategy !== 'start-first') return
  const facts = target.startFirstFacts
  if (!facts) return
  const why = startFirstRefusal(s.service, facts)
  if (why) throw new TargetInputError('strategy', `${why}. Nothing was changed.`)
}

async function syncStep(run: Run): Promise<void> {
  const { s, report, target } = run
  if (s.sync !== 'git') {
    report.skipStep('sync', 'sync: none')
    return
  }
  await report.step('sync', `git checkout ${s.ref}`, async note => {
    const synced = await target.sync()
    run.hasBuild = synced.hasBuild
    note(`HEAD ${synced.head} (was ${synced.previous || 'nothing'})`)
  })
}

/**
 * Snapshot, purge, rebuild and verify: one script on the target (no round trip or remote shell
 * start between the steps). Each step is reported when its part is done; each checks on the
 * target that the deploy lock is still held.
 */
async function deployAndVerify(run: Run): Promise<void> {
  const { s, report, target } = run
  const deployRun = target.deploy({ snapshot: true, purge: s.purge, noCache: s.buildNoCache, verify: s.verify, lockPid: run.lock.pid, preDeploy: s.preDeploy !== '' })
  run.snapshot = await snapshotStep(run, deployRun)
  report.previousImageId = run.snapshot?.imageId ?? ''
  await purgeStep(run, deployRun)
  const startFirst = s.strategy === 'start-first'
  if (s.preDeploy || startFirst) await preDeployStep(run, deployRun)
  try {
    const title = startFirst ? `a new ${s.service} container next to the running one` : `build and recreate ${s.service}`
    run.container = await report.step('rebuild', title, async note => rebuildStep(run, deployRun, note))
  } catch (e) {
    await afterFailedRebuild(run, e)
    throw e
  }
  if (!s.verify) {
    report.verifySkipped = true
    report.probes = ALL_PROBES.map(name => ({ name, verdict: 'skip', expected: '', found: '', reason: 'verify: false' }))
    report.skipStep('verify', 'verify: false — no probe ran')
    if (s.postDeploy) report.skipStep('post-deploy', 'verify: false — the smoke test is a probe, and no probe ran')
    report.verdict = 'unverified'
    return
  }
  report.probes = await report.step('verify', 'probes', async note => verifyOnce(run, deployRun, note))
  setVerdict(report)
}

/** The verdict the probes give; a probe that could not run (error) says why: no heal, no rollback. */
function setVerdict(report: Report): void {
  report.verdict = verdictOf(report.probes)
  if (report.verdict === 'error') {
    const p = report.probes.find(x => x.verdict === 'fail' && x.leadsTo === 'error')
    report.error = p ? `probe ${p.name} could not run: ${p.reason}` : 'a probe could not run'
  }
}

async function snapshotStep(run: Run, deployRun: DeployRun): Promise<Snapshot | undefined> {
  return run.report.step('snapshot', `the running ${run.s.service} container`, async note => {
    deployRun.attach('snapshot')
    const snap = await deployRun.snapshot
    note(snap ? `container ${snap.containerId.slice(0, 12)}, image ${snap.imageId}; ${rollbackTarget(snap)}` : 'no container yet: first deploy')
    if (snap?.previousKept) run.log.info(`snapshot: ${rollbackTarget(snap)}`)
    return snap
  })
}

async function purgeStep(run: Run, deployRun: DeployRun): Promise<void> {
  const { s, report } = run
  if (!s.purge) {
    report.skipStep('purge', 'purge: false')
    return
  }
  await report.step('purge', `bytecode under ${s.sourceDir} and ${s.containerSourceDir}`, async note => note(await purgeCounts(run, deployRun)))
}

/** Adds a purge's counts to the report (a heal purges too); warnings for what could not be deleted. */
async function purgeCounts(run: Run, deployRun: DeployRun): Promise<string> {
  const { report, log } = run
  deployRun.attach('purge')
  const purged = (await deployRun.purge) as PurgeResult
  report.purgedHost += purged.host
  report.purgedContainer += purged.container
  for (const n of [...purged.notes, ...purged.warnings]) if (!report.purgeNotes.includes(n)) report.purgeNotes.push(n)
  for (const w of purged.warnings) log.warning(`purge: ${w}`)
  return `${purged.host} on the host, ${purged.container} in the container${purged.notes.length ? `; ${purged.notes.join('; ')}` : ''}`
}

/**
 * With pre-deploy: the image is built (the first rebuild group), the hook runs in a one-off
 * container of it, and only then is the running container replaced (the second rebuild group).
 * A failed hook ends the deploy with verdict error; the old container never stopped.
 */
async function preDeployStep(run: Run, deployRun: DeployRun): Promise<HookResult | undefined> {
  const { s, report } = run
  const why = s.preDeploy ? 'before pre-deploy' : 'strategy: start-first'
  await report.step('rebuild', `build ${s.service} (${why}; the running container is not touched)`, async note => {
    deployRun.attach('build')
    await deployRun.build
    note('image built')
  })
  if (!s.preDeploy) return undefined
  return report.step('pre-deploy', 'in a one-off container of the new image', async note => {
    deployRun.attach('predeploy')
    const hook = await deployRun.preDeploy
    note(hook ? `exit ${hook.exitCode}` : 'not run')
    return hook
  })
}

/**
 * post-deploy: the smoke test, inside the new container, once the other probes passed. Its result
 * is the smoke probe; a failure makes the verdict unhealthy (and so rolls back).
 */
async function postDeployStep(run: Run): Promise<void> {
  const { s, report, target } = run
  if (!s.verify) return
  const smokeAt = report.probes.findIndex(p => p.name === 'smoke')
  const setSmoke = (p: Probe): void => {
    if (smokeAt >= 0) report.probes[smokeAt] = p
    else report.probes.push(p)
  }
  if (!s.postDeploy) {
    setSmoke(probeSmoke(undefined, s))
    return
  }
  if (report.verdict !== 'fresh') {
    setSmoke(probeSmoke(undefined, s, `not run: the verdict was already ${report.verdict}`))
    report.skipStep('post-deploy', `not run: verdict ${report.verdict}`)
    return
  }
  const smoke = await report.step('post-deploy', `smoke test in container ${report.containerId.slice(0, 12)}`, async note => {
    const hook = await target.postDeploy(report.containerId, run.lock.pid, report.previousImageId)
    const probe = probeSmoke(hook, s)
    note(`${probe.verdict}: ${hook.timedOut ? 'stopped after hook-timeout' : `exit ${hook.exitCode}`}`)
    return probe
  })
  setSmoke(smoke)
  logProbes(run.log, [smoke])
  setVerdict(report)
}

async function rebuildStep(run: Run, deployRun: DeployRun, note: (text: string) => void): Promise<Container> {
  if (run.s.strategy === 'start-first') {
    deployRun.attach('startfirst')
    run.sf = await deployRun.startFirst
  }
  deployRun.attach('rebuild')
  const c = await deployRun.rebuild
  setContainer(run.report, c)
  const beside = run.sf ? ` next to ${run.sf.old.slice(0, 12)}, which still serves (not under the service's name until the cutover)` : ''
  const fallback = run.s.strategy === 'start-first' && !run.sf ? ' (recreated: no running container to keep serving)' : ''
  note(`container ${c.containerId.slice(0, 12)}, image ${c.imageId}${beside}${fallback}`)
  return c
}

export function setContainer(report: Report, c: Pick<Container, 'containerId' | 'imageId' | 'startedAt'>): void {
  report.containerId = c.containerId
  report.imageId = c.imageId
  report.startedAtContainer = c.startedAt
}

function probeContext(run: Run): ProbeContext {
  const { s } = run
  return {
    previousContainerId: run.snapshot?.containerId ?? '',
    deployStartedAt: run.pre.now,
    runId: run.runId,
    hasBuild: run.hasBuild,
    sourceDir: s.sourceDir,
    containerSourceDir: s.containerSourceDir,
    sourceInclude: s.sourceInclude,
    sourceExclude: s.sourceExclude,
    ...run.target.sourceFacts,
    verifyUrl: s.verifyUrl,
    verifyExpect: s.verifyExpect,
    verifyTimeout: s.verifyTimeout
  }
}

async function verifyOnce(run: Run, deployRun: DeployRun, note: (text: string) => void): Promise<Probe[]> {
  const { s, report, log } = run
  const facts = parseVerifyRecords((await deployRun.verify) ?? [], s.verifyFrom)
  run.facts = facts
  const ctx = probeContext(run)
  // start-first: a probe from the host or the runner would reach the old container; it runs after the cutover.
  const afterCutover = run.sf !== undefined && s.verifyFrom !== 'container'
  // One attempt came with the verify script; poll further only when no other probe failed.
  await finishHttpProbe(facts, ctx, {
    from: s.verifyFrom,
    url: afterCutover ? '' : s.verifyUrl,
    expect: s.verifyExpect,
    timeoutSeconds: s.verifyTimeout,
    intervalSeconds: s.verifyInterval,
    pollOnTarget: first => run.target.httpPoll(facts.containerId, first, run.lock.pid)
  })
  if (facts.containerId) setContainer(report, facts)
  let probes = runProbes(facts, ctx)
  if (afterCutover && s.verifyUrl) {
    const reason = `runs after the cutover (verify-from: ${s.verifyFrom}): until then ${s.verifyUrl} reaches the old container`
    probes = probes.map(p => (p.name === 'http' ? { ...p, verdict: 'skip', reason } : p))
  }
  logProbes(log, probes)
  note(`${verdictOf(probes)}: ${probes.map(p => `${p.name} ${p.verdict}`).join(', ')}`)
  return probes
}

function logProbes(log: Reporter, probes: Probe[]): void {
  for (const p of probes) {
    const evidence = p.verdict === 'pass' ? [p.found, p.reason].filter(Boolean).join('; ') : p.reason
    const line = `${p.verdict.padEnd(4)} ${p.name}${evidence ? `: ${evidence}` : ''}`
    // Evidence quotes the target (file names, an http body): shown, never obeyed.
    log.untrusted(line)
  }
}

/**
 * Stale: a no-cache rebuild and a fresh recreate, verified again, at most stale-retries times.
 * A heal that fails keeps the verdict the probes gave, with a note (never an "error" that hides
 * the evidence).
 */
async function healWhileStale(run: Run): Promise<void> {
  const { s, report, target, log } = run
  while (report.verdict === 'stale' && report.healAttempts < s.staleRetries) {
    if (await maskedByMount(run)) return
    report.healAttempts++
    const failed = report.probes.filter(p => p.verdict === 'fail').map(p => p.name)
    try {
      report.probes = await report.step('heal', `no-cache rebuild ${report.healAttempts}/${s.staleRetries}`, async note => {
        // start-first: the stale container never served; the heal starts another next to the old one.
        const old = run.sf?.old
        if (run.sf) await discardNew(run, 'stale', false)
        const how = old ? 'starting a new container next to the old one' : 'recreating'
        log.info(`verdict stale (${failed.join(', ')} failed): ${s.purge ? 'purging, ' : ''}rebuilding without cache and ${how}, then verifying again`)
        const heal = target.deploy({ snapshot: false, purge: s.purge, noCache: true, verify: true, lockPid: run.lock.pid, ...(old ? { oldCid: old } : {}) })
        if (s.purge) log.info(`purge: ${await purgeCounts(run, heal)}`)
        run.container = await rebuildStep(run, heal, () => undefined)
        return verifyOnce(run, heal, note)
      })
    } catch (e) {
      report.notes.push(`heal ${report.healAttempts} failed: ${describeError(e)}`)
      // A heal's up that removed the container and started none leaves the service down.
      await afterFailedRebuild(run, e)
      return
    }
    setVerdict(report)
  }
}

/**
 * Stale because a mount hides what the image holds (a named volume over the source, an old
 * anonymous volume with renew-anon-volumes off): no rebuild can help, so no heal is tried and
 * the source probe says which mount to deal with. Asked of the target only when every differing
 * file lies in a mount.
 */
async function maskedByMount(run: Run): Promise<boolean> {
  const { report, facts, log } = run
  const source = report.probes.find(p => p.name === 'source')
  if (!facts || source?.verdict !== 'fail' || source.leadsTo !== 'stale' || !facts.imageId) return false
  const ctx = probeContext(run)
  if (maskingMounts(facts, ctx, facts.hostFiles).length === 0) return false
  let image: { dir: string; files: Map<string, string> }
  try {
    image = await run.target.imageFiles(facts.imageId)
  } catch (e) {
    log.debug(`could not list the image's own files: ${describeError(e)}`)
    return false
  }
  if (image.dir !== 'yes') return false
  const mounts = maskingMounts(facts, ctx, image.files)
  if (mounts.length === 0) return false
  const why = `a mount masks the image's files: the image holds the host's version of every differing file, but the container sees ${mounts.join(', ')} over them. No rebuild can help (a volume or bind mount outlives it), so no heal was tried: remove or refresh that volume (an anonymous one: renew-anon-volumes: true), or stop mounting it over container-source-dir`
  source.reason = `${source.reason}; ${why}`
  report.notes.push(why)
  log.warning(why)
  return true
}

/** The snapshot's rollback target, in words (the snapshot step's note). */
function rollbackTarget(snap: Snapshot): string {
  const target = snap.previousTag ? `rollback target ${snap.previousTag} (image ${snap.previousImage}, revision ${snap.previousRevision || 'unknown'})` : ''
  if (!snap.previousKept) return target
  return `${snap.previousKept}${target ? `: ${target}` : ''}`
}

/**
 * start-first, after the probes and post-deploy: a proven new container takes over (cutover), then
 * the public http probe runs (verify-from: host or runner); one that was not proven is removed and
 * the old one, never stopped, serves on.
 */
async function finishStartFirst(run: Run): Promise<void> {
  const { s, report, target, log } = run
  const sf = run.sf
  if (!sf) return
  if (report.verdict !== 'fresh' && report.verdict !== 'unverified') {
    const verdict = report.verdict
    const logs = await report.step('rollback', `remove the new container ${sf.container.containerId.slice(0, 12)}; the previous container keeps serving`, async note => {
      const lines = await discardNew(run, verdict, true)
      note(report.rollbackNote)
      return lines
    })
    if (verdict === 'unhealthy') report.failedLogs = logs
    return
  }
  const cut = await report.step('cutover', `container ${sf.container.containerId.slice(0, 12)} takes the name ${s.service} from ${sf.old.slice(0, 12)}`, async note => {
    // From here on, a failure (e.g. the connection dropped) may leave the cutover running,
    // detached, or done: the new container may be the one serving (discardNew checks first).
    run.cutoverStarted = true
    const c = await target.cutover(sf, run.lock.pid)
    note(`old ${sf.old.slice(0, 12)} → new ${sf.container.containerId.slice(0, 12)}; named in ${c.named} s, old drained, stopped and removed in ${c.stopped} s`)
    return c
  })
  log.debug(`cutover: ${JSON.stringify(cut)}`)
  run.sf = undefined
  await publicHttpProbe(run)
}

/** start-first: the http probe from the host or the runner, once the new container has the service's name. */
async function publicHttpProbe(run: Run): Promise<void> {
  const { s, report, target, log } = run
  if (!s.verify || !s.verifyUrl || s.verifyFrom === 'container' || !run.facts) return
  const facts = run.facts
  const probe = await report.step('verify', `http ${s.verifyUrl} after the cutover`, async note => {
    if (s.verifyFrom === 'runner') {
      facts.http = await httpProbeFromRunner({ url: s.verifyUrl, expect: s.verifyExpect, timeoutSeconds: s.verifyTimeout, intervalSeconds: s.verifyInterval })
    } else {
      facts.http = parseHttpRecords(await target.httpPoll(facts.containerId, { deadline: 0, attempts: 0 }, run.lock.pid), 'host')
    }
    const p = probeHttp(facts, probeContext(run))
    note(`${p.verdict}: ${p.found || p.reason}`)
    return p
  })
  const at = report.probes.findIndex(p => p.name === 'http')
  if (at >= 0) report.probes[at] = probe
  else report.probes.push(probe)
  logProbes(log, [probe])
  setVerdict(report)
}

/**
 * start-first: removes the new container (it never served), keeping its last log lines; the
 * report names the old one, which serves on. Returns the new container's logs.
 */
async function discardNew(run: Run, why: string, final: boolean): Promise<string> {
  const { report, target, snapshot } = run
  const sf = run.sf
  if (!sf) return ''
  const { logs, removed } = await target.discard(sf.container.containerId, run.cutoverStarted ? sf.old : undefined)
  run.sf = undefined
  if (!removed) {
    // The cutover went through on the target although the runner lost sight of it: the new
    // container serves alone, and removing it would leave none.
    report.notes.push(
      `the cutover finished on the target: the new container ${sf.container.containerId.slice(0, 12)} took the name and the old one ${sf.old.slice(0, 12)} stopped; the new container was kept (deploy again to verify it)`
    )
    return logs
  }
  // A heal starts another new container; only the last removal is the deploy's outcome.
  if (!final) return logs
  if (snapshot) setContainer(report, snapshot)
  report.rolledBack = true
  report.keptPrevious = true
  report.rollbackNote = `the previous container kept serving (${sf.old.slice(0, 12)}): the new container ${sf.container.containerId.slice(0, 12)} (${why}) never took a request and was removed`
  return logs
}

/** Unhealthy: put the snapshot's image back (rollback: true). The verdict stays unhealthy. */
async function rollbackIfUnhealthy(run: Run): Promise<void> {
  // start-first before the cutover: the old container never stopped (finishStartFirst).
  if (run.report.verdict !== 'unhealthy' || run.report.rolledBack) return
  await rollBack(run, 'the unhealthy container was left in place')
}

/**
 * A rebuild that failed (item 8): when it got as far as removing the old container and left
 * no running one, roll back like unhealthy (the verdict stays error); when the old container
 * still runs (the build failed before the recreate), say so. rebuild.sh reports which
 * ("after-failure"); without that line (lost connection, engine down) nobody knows: nothing
 * is done.
 */
async function afterFailedRebuild(run: Run, e: unknown): Promise<void> {
  const state = e instanceof RemoteError ? e.records.find(r => r.key === 'after-failure')?.value : undefined
  if (!state) return
  const [what, cid = ''] = state.split(' ')
  if (what === 'running') {
    const old = run.snapshot && cid === run.snapshot.containerId
    run.report.notes.push(old ? `the old container ${cid.slice(0, 12)} was not replaced and still runs: nothing to roll back` : `container ${cid.slice(0, 12)} of ${run.s.service} runs: nothing to roll back`)
    return
  }
  const why = what === 'none' ? `no container of ${run.s.service} is left` : `container ${cid.slice(0, 12)} of ${run.s.service} is not running`
  await rollBack(run, 'nothing was put back', `the failed rebuild left no running container of ${run.s.service} (${why})`)
}

/**
 * Puts the snapshot's rollback target back (rollback: true) and says what happened in
 * report.rollbackNote; never changes the verdict. left: what stays when nothing is put back.
 */
async function rollBack(run: Run, left: string, because = ''): Promise<void> {
  const { s, report, target, log, snapshot } = run
  const why = because ? `${because}; ` : ''
  if (!s.rollback) {
    report.rollbackNote = `${why}rollback: false — ${left}`
    return
  }
  if (!snapshot) {
    report.rollbackNote = `${why}no previous image: this was the first deploy of the service, so no rollback was possible`
    log.warning(report.rollbackNote)
    return
  }
  if (!snapshot.previousTag) {
    report.rollbackNote = `${why}no rollback target (${snapshot.previousKept}), so no rollback was possible`
    log.warning(report.rollbackNote)
    return
  }
  // Read the logs now: after the rollback, the service's logs are the previous image's, and the
  // report would show a healthy start instead of why the new container failed.
  report.failedLogs = await target.logs()
  const revision = snapshot.previousRevision
  try {
    await report.step('rollback', `previous image of ${s.service}`, async note => {
      if (because) log.info(`${because}: rolling back`)
      const back = await target.rollback(snapshot, revision || 'rollback')
      setContainer(report, back.container)
      report.rolledBack = true
      report.rollbackNote = `${why}put back image ${back.container.imageId} (revision ${revision || 'unknown'}) as container ${back.container.containerId.slice(0, 12)}; ${back.health.startsWith('pass') ? 'it runs' : `but it is not healthy either: ${back.health}`}`
      note(report.rollbackNote)
    })
  } catch (err) {
    report.rollbackNote = `${why}the rollback failed: ${describeError(err)}`
    report.notes.push(report.rollbackNote)
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
    if (p.status === 'failed') first.status = 'failed'
    report.steps.splice(report.steps.indexOf(p), 1)
  }
}

/** dry-run: every script that would run, with its variables (the key is never among them). */
function printPlan(log: Reporter, target: Target, s: Settings, pre: Preflight, runId: string): void {
  const show = (name: ScriptName, title: string, vars: Record<string, string | number | boolean | undefined>): void => {
    log.block(`${title}: plan (dry-run, not run)`, `${preamble({ ...vars })}\n${readScript(`${name}.sh`)}`)
  }
  const common = {
    FD_PROJECT_DIR: s.projectDir,
    FD_COMPOSE_CMD: pre.compose,
    FD_COMPOSE_FILES: s.composeFiles.join('\n'),
    FD_PROJECT_NAME: s.composeProjectName,
    FD_RESOLVED_PROJECT: target.resolvedProject,
    FD_SERVICE: s.service
  }
  log.info(`dry-run: every step below would run on ${target.where} with bash -s, preceded by src/scripts/lib.sh; run id ${runId}`)
  log.block('lib.sh (sent before every step script)', readScript('lib.sh'))
  show('lock', 'lock', { ...common, ...target.lockVars(pre.flock) })
  if (s.sync === 'git') show('sync', 'sync', { ...common, FD_REF: s.ref, FD_DISCARD: s.syncDiscardChanges })
  show('snapshot', 'snapshot', common)
  if (s.purge) show('purge', 'purge', { ...common, FD_SOURCE_DIR: s.sourceDir, FD_CONTAINER_SOURCE_DIR: s.containerSourceDir, FD_PURGE_SH: '(src/scripts/purge-tree.sh)', FD_KNOWN_CID: '(the container the snapshot found)', FD_KNOWN_CID_SET: 'yes' })
  const startFirst = s.strategy === 'start-first'
  if (s.preDeploy || startFirst) show('build', `rebuild (before ${s.preDeploy ? 'pre-deploy' : 'the new container starts'})`, { ...common, ...target.rebuildVars(s.buildNoCache) })
  if (s.preDeploy) show('predeploy', 'pre-deploy', { ...common, ...target.hookVars(s.preDeploy, '(the image the snapshot found)') })
  if (startFirst) show('startfirst', 'rebuild (strategy: start-first: a new container next to the running one)', { ...common, ...target.rebuildVars(s.buildNoCache), FD_KNOWN_CID: '(the container the snapshot found)', FD_KNOWN_CID_SET: 'yes' })
  show('rebuild', startFirst ? 'rebuild (only when no container runs)' : 'rebuild', { ...common, ...target.rebuildVars(s.buildNoCache), ...(s.preDeploy || startFirst ? { FD_NO_BUILD: true } : {}) })
  if (s.verify) {
    show('verify', 'verify', {
      ...common,
      ...target.verifyVars('(the container the rebuild created)'),
      FD_FINGERPRINT_SH: '(src/scripts/fingerprint.sh)',
      FD_BYTECODE_PY: '(src/scripts/bytecode.py)',
      FD_HTTP_POLL_SH: '(src/scripts/http-poll.sh)',
      FD_HTTP_CLIENT_SH: '(src/scripts/http-client.sh)',
      FD_HTTP_PY: '(src/scripts/http-get.py)'
    })
    if (s.postDeploy) show('smoke', 'post-deploy', { ...common, ...target.hookVars(s.postDeploy, '(the image the snapshot found)'), FD_KNOWN_CID: '(the container the rebuild created)' })
  }
  if (startFirst) show('cutover', 'cutover', { ...common, FD_SF_OLD: '(the container the snapshot found)', FD_SF_NEW: '(the new container)', FD_SF_NETWORKS: '(its networks and aliases)', FD_STOP_TIMEOUT: s.stopTimeout, FD_RENEW_ANON: s.renewAnonVolumes })
}
