// The part of @actions/core that fresh-deploy uses, with the same output byte for byte
// (__tests__/unit/actions-core.test.ts compares the two). Why not the package itself: it imports
// its OIDC client at load time, and with it @actions/http-client and undici, ~1 MB of bundle
// that every run (and every post step) evaluated before its first ssh call, ~50-100 ms of a
// cold start (bench/RESULTS.md), for a token this action never asks for.
import { randomUUID } from 'node:crypto'
import { appendFileSync, existsSync } from 'node:fs'
import { access, appendFile, constants } from 'node:fs/promises'
import { EOL } from 'node:os'

type Properties = Record<string, string | undefined>

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

/** "::name key=value,key=value::message" on stdout: a workflow command for the runner. */
function issueCommand(command: string, properties: Properties, message: string): void {
  const props = Object.entries(properties)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${escapeProperty(v as string)}`)
  process.stdout.write(`::${command}${props.length ? ` ${props.join(',')}` : ''}::${escapeData(message)}${EOL}`)
}

/** Appends "name<<DELIMITER\nvalue\nDELIMITER" to the runner's file for outputs or state. */
function issueFileCommand(envName: string, key: string, value: string): void {
  const file = process.env[envName]
  if (!file) return
  if (!existsSync(file)) throw new Error(`Missing file at path: ${file}`)
  const delimiter = `ghadelimiter_${randomUUID()}`
  if (key.includes(delimiter)) throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`)
  if (value.includes(delimiter)) throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`)
  appendFileSync(file, `${key}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, { encoding: 'utf8' })
}

export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim()
}

export function setOutput(name: string, value: string): void {
  if (process.env.GITHUB_OUTPUT) return issueFileCommand('GITHUB_OUTPUT', name, value)
  process.stdout.write(EOL)
  issueCommand('set-output', { name }, value)
}

export function saveState(name: string, value: string): void {
  if (process.env.GITHUB_STATE) return issueFileCommand('GITHUB_STATE', name, value)
  issueCommand('save-state', { name }, value)
}

export function getState(name: string): string {
  return process.env[`STATE_${name}`] || ''
}

export function setSecret(secret: string): void {
  issueCommand('add-mask', {}, secret)
}

export function info(message: string): void {
  process.stdout.write(message + EOL)
}

export function debug(message: string): void {
  issueCommand('debug', {}, message)
}

export function warning(message: string | Error): void {
  issueCommand('warning', {}, message instanceof Error ? message.toString() : message)
}

export function error(message: string | Error): void {
  issueCommand('error', {}, message instanceof Error ? message.toString() : message)
}

export function setFailed(message: string | Error): void {
  process.exitCode = 1
  error(message)
}

export function startGroup(name: string): void {
  issueCommand('group', {}, name)
}

export function endGroup(): void {
  issueCommand('endgroup', {}, '')
}

/** The job summary: text appended to GITHUB_STEP_SUMMARY on write(), as core.summary does. */
class Summary {
  private buffer = ''

  addRaw(text: string, addEOL = false): Summary {
    this.buffer += text + (addEOL ? EOL : '')
    return this
  }

  async write(): Promise<Summary> {
    const file = process.env.GITHUB_STEP_SUMMARY
    if (!file) throw new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.')
    try {
      await access(file, constants.R_OK | constants.W_OK)
    } catch {
      throw new Error(`Unable to access summary file: '${file}'. Check if the file has correct read/write permissions.`)
    }
    await appendFile(file, this.buffer, { encoding: 'utf8' })
    this.buffer = ''
    return this
  }
}

export const summary = new Summary()
