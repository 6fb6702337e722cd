// The `fresh-deploy` command: arguments in, the engine's deploy (or verify, rollback, status),
// then the result on the terminal or as JSON, and the exit code.
import { execFile } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { promisify } from 'node:util'
import { rollbackCommand, statusCommand, verifyOnly } from '../engine/commands.js'
import { getSettings, InputError, parseInteger } from '../engine/input-helper.js'
import { deploy, newRunId, type DeployOptions } from '../engine/pipeline.js'
import { HostReporter, rollout, type Rollout } from '../engine/rollout.js'
import type { Report } from '../engine/report.js'
import type { Settings } from '../engine/settings.js'
import { closeSsh, maskKey, type SshFiles } from '../engine/ssh.js'
import type { ServiceStatus } from '../engine/target.js'
import { parseCommandLine, usage, UsageError, type Invocation } from './args.js'
import { EXIT, exitCodeOf, jsonResult, jsonRollout, resultLines, rollupLines, rolloutVerdictLine, statusExitCode, statusJson, statusLines, verdictLine } from './output.js'
import { CliReporter, type CliStream } from './reporter.js'
import { version } from './version.js'

const execFileAsync = promisify(execFile)

export interface CliEnvironment {
  argv: string[]
  cwd: string
  env: NodeJS.ProcessEnv
  stdout: CliStream
  stderr: CliStream
}

/** `git rev-parse HEAD` of cwd (+ "-dirty" with uncommitted changes to tracked files), else manual-<UTC time>. */
export async function defaultRef(cwd: string, markDirty: boolean): Promise<string> {
  try {
    const [head, status] = await Promise.all([
      execFileAsync('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd }),
      markDirty ? execFileAsync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd }) : Promise.resolve({ stdout: '' })
    ])
    const sha = head.stdout.trim()
    if (/^[0-9a-f]{40,64}$/.test(sha)) return `${sha}${status.stdout.trim() !== '' ? '-dirty' : ''}`
  } catch {
    /* not a git work tree, or no git: a manual deploy */
  }
  return `manual-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`
}

/** Settings from the invocation; bad values are usage errors (exit 64), nothing is touched. */
async function settingsOf(inv: Invocation, cwd: string, log: CliReporter): Promise<Settings> {
  const values = new Map(inv.values)
  const keyFile = values.get('ssh-key-file') ?? ''
  if (keyFile !== '') {
    let text: string
    try {
      text = readFileSync(keyFile, 'utf8')
    } catch (e) {
      throw new UsageError(`option --ssh-key-file: cannot read ${keyFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
    }
    // ssh reads the file itself (-i); its text is only registered, so that no output can show it.
    maskKey(text.replace(/\r\n/g, '\n'), log)
  }
  if (!inv.given.has('ref')) {
    // A deploy records what it deploys; with sync: git the target checks out exactly that commit,
    // so local uncommitted changes do not make it "dirty" (and "<sha>-dirty" could not be checked out).
    values.set('ref', inv.command === 'deploy' || inv.command === 'plan' ? await defaultRef(cwd, values.get('sync')?.trim().toLowerCase() !== 'git') : inv.command)
  }
  values.set('dry-run', inv.command === 'plan' ? 'true' : (values.get('dry-run') ?? 'false'))
  const get = (name: string): string => values.get(name) ?? ''
  try {
    // The action reads port only with a host; a port given here is checked all the same.
    if (inv.given.has('port')) parseInteger(get, 'port', 1, 65535)
    return getSettings(get, { terminal: { keyFile, portSet: inv.given.has('port') } })
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message.replace(/^input (\S+):/, 'option --$1:'))
    throw e
  }
}

export async function main(io: CliEnvironment): Promise<number> {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== ''
  let inv: Invocation
  try {
    inv = await parseCommandLine(io.argv, io.cwd)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    io.stderr.write(`fresh-deploy: ${e.message}\n\n${usage(false)}`)
    return EXIT.usage
  }
  if (inv.help) {
    io.stdout.write(usage(true))
    return EXIT.ok
  }
  if (inv.version) {
    io.stdout.write(`fresh-deploy ${version()}\n`)
    return EXIT.ok
  }
  const logTo = inv.json ? io.stderr : io.stdout
  const color = !noColor && io.stdout.isTTY === true && !inv.json
  const log = new CliReporter({ out: logTo, color, live: logTo.isTTY === true, quiet: inv.quiet, debug: io.env.FRESH_DEPLOY_DEBUG === '1' })

  let s: Settings
  try {
    s = await settingsOf(inv, io.cwd, log)
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    io.stderr.write(`${log.redact(`fresh-deploy: ${e.message}`)}\n\n${usage(false)}`)
    return EXIT.usage
  }
  if (inv.configFile && !inv.quiet) log.info(`options from ${inv.configFile}`)
  if ((s.hosts?.length ?? 0) > 1) {
    if (inv.command !== 'deploy' && inv.command !== 'plan') {
      io.stderr.write(`fresh-deploy: option --host: ${inv.command} takes one host, got ${s.hosts?.length} (${s.hosts?.map(h => h.label).join(', ')}); run it once per host\n\n${usage(false)}`)
      return EXIT.usage
    }
    return rolloutMain(io, inv, s, log, color)
  }

  let sshFiles: SshFiles | undefined
  const cleanUp = (): void => {
    if (sshFiles) rmSync(sshFiles.dir, { recursive: true, force: true })
  }
  // Ctrl-C: the master connection would outlive us (ControlPersist) with its socket dir.
  const onSignal = (signal: NodeJS.Signals): void => {
    log.close()
    if (sshFiles && s.ssh) {
      try {
        execFile('ssh', ['-o', `ControlPath=${sshFiles.control}`, '-O', 'exit', '--', s.ssh.host]).unref()
      } catch {
        /* best effort */
      }
    }
    cleanUp()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const options: DeployOptions = {
    runId: newRunId().replace(/^local-/, 'cli-'),
    inputValue: name => inv.values.get(name) ?? '',
    onSshFiles: files => (sshFiles = files)
  }
  let report: Report
  let status: ServiceStatus | undefined
  try {
    if (inv.command === 'verify') report = await verifyOnly(s, log, options)
    else if (inv.command === 'rollback') report = await rollbackCommand(s, log, options)
    else if (inv.command === 'status') ({ report, status } = await statusCommand(s, log, options))
    else report = await deploy(s, log, options)
  } finally {
    // No post step in a terminal: close the master and remove the socket dir now.
    if (sshFiles && s.ssh) await closeSsh(sshFiles.dir, sshFiles.config, sshFiles.control, s.ssh.host, log)
    cleanUp()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  log.close()
  // The engine names inputs; here they are options.
  report.error = report.error.replace(/^input (\S+):/, 'option --$1:')

  const code = inv.command === 'status' ? (report.verdict === 'error' ? EXIT.error : statusExitCode(status)) : exitCodeOf(report.verdict)
  if (inv.json) {
    const result = inv.command === 'status' ? statusJson(report, status, s.service) : jsonResult(report)
    io.stdout.write(`${log.redact(JSON.stringify(result, null, 2))}\n`)
    return code
  }
  const lines: string[] = []
  if (!inv.quiet) {
    if (report.failedLogs?.trim()) log.block("the failed container's last 50 log lines (before the rollback)", report.failedLogs, { untrusted: true })
    if (report.serviceLogs?.trim()) log.block(`the service's last 50 log lines${report.rolledBack ? ' (the rolled-back container)' : ''}`, report.serviceLogs, { untrusted: true })
  }
  if (inv.command === 'status') {
    const all = statusLines(report, status, s.service, color)
    lines.push(...(inv.quiet ? all.slice(-1) : all))
  } else {
    if (!inv.quiet) lines.push(...resultLines(report, inv.command, color), '')
    lines.push(verdictLine(report, inv.command, color))
  }
  io.stdout.write(`${log.redact(lines.join('\n'))}\n`)
  return code
}

/**
 * Several hosts (deploy or plan): the rolling deploy, each host's lines, the roll-up, the worst
 * verdict. A first Ctrl-C starts no further host and lets the hosts in flight finish (a deploy
 * cut off half-way could leave a service down); a second one stops at once.
 */
async function rolloutMain(io: CliEnvironment, inv: Invocation, s: Settings, log: CliReporter, color: boolean): Promise<number> {
  const files: { host: string; files: SshFiles }[] = []
  const cleanUp = (): void => {
    for (const f of files) rmSync(f.files.dir, { recursive: true, force: true })
  }
  let cancelled = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!cancelled) {
      cancelled = true
      log.warning(`${signal}: no further host is started; the hosts in flight finish (press Ctrl-C again to stop at once)`)
      return
    }
    log.close()
    for (const f of files) {
      try {
        execFile('ssh', ['-o', `ControlPath=${f.files.control}`, '-O', 'exit', '--', f.host]).unref()
      } catch {
        /* best effort */
      }
    }
    cleanUp()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let r: Rollout
  try {
    r = await rollout(s, label => new HostReporter(log, label, s.parallel > 1), {
      runId: newRunId().replace(/^local-/, 'cli-'),
      inputValue: name => inv.values.get(name) ?? '',
      cancelled: () => cancelled,
      onHostSshFiles: (h, f) => files.push({ host: h.ssh.host, files: f })
    })
  } finally {
    // No post step in a terminal: close every master and remove the socket dirs now.
    for (const f of files) await closeSsh(f.files.dir, f.files.config, f.files.control, f.host, log)
    cleanUp()
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  log.close()
  for (const o of r.reached) o.report.error = o.report.error.replace(/^input (\S+):/, 'option --$1:')
  // A cancelled rollout is no success, whatever the hosts it reached say.
  const code = r.cancelled && exitCodeOf(r.verdict) === EXIT.ok ? EXIT.error : exitCodeOf(r.verdict)
  if (inv.json) {
    io.stdout.write(`${log.redact(JSON.stringify(jsonRollout(r, s.ref), null, 2))}\n`)
    return code
  }
  const lines: string[] = []
  if (!inv.quiet) {
    for (const o of r.reached) {
      const p = o.report
      if (p.failedLogs?.trim()) log.block(`${o.label}: the failed container's last 50 log lines (before the rollback)`, p.failedLogs, { untrusted: true })
      if (p.serviceLogs?.trim()) log.block(`${o.label}: the service's last 50 log lines${p.rolledBack ? ' (the rolled-back container)' : ''}`, p.serviceLogs, { untrusted: true })
    }
    for (const o of r.reached) lines.push('', `${o.label}:`, ...resultLines(o.report, inv.command, color).filter(l => l !== '').map(l => `  ${l}`), `  ${verdictLine(o.report, inv.command, color)}`)
    lines.push('', ...rollupLines(r, color), '')
  }
  lines.push(rolloutVerdictLine(r, inv.command, color))
  io.stdout.write(`${log.redact(lines.join('\n'))}\n`)
  return code
}
