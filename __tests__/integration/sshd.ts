// A real OpenSSH server on 127.0.0.1 for the integration tests: generated host and user keys,
// its own config, LogLevel VERBOSE (the benchmarks count handshakes in its log).
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

export interface SshdInfo {
  port: number
  pid: number
  dir: string
  userKey: string
  userKeyText: string
  knownHosts: string
  fingerprint: string
  log: string
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

function sshdBinary(): string {
  for (const p of ['/usr/sbin/sshd', '/usr/bin/sshd']) if (existsSync(p)) return p
  throw new Error('sshd not found: run .ci/setup.sh (it installs openssh-server)')
}

/** Starts sshd in dir (created), authorising a fresh user key (or the given one). */
export async function startSshd(dir: string, opts: { port?: number; userKey?: string } = {}): Promise<SshdInfo> {
  mkdirSync(dir, { recursive: true })
  mkdirSync('/run/sshd', { recursive: true })
  const hostKey = join(dir, 'host_ed25519')
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])
  const userKey = opts.userKey ?? join(dir, 'user_ed25519')
  if (!existsSync(userKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fresh-deploy-test', '-f', userKey])
  const authorized = join(dir, 'authorized_keys')
  writeFileSync(authorized, readFileSync(`${userKey}.pub`), { mode: 0o600 })
  const port = opts.port ?? (await freePort())
  const log = join(dir, 'sshd.log')
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      // root's keys, then per user (authorizeUser): sshd reads them as that user.
      `AuthorizedKeysFile ${authorized} ${join(dir, 'authorized_keys.%u')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel VERBOSE',
      'MaxSessions 50',
      'MaxStartups 50:30:100',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      // Debian's bash sources ~/.bashrc for a command run over ssh when it is the top-level shell;
      // root's .bashrc on these machines runs `pyenv init` (seconds of CPU per session). SHLVL=1
      // makes the session's bash a second level: a server whose .bashrc returns early when not
      // interactive, as Debian's default one does.
      'SetEnv SHLVL=1',
      ''
    ].join('\n')
  )
  const child = spawn(sshdBinary(), ['-D', '-f', config, '-E', log], { detached: true, stdio: 'ignore' })
  child.unref()
  // Wait until it accepts connections.
  const pub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ')
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('ssh-keyscan', ['-p', String(port), '-T', '1', '127.0.0.1'], { stdio: 'pipe' })
      break
    } catch {
      await new Promise(r => setTimeout(r, 100))
    }
  }
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]
  return {
    port,
    pid: child.pid ?? 0,
    dir,
    userKey,
    userKeyText: readFileSync(userKey, 'utf8'),
    knownHosts: `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`,
    fingerprint,
    log
  }
}

/**
 * Lets a non-root user log in with the same user key (a deploy user in the docker group, as the
 * README advises). sshd reads a user's authorized keys with that user's rights: the file is
 * theirs, and the sshd dir is made traversable (its files stay 0600).
 */
export function authorizeUser(info: Pick<SshdInfo, 'dir' | 'userKey'>, user: string): void {
  const file = join(info.dir, `authorized_keys.${user}`)
  writeFileSync(file, readFileSync(`${info.userKey}.pub`), { mode: 0o600 })
  execFileSync('chown', [`${user}:`, file])
  chmodSync(info.dir, 0o711)
}

export function stopSshd(info: Pick<SshdInfo, 'pid'>): void {
  try {
    process.kill(info.pid, 'SIGTERM')
  } catch {
    /* already gone */
  }
}
