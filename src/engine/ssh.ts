// OpenSSH setup: key and known_hosts files under RUNNER_TEMP, host-key pinning, one
// ControlMaster connection that every step reuses, and its teardown in the post step.
import { spawn, execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Reporter } from './reporter.js'
import type { SshSettings } from './settings.js'
import { SshTransport } from './transport.js'

const execFileAsync = promisify(execFile)

export interface SshFiles {
  dir: string
  key: string
  knownHosts: string
  config: string
  control: string
}

export class SshError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SshError'
  }
}

/** "user@host:port" for messages. */
export function describeTarget(s: SshSettings): string {
  const host = s.host.includes(':') ? `[${s.host}]` : s.host
  // From a terminal without --port, ~/.ssh/config may give the port: do not claim 22.
  const port = s.terminal && !s.terminal.portSet ? '' : `:${s.port}`
  return `${s.username ? `${s.username}@` : ''}${host}${port}${s.proxyJump ? ` via ${s.proxyJump}` : ''}`
}

/** Registers the key and each of its body lines as secrets before anything is logged. */
export function maskKey(key: string, log: Reporter): void {
  if (key === '') return
  log.secret(key)
  log.secret(key.trim())
  for (const line of key.split('\n')) {
    const t = line.trim()
    if (t !== '' && !t.startsWith('-----BEGIN') && !t.startsWith('-----END')) log.secret(t)
  }
}

/**
 * A path as an ssh_config (or -o) value: in double quotes (RUNNER_TEMP may hold spaces, and ssh
 * splits an unquoted value there), "%" doubled (IdentityFile, UserKnownHostsFile and ControlPath
 * expand %-tokens). A quote or a line break cannot be written at all.
 */
export function configValue(value: string): string {
  if (/["\r\n]/.test(value)) throw new SshError(`unsupported character in path ${JSON.stringify(value)}`)
  return `"${value.replace(/%/g, '%%')}"`
}

/** The -o argument naming the control socket (one argv word; ssh parses it as a config line). */
export function controlPathOption(path: string): string {
  return `ControlPath=${configValue(path)}`
}

/** The ssh_config that every ssh process of this run reads (-F also reaches a ProxyJump hop). */
export function buildSshConfig(s: SshSettings, files: SshFiles, useDefaultKnownHosts: boolean): string {
  const lines = [
    'Host *',
    '  BatchMode yes',
    '  IdentitiesOnly yes',
    `  IdentityFile ${configValue(files.key)}`,
    `  ConnectTimeout ${s.connectTimeout}`,
    '  ServerAliveInterval 15',
    '  ServerAliveCountMax 4',
    '  PasswordAuthentication no',
    '  KbdInteractiveAuthentication no',
    '  ForwardAgent no',
    '  ForwardX11 no',
    '  ClearAllForwardings yes',
    '  UpdateHostKeys no',
    '  LogLevel ERROR'
  ]
  if (!s.strict) {
    lines.push('  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  GlobalKnownHostsFile /dev/null')
  } else if (useDefaultKnownHosts) {
    lines.push('  StrictHostKeyChecking yes')
  } else {
    lines.push('  StrictHostKeyChecking yes', `  UserKnownHostsFile ${configValue(files.knownHosts)}`, '  GlobalKnownHostsFile /dev/null')
  }
  return `${lines.join('\n')}\n`
}

/** A private directory for the key, known_hosts, config and control socket. */
export function createSshDir(): SshFiles {
  const base = process.env.RUNNER_TEMP || tmpdir()
  let dir = mkdtempSync(join(base, 'fresh-deploy-'))
  // Unix socket paths are limited to ~104 bytes; fall back to /tmp for a long RUNNER_TEMP.
  if (join(dir, 'cm').length > 90) {
    rmSync(dir, { recursive: true, force: true })
    dir = mkdtempSync(join('/tmp', 'fd-'))
  }
  return {
    dir,
    key: join(dir, 'key'),
    knownHosts: join(dir, 'known_hosts'),
    config: join(dir, 'ssh_config'),
    control: join(dir, 'cm')
  }
}

/**
 * The SHA256 fingerprint of each known_hosts line ("host keytype base64 …"), computed from the
 * line's own key (as ssh-keygen -l does: sha256 of the key blob, base64 without padding), so that
 * each fingerprint is tied to the line it came from. Pairing ssh-keygen's output lines with the
 * input lines by position broke as soon as one line was skipped (a comment, a key type the local
 * ssh-keygen does not know, a banner): a fingerprint then named another key's line.
 */
export function fingerprintsOf(lines: string): Map<string, string> {
  const found = new Map<string, string>()
  for (const line of lines.split('\n').map(l => l.trim())) {
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    const offset = fields[0].startsWith('@') ? 1 : 0
    const type = fields[offset + 1]
    const blob = fields[offset + 2]
    if (!type || !blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) continue
    const key = Buffer.from(blob, 'base64')
    // The blob starts with its own type name (uint32 length + name): a line whose type field
    // and blob disagree is no key of that type.
    if (key.length < 4 || key.readUInt32BE(0) !== Buffer.byteLength(type) || key.subarray(4, 4 + Buffer.byteLength(type)).toString('latin1') !== type) continue
    found.set(`SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`, line)
  }
  return found
}

/**
 * Where ssh really connects to: from a terminal, host may be an alias of ~/.ssh/config, which
 * ssh-keyscan does not read; `ssh -G` prints what ssh would use (it connects nowhere).
 */
async function scanTarget(s: SshSettings): Promise<{ host: string; port: number }> {
  if (!s.terminal) return { host: s.host, port: s.port }
  const { stdout } = await execFileAsync('ssh', ['-G', ...(s.terminal.portSet ? ['-p', String(s.port)] : []), '--', s.host])
  const value = (key: string): string | undefined => new RegExp(`^${key} (.+)$`, 'm').exec(stdout)?.[1]?.trim()
  return { host: value('hostname') ?? s.host, port: Number(value('port') ?? s.port) }
}

/** Scans the host's keys and keeps the one whose fingerprint is the pinned one. */
async function knownHostsFromFingerprint(s: SshSettings, files: SshFiles): Promise<string> {
  let scanned = ''
  const scan = await scanTarget(s)
  try {
    const { stdout } = await execFileAsync('ssh-keyscan', ['-p', String(scan.port), '-T', String(s.connectTimeout), '--', scan.host], {
      timeout: (s.connectTimeout + 5) * 1000
    })
    scanned = stdout
  } catch (e) {
    scanned = (e as { stdout?: string }).stdout ?? ''
  }
  if (scanned.trim() === '') {
    throw new SshError(`ssh-keyscan got no host key from ${describeTarget(s)} within ${s.connectTimeout} s (input connect-timeout); is the host reachable and sshd listening on port ${s.port}?`)
  }
  const found = fingerprintsOf(scanned)
  const line = found.get(s.hostFingerprint)
  if (line === undefined) {
    throw new SshError(
      `input ssh-host-fingerprint: ${JSON.stringify(s.hostFingerprint)} does not match any host key of ${describeTarget(s)}; it offers ${[...found.keys()].join(', ')}. Refusing to connect.`
    )
  }
  return `${line}\n`
}

/**
 * The command line's ssh arguments: no -F, so that ssh reads the user's own configuration
 * (host aliases, the agent, default keys, known_hosts); -o only for what must hold.
 */
async function terminalSshArgs(s: SshSettings, files: SshFiles, log: Reporter): Promise<string[]> {
  const o = (option: string): string[] => ['-o', option]
  const args = [...o('BatchMode=yes'), ...o(`ConnectTimeout=${s.connectTimeout}`), ...o('ServerAliveInterval=15'), ...o('ServerAliveCountMax=4')]
  if (!s.strict) {
    log.warning(`--no-ssh-strict: the host key of ${describeTarget(s)} is not checked, so anyone on the path can impersonate the host. Drop it once the key is in ~/.ssh/known_hosts (or pin it with --ssh-known-hosts / --ssh-host-fingerprint).`)
    args.push(...o('StrictHostKeyChecking=no'), ...o('UserKnownHostsFile=/dev/null'), ...o('GlobalKnownHostsFile=/dev/null'))
  } else {
    args.push(...o('StrictHostKeyChecking=yes'))
    const pinned = s.hostFingerprint !== '' ? await knownHostsFromFingerprint(s, files) : s.knownHosts
    if (pinned !== '') {
      writeFileSync(files.knownHosts, pinned, { mode: 0o600 })
      args.push(...o(`UserKnownHostsFile=${configValue(files.knownHosts)}`), ...o('GlobalKnownHostsFile=/dev/null'))
    }
  }
  if (s.terminal?.keyFile) args.push('-i', s.terminal.keyFile, ...o('IdentitiesOnly=yes'))
  args.push(...o(controlPathOption(files.control)))
  if (s.terminal?.portSet) args.push('-p', String(s.port))
  if (s.username) args.push('-l', s.username)
  if (s.proxyJump) args.push('-J', s.proxyJump)
  return args
}

/** Writes the key, known_hosts and config files; returns the ssh arguments every call uses. */
export async function prepareSsh(s: SshSettings, files: SshFiles, log: Reporter): Promise<string[]> {
  if (s.terminal) return terminalSshArgs(s, files, log)
  writeFileSync(files.key, s.key, { mode: 0o600 })
  let useDefaultKnownHosts = false
  if (!s.strict) {
    log.warning(`ssh-strict is false: the host key of ${describeTarget(s)} is not checked, so anyone on the path can impersonate the host. Pin it with ssh-known-hosts or ssh-host-fingerprint.`)
  } else if (s.hostFingerprint !== '') {
    writeFileSync(files.knownHosts, await knownHostsFromFingerprint(s, files), { mode: 0o600 })
  } else if (s.knownHosts !== '') {
    writeFileSync(files.knownHosts, s.knownHosts, { mode: 0o600 })
  } else {
    useDefaultKnownHosts = true
    log.info('No ssh-known-hosts or ssh-host-fingerprint given: checking the host key against the runner user\'s own known_hosts.')
  }
  writeFileSync(files.config, buildSshConfig(s, files, useDefaultKnownHosts), { mode: 0o600 })
  const args = ['-F', files.config, '-o', controlPathOption(files.control), '-p', String(s.port)]
  if (s.username) args.push('-l', s.username)
  if (s.proxyJump) args.push('-J', s.proxyJump)
  return args
}

/** Explains ssh's exit 255 in terms of the inputs. */
export function explainSshFailure(s: SshSettings, stderr: string): string {
  const target = describeTarget(s)
  const detail = stderr.trim().split('\n').slice(-5).join(' / ')
  const terminal = s.terminal !== undefined
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    if (terminal && !s.knownHosts && !s.hostFingerprint) {
      return `the host key of ${target} is not in your known_hosts, or differs from it: refusing to connect. Connect once with ssh and check the key it shows, or pin it with --ssh-known-hosts / --ssh-host-fingerprint. ${detail}`
    }
    return `the host key of ${target} is not the pinned one (inputs ssh-known-hosts / ssh-host-fingerprint): refusing to connect. ${detail}`
  }
  if (/Permission denied/i.test(stderr)) {
    const what = terminal ? '--ssh-key-file, --username, your ssh-agent or ~/.ssh/config' : 'inputs ssh-key, username'
    return `ssh to ${target} was refused: the server did not accept the key (${what}). ${detail}`
  }
  if (/timed out|Connection refused|No route|Could not resolve|Network is unreachable/i.test(stderr)) {
    return `cannot connect to ${target} (inputs host, port, connect-timeout=${s.connectTimeout}): ${detail}`
  }
  return `ssh to ${target} failed: ${detail || 'no message from ssh'}`
}

/** Opens the one master connection (the run's only SSH handshake). */
export async function openMaster(s: SshSettings, files: SshFiles, args: string[], log: Reporter): Promise<SshTransport> {
  const masterArgs = [...args, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=600', '-f', '-N', '--', s.host]
  const stderrFile = join(files.dir, 'master.err')
  const { openSync, closeSync } = await import('node:fs')
  const errFd = openSync(stderrFile, 'w', 0o600)
  const code = await new Promise<number>((resolve, reject) => {
    // With -f the master forks and keeps its stdio: wait for the foreground process to exit,
    // with its stderr in a file rather than a pipe that would stay open.
    const child = spawn('ssh', masterArgs, { stdio: ['ignore', 'ignore', errFd] })
    const timer = setTimeout(() => child.kill('SIGTERM'), (s.connectTimeout + 10) * 1000)
    child.on('error', e => reject(new SshError(`could not start ssh: ${e.message}`)))
    child.on('exit', (c, signal) => {
      clearTimeout(timer)
      resolve(c ?? (signal ? 255 : 1))
    })
  })
  closeSync(errFd)
  const stderr = existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : ''
  rmSync(stderrFile, { force: true })
  if (code !== 0) throw new SshError(explainSshFailure(s, stderr))
  return new SshTransport(`ssh ${describeTarget(s)}`, args, s.host, line => log.untrusted(line))
}

/**
 * End of the main step: asks the master connection to exit and deletes the key and known_hosts,
 * so that neither outlives the deploy while the job's later steps run. The exit request is not
 * waited for (it takes ~20 ms, and the main step has nothing left to do); the post step still
 * checks, and closes what is left if the main step never got here.
 */
export function closeSshSoon(files: SshFiles, host: string, log: Reporter): void {
  if (existsSync(files.control)) {
    const child = spawn('ssh', [...configArgs(files.config), '-o', controlPathOption(files.control), '-O', 'exit', '--', host], { stdio: 'ignore', detached: true })
    child.on('error', e => log.debug(`closing the ssh master: ${e.message}`))
    child.unref()
  }
  rmSync(files.key, { force: true })
  rmSync(files.knownHosts, { force: true })
}

/** -F with the run's own ssh_config; none from a terminal (no such file: ssh reads the user's). */
function configArgs(config: string): string[] {
  return existsSync(config) ? ['-F', config] : []
}

/** Post step: closes the master connection and deletes the key, known_hosts and socket. */
export async function closeSsh(dir: string, config: string, control: string, host: string, log: Reporter): Promise<void> {
  if (existsSync(control)) {
    try {
      await execFileAsync('ssh', [...configArgs(config), '-o', controlPathOption(control), '-O', 'exit', '--', host], { timeout: 15_000 })
    } catch (e) {
      log.debug(`closing the ssh master: ${(e as Error).message}`)
    }
  }
  rmSync(dir, { recursive: true, force: true })
}
