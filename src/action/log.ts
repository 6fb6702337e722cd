// The action's side of the engine's Reporter: log groups per step, annotations, masks, and
// target output printed with workflow commands switched off.
import type { Reporter, StepName, StepRecord } from '../engine/reporter.js'
import * as core from './actions-core.js'
import { breakLegacy, neutralize } from './workflow-commands.js'

/**
 * Forwards target output to the log with workflow commands switched off: a line such as
 * "::add-mask::", "::set-output" or "##[stop-commands]" printed by a build or the app must not
 * act on the runner (see workflow-commands.ts).
 */
export function logRemoteLine(line: string): void {
  process.stdout.write(`${neutralize(line)}\n`)
}

/**
 * Logs text that came from the target (e.g. the service's own log lines) in one block, with
 * workflow commands switched off as logRemoteLine does: an app that prints "::error::" or
 * "##[add-mask]" must not act on the runner.
 */
export function logUntrusted(text: string): void {
  process.stdout.write(`${neutralize(text)}\n`)
}

/** Each step is a log group titled "NAME: TITLE", closed with its time and note. */
export class ActionReporter implements Reporter {
  private open: StepName | undefined

  stepStarted(name: StepName, title: string): void {
    core.startGroup(`${name}: ${title}`)
    this.open = name
  }

  stepEnded(step: StepRecord): void {
    if (step.status === 'skipped') {
      core.info(neutralize(`${step.name}: skipped (${step.note})`))
      return
    }
    // A note can hold what the target showed (paths, compose output): no command in it may act.
    core.info(neutralize(`${step.name} ${step.status === 'ok' ? 'done' : 'failed'} in ${step.seconds.toFixed(1)} s${step.note ? `: ${step.note}` : ''}`))
    if (this.open !== undefined) core.endGroup()
    this.open = undefined
  }

  info(text: string): void {
    core.info(text)
  }

  warning(text: string): void {
    // Inside a ::warning:: command "::" is data, but the legacy "##[" form acts anywhere in a line.
    core.warning(breakLegacy(text))
  }

  debug(text: string): void {
    core.debug(text)
  }

  untrusted(text: string): void {
    logUntrusted(text)
  }

  block(title: string, text: string, options: { untrusted?: boolean } = {}): void {
    core.startGroup(title)
    if (options.untrusted) logUntrusted(text)
    else core.info(text)
    core.endGroup()
  }

  secret(value: string): void {
    core.setSecret(value)
  }
}
