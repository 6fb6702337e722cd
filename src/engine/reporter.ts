// How the engine tells a front end what happens. The engine never writes to the log itself: the
// action turns these calls into log groups, annotations and masks; the command line into
// terminal lines. Nothing here may depend on the runner's toolkit.

export type StepName =
  | 'connect'
  | 'lock'
  | 'sync'
  | 'snapshot'
  | 'purge'
  | 'rebuild'
  | 'pre-deploy'
  | 'verify'
  | 'post-deploy'
  | 'cutover'
  | 'heal'
  | 'rollback'
  | 'report'

export interface StepRecord {
  name: StepName
  status: 'ok' | 'failed' | 'skipped'
  seconds: number
  note: string
}

export interface Reporter {
  /** A step begins (the action opens the log group "NAME: TITLE"). */
  stepStarted(name: StepName, title: string): void
  /** A step ended, or was skipped (then without stepStarted before it). */
  stepEnded(step: StepRecord): void
  info(text: string): void
  warning(text: string): void
  debug(text: string): void
  /** Text that came from the target (build output, the app's logs): shown, never obeyed. */
  untrusted(text: string): void
  /** A titled block of text (a dry-run's script, the service's last log lines). */
  block(title: string, text: string, options?: { untrusted?: boolean }): void
  /** A value that must never be shown (the action masks it). */
  secret(value: string): void
}

/** A reporter that drops everything (unit tests, the bench). */
export const silentReporter: Reporter = {
  stepStarted: () => undefined,
  stepEnded: () => undefined,
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  untrusted: () => undefined,
  block: () => undefined,
  secret: () => undefined
}
