// What a run did, collected as it goes: step times, probes, purge counts, rollback; turned
// into outputs and the job summary at the end (report step).
import * as core from './actions-core.js'
import type { Probe, Verdict } from './probes.js'
import { neutralize } from './workflow-commands.js'

export type StepName = 'connect' | 'lock' | 'sync' | 'snapshot' | 'purge' | 'rebuild' | 'verify' | 'heal' | 'rollback' | 'report'

export interface StepRecord {
  name: StepName
  status: 'ok' | 'failed' | 'skipped'
  seconds: number
  note: string
}

export class Report {
  readonly startedAt = Date.now()
  steps: StepRecord[] = []
  probes: Probe[] = []
  verdict: Verdict = 'error'
  verifySkipped = false
  error = ''
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
  rollbackNote = ''
  /** The failed container's last log lines, read before a rollback replaces it. */
  failedLogs: string | undefined
  healAttempts = 0
  deploymentId = ''
  dryRun = false

  get purged(): number {
    return this.purgedHost + this.purgedContainer
  }

  get verified(): boolean {
    return this.verdict === 'fresh'
  }

  skipStep(name: StepName, note: string): void {
    this.steps.push({ name, status: 'skipped', seconds: 0, note })
    core.info(neutralize(`${name}: skipped (${note})`))
  }

  /** Called before each step starts; throws to stop the run there (a lost deploy lock). */
  guard: ((name: StepName) => void) | undefined

  /** Runs one step inside a log group titled with its name; records its time and outcome. */
  async step<T>(name: StepName, title: string, fn: (note: (text: string) => void) => Promise<T>): Promise<T> {
    if (name !== 'report') this.guard?.(name)
    const t0 = Date.now()
    const record: StepRecord = { name, status: 'ok', seconds: 0, note: '' }
    this.steps.push(record)
    core.startGroup(`${name}: ${title}`)
    try {
      return await fn(text => {
        record.note = text
      })
    } catch (e) {
      record.status = 'failed'
      throw e
    } finally {
      record.seconds = (Date.now() - t0) / 1000
      // A note can hold what the target showed (paths, compose output): no command in it may act.
      core.info(neutralize(`${name} ${record.status === 'ok' ? 'done' : 'failed'} in ${record.seconds.toFixed(1)} s${record.note ? `: ${record.note}` : ''}`))
      core.endGroup()
    }
  }

  durationSeconds(): string {
    return ((Date.now() - this.startedAt) / 1000).toFixed(1)
  }
}
