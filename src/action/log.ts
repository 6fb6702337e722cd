// The action's side of the engine's Reporter: log groups per step, annotations, masks, and
// target output printed with workflow commands switched off.
import { randomBytes } from 'node:crypto'
import type { Reporter, StepName, StepRecord } from '../engine/reporter.js'
import * as core from './actions-core.js'

/**
 * Forwards target output to the log with workflow commands switched off: a line such as
 * "::add-mask::" or "::set-output" printed by a build or the app must not act on the runner.
 */
export function logRemoteLine(line: string): void {
  const token = randomBytes(8).toString('hex')
  if (line.includes('::')) {
    process.stdout.write(`::stop-commands::${token}\n${line}\n::${token}::\n`)
  } else {
    process.stdout.write(`${line}\n`)
  }
}

/**
 * Logs text that came from the target (e.g. the service's own log lines) in one block, with
 * workflow commands switched off as logRemoteLine does: an app that prints "::error::" or
 * "::add-mask::" must not act on the runner.
 */
export function logUntrusted(text: string): void {
  if (!text.includes('::')) {
    process.stdout.write(`${text}\n`)
    return
  }
  const token = randomBytes(8).toString('hex')
  process.stdout.write(`::stop-commands::${token}\n${text}\n::${token}::\n`)
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
      core.info(`${step.name}: skipped (${step.note})`)
      return
    }
    core.info(`${step.name} ${step.status === 'ok' ? 'done' : 'failed'} in ${step.seconds.toFixed(1)} s${step.note ? `: ${step.note}` : ''}`)
    if (this.open !== undefined) core.endGroup()
    this.open = undefined
  }

  info(text: string): void {
    core.info(text)
  }

  warning(text: string): void {
    core.warning(text)
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
