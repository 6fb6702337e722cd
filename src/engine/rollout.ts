// Several hosts (../shared/contract.md, "Several hosts"): a rolling deploy above deploy(). The
// first host is the canary and runs alone; then `parallel` hosts at a time, in the order given.
// The first host whose verdict is not fresh (or unverified) stops the rollout: hosts not started
// are never touched, hosts in flight finish. Each host is a whole deploy() of its own: its own
// ssh master connection, lock, snapshot, probes and rollback.
import { deploy, describeError, errorReport, newRunId, type DeployOptions } from './pipeline.js'
import type { Verdict } from './probes.js'
import type { Report } from './report.js'
import type { Reporter, StepName, StepRecord } from './reporter.js'
import type { HostEntry, Settings } from './settings.js'
import type { SshFiles } from './ssh.js'

export type DeployOne = (s: Settings, log: Reporter, options: DeployOptions) => Promise<Report>

export interface HostOutcome {
  /** The entry as given in the host input. */
  label: string
  /** undefined: not reached (skip). */
  report?: Report
  /** Wall time of this host's deploy. */
  seconds: number
  /** Why a host was not reached. */
  skipReason?: string
}

export interface RolloutOptions extends DeployOptions {
  /** Stands in for deploy() (unit tests). */
  deployOne?: DeployOne
  /** Asked before each host starts: true stops the rollout there (a cancelled run). */
  cancelled?: () => boolean
  /** Told each host's ssh files as soon as they exist (the action's post step deletes them). */
  onHostSshFiles?: (host: HostEntry, files: SshFiles) => void
}

export class Rollout {
  readonly startedAt = Date.now()
  /** Set when a cancel stopped the rollout before every host was reached: the run failed. */
  cancelled = false
  constructor(
    readonly outcomes: HostOutcome[],
    readonly parallel: number
  ) {}

  /** The hosts that were reached, in the order given. */
  get reached(): (HostOutcome & { report: Report })[] {
    return this.outcomes.filter((o): o is HostOutcome & { report: Report } => o.report !== undefined)
  }

  /** The last host reached, in the order given: what the single-valued outputs describe. */
  get last(): (HostOutcome & { report: Report }) | undefined {
    const r = this.reached
    return r[r.length - 1]
  }

  /** The worst verdict of the hosts reached (error when none was). */
  get verdict(): Verdict {
    return worstVerdict(this.reached.map(o => o.report.verdict))
  }

  /** The first host reached whose verdict is the worst: the one a failure message is about. */
  get worst(): (HostOutcome & { report: Report }) | undefined {
    const v = this.verdict
    return this.reached.find(o => o.report.verdict === v)
  }

  durationSeconds(): string {
    return ((Date.now() - this.startedAt) / 1000).toFixed(1)
  }
}

/** Worst first: the order of the verdict output with several hosts. */
const SEVERITY: Verdict[] = ['error', 'unhealthy', 'stale', 'unverified', 'dry-run', 'fresh']

export function worstVerdict(verdicts: Verdict[]): Verdict {
  if (verdicts.length === 0) return 'error'
  return verdicts.reduce((a, b) => (SEVERITY.indexOf(b) < SEVERITY.indexOf(a) ? b : a))
}

/** Whether a host's verdict lets the rollout go on. */
export function continues(verdict: Verdict): boolean {
  return verdict === 'fresh' || verdict === 'unverified' || verdict === 'dry-run'
}

/** The settings of one host: the run's settings with that host's connection. */
export function hostSettings(s: Settings, h: HostEntry): Settings {
  return { ...s, ssh: h.ssh, hosts: [h] }
}

/**
 * Deploys every host of s.hosts; each host reports through the reporter hostLog makes for it
 * (a HostReporter). Never throws: a host's failure is in its report.
 */
export async function rollout(s: Settings, hostLog: (label: string) => Reporter, options: RolloutOptions = {}): Promise<Rollout> {
  const hosts = s.hosts ?? []
  const deployOne = options.deployOne ?? deploy
  const runId = options.runId ?? newRunId()
  const outcomes: HostOutcome[] = hosts.map(h => ({ label: h.label, seconds: 0 }))
  const result = new Rollout(outcomes, s.parallel)
  let stoppedBy: string | undefined
  let next = 0

  const runHost = async (i: number): Promise<void> => {
    const h = hosts[i]
    const t0 = Date.now()
    const log = hostLog(h.label)
    let report: Report
    try {
      // Every deploy option passes through (the rollout's own are ignored by deploy()).
      report = await deployOne(hostSettings(s, h), log, {
        ...options,
        runId,
        onSshFiles: files => {
          options.onHostSshFiles?.(h, files)
          options.onSshFiles?.(files)
        }
      })
    } catch (e) {
      // deploy() reports its failures; a throw is a bug, and it must not cut the other hosts off.
      report = errorReport(describeError(e), log)
    }
    outcomes[i].report = report
    outcomes[i].seconds = (Date.now() - t0) / 1000
    if (!continues(report.verdict) && stoppedBy === undefined) stoppedBy = `${h.label} ended with verdict ${report.verdict}`
  }
  const mayStart = (): boolean => {
    if (stoppedBy !== undefined) return false
    if (options.cancelled?.()) {
      stoppedBy = 'the run was cancelled'
      result.cancelled = true
      return false
    }
    return true
  }
  // One worker takes the next host whenever it is free: at most `parallel` in flight.
  const worker = async (): Promise<void> => {
    while (next < hosts.length && mayStart()) await runHost(next++)
  }

  if (hosts.length > 0 && mayStart()) {
    // The canary alone: a bad build stops at one host whatever parallel says.
    await runHost(next++)
    await Promise.all(Array.from({ length: Math.min(s.parallel, hosts.length - 1) }, worker))
  }
  for (const o of outcomes) if (!o.report) o.skipReason = `not reached: ${stoppedBy ?? 'the rollout stopped'}`
  return result
}

/**
 * The reporter of one host: step names as "rebuild (web2.example.com)" in log groups and
 * terminal lines (the host's Report keeps the plain names). With buffer (several hosts at
 * once), a step's lines are held until the step ends and then written as one group, so that two
 * hosts' builds never interleave inside a group; masks pass through at once.
 */
export class HostReporter implements Reporter {
  private held: (() => void)[] | undefined

  constructor(
    private readonly inner: Reporter,
    readonly label: string,
    private readonly buffer = false
  ) {}

  private name(name: StepName): StepName {
    // Only the text changes: the front ends print the name as given.
    return `${name} (${this.label})` as StepName
  }

  private emit(fn: () => void): void {
    if (this.held) this.held.push(fn)
    else fn()
  }

  stepStarted(name: StepName, title: string): void {
    const start = (): void => this.inner.stepStarted(this.name(name), title)
    if (!this.buffer) return start()
    this.held = [start]
  }

  stepEnded(step: StepRecord): void {
    const record = { ...step, name: this.name(step.name) }
    if (!this.held) return this.inner.stepEnded(record)
    const lines = this.held
    this.held = undefined
    for (const fn of lines) fn()
    this.inner.stepEnded(record)
  }

  info(text: string): void {
    // Outside a step, a line of one host among several in flight says whose it is.
    const line = this.buffer && !this.held ? `(${this.label}) ${text}` : text
    this.emit(() => this.inner.info(line))
  }

  warning(text: string): void {
    // A warning annotation stands alone in the job's list: it names its host.
    this.inner.warning(`${this.label}: ${text}`)
  }

  debug(text: string): void {
    this.emit(() => this.inner.debug(`(${this.label}) ${text}`))
  }

  untrusted(text: string): void {
    this.emit(() => this.inner.untrusted(text))
  }

  block(title: string, text: string, options?: { untrusted?: boolean }): void {
    this.emit(() => this.inner.block(`${title} (${this.label})`, text, options))
  }

  secret(value: string): void {
    this.inner.secret(value)
  }
}

/** The hosts output: one object per host in the order given. */
export function hostsJson(r: Rollout): string {
  return JSON.stringify(hostsObjects(r))
}

export function hostsObjects(r: Rollout): Record<string, unknown>[] {
  return r.outcomes.map(o => {
    const p = o.report
    return {
      host: o.label,
      verdict: p ? p.verdict : 'skip',
      verified: p ? p.verified : false,
      'container-id': p?.containerId ?? '',
      'image-id': p?.imageId ?? '',
      'previous-image-id': p?.previousImageId ?? '',
      'rolled-back': p?.rolledBack ?? false,
      purged: p?.purged ?? 0,
      'duration-seconds': Number(o.seconds.toFixed(1))
    }
  })
}
