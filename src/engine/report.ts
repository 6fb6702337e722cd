// What a run did, collected as it goes: step times, probes, purge counts, rollback. The front
// ends turn it into outputs, a job summary or terminal lines at the end.
import type { Probe, Verdict } from './probes.js'
import type { Reporter, StepName, StepRecord } from './reporter.js'

export type { StepName, StepRecord } from './reporter.js'

export class Report {
  readonly startedAt = Date.now()
  steps: StepRecord[] = []
  probes: Probe[] = []
  verdict: Verdict = 'error'
  verifySkipped = false
  error = ''
  /** Notes on what went wrong after the verdict was known (a failed heal or rollback). */
  notes: string[] = []
  target = ''
  revision = ''
  containerId = ''
  imageId = ''
  previousImageId = ''
  startedAtContainer = ''
  purgedHost = 0
  purgedContainer = 0
  purgeNotes: string[] = []
  rolledBack = false
  /** start-first: the new container was removed before the cutover; the previous one never stopped. */
  keptPrevious = false
  rollbackNote = ''
  /** The failed container's last log lines, read before a rollback replaces it. */
  failedLogs: string | undefined
  /** The service's last log lines after a failed deploy (for the report). */
  serviceLogs: string | undefined
  healAttempts = 0
  deploymentId = ''
  dryRun = false

  constructor(readonly log: Reporter) {}

  get purged(): number {
    return this.purgedHost + this.purgedContainer
  }

  get verified(): boolean {
    return this.verdict === 'fresh'
  }

  /** Whether the run failed (exit non-zero): every verdict but fresh, unverified and dry-run. */
  get failed(): boolean {
    return this.verdict !== 'fresh' && this.verdict !== 'unverified' && this.verdict !== 'dry-run'
  }

  skipStep(name: StepName, note: string): void {
    const record: StepRecord = { name, status: 'skipped', seconds: 0, note }
    this.steps.push(record)
    this.log.stepEnded(record)
  }

  /** Called before each step starts; throws to stop the run there (a lost deploy lock). */
  guard: ((name: StepName) => void) | undefined

  /** Runs one step, reported as it starts and ends; records its time and outcome. */
  async step<T>(name: StepName, title: string, fn: (note: (text: string) => void) => Promise<T>): Promise<T> {
    if (name !== 'report') this.guard?.(name)
    const t0 = Date.now()
    const record: StepRecord = { name, status: 'ok', seconds: 0, note: '' }
    this.steps.push(record)
    this.log.stepStarted(name, title)
    try {
      return await fn(text => {
        record.note = text
      })
    } catch (e) {
      record.status = 'failed'
      throw e
    } finally {
      record.seconds = (Date.now() - t0) / 1000
      this.log.stepEnded(record)
    }
  }

  durationSeconds(): string {
    return ((Date.now() - this.startedAt) / 1000).toFixed(1)
  }
}
