// OpenSSH config, target descriptions and how ssh's exit-255 messages are explained.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildSshConfig, controlPathOption, describeTarget, explainSshFailure, fingerprintsOf, prepareSsh, SshError, type SshFiles } from '../../src/engine/ssh.js'
import type { SshSettings } from '../../src/engine/settings.js'

const files: SshFiles = {
  dir: '/runner/temp/fresh-deploy-x',
  key: '/runner/temp/fresh-deploy-x/key',
  knownHosts: '/runner/temp/fresh-deploy-x/known_hosts',
  config: '/runner/temp/fresh-deploy-x/ssh_config',
  control: '/runner/temp/fresh-deploy-x/cm'
}

function ssh(over: Partial<SshSettings> = {}): SshSettings {
  return {
    host: 'deploy.example.com',
    port: 22,
    username: 'deploy',
    key: 'KEY',
    knownHosts: 'deploy.example.com ssh-ed25519 AAAA\n',
    hostFingerprint: '',
    strict: true,
    proxyJump: '',
    connectTimeout: 15,
    ...over
  }
}

/** The config's options as [name, value] pairs (after "Host *"). */
function options(config: string): [string, string][] {
  const lines = config.split('\n').filter(l => l !== '')
  expect(lines[0]).toBe('Host *')
  return lines.slice(1).map(l => {
    const m = /^ {2}(\S+) (.+)$/.exec(l)
    expect(m).not.toBeNull()
    return [m![1], m![2]]
  })
}
const valueOf = (config: string, name: string): string[] => options(config).filter(([n]) => n === name).map(([, v]) => v)

describe('buildSshConfig', () => {
  test('common hardening in every mode', () => {
    for (const [s, useDefault] of [
      [ssh(), false],
      [ssh(), true],
      [ssh({ strict: false, knownHosts: '' }), false]
    ] as [SshSettings, boolean][]) {
      const c = buildSshConfig(s, files, useDefault)
      expect(c.endsWith('\n')).toBe(true)
      expect(valueOf(c, 'BatchMode')).toEqual(['yes'])
      expect(valueOf(c, 'IdentitiesOnly')).toEqual(['yes'])
      expect(valueOf(c, 'IdentityFile')).toEqual([`"${files.key}"`])
      expect(valueOf(c, 'ConnectTimeout')).toEqual(['15'])
      expect(valueOf(c, 'PasswordAuthentication')).toEqual(['no'])
      expect(valueOf(c, 'KbdInteractiveAuthentication')).toEqual(['no'])
      expect(valueOf(c, 'ForwardAgent')).toEqual(['no'])
      expect(valueOf(c, 'UpdateHostKeys')).toEqual(['no'])
      expect(valueOf(c, 'ProxyCommand')).toEqual([])
      // A dead server or path ends the session (and the deploy) within a minute, instead of
      // whatever TCP's own timeouts say; the runner side is covered by the lock's keepalive.
      expect(valueOf(c, 'ServerAliveInterval')).toEqual(['15'])
      expect(valueOf(c, 'ServerAliveCountMax')).toEqual(['4'])
    }
  })

  test('strict with pinned known_hosts: only that file, no global file', () => {
    const c = buildSshConfig(ssh(), files, false)
    expect(valueOf(c, 'StrictHostKeyChecking')).toEqual(['yes'])
    expect(valueOf(c, 'UserKnownHostsFile')).toEqual([`"${files.knownHosts}"`])
    expect(valueOf(c, 'GlobalKnownHostsFile')).toEqual(['/dev/null'])
  })

  test('strict with the runner user\'s own known_hosts: no file override', () => {
    const c = buildSshConfig(ssh({ knownHosts: '' }), files, true)
    expect(valueOf(c, 'StrictHostKeyChecking')).toEqual(['yes'])
    expect(valueOf(c, 'UserKnownHostsFile')).toEqual([])
    expect(valueOf(c, 'GlobalKnownHostsFile')).toEqual([])
  })

  test('non-strict: any host key, nothing remembered', () => {
    const c = buildSshConfig(ssh({ strict: false, knownHosts: '' }), files, false)
    expect(valueOf(c, 'StrictHostKeyChecking')).toEqual(['no'])
    expect(valueOf(c, 'UserKnownHostsFile')).toEqual(['/dev/null'])
    expect(valueOf(c, 'GlobalKnownHostsFile')).toEqual(['/dev/null'])
  })

  test('connect-timeout is used', () => {
    expect(valueOf(buildSshConfig(ssh({ connectTimeout: 42 }), files, false), 'ConnectTimeout')).toEqual(['42'])
  })

  test('paths with spaces are quoted; a quote or newline in a path is refused', () => {
    const spaced = { ...files, key: '/home/runner/my temp/key', knownHosts: '/home/runner/my temp/kh' }
    const c = buildSshConfig(ssh(), spaced, false)
    expect(valueOf(c, 'IdentityFile')).toEqual(['"/home/runner/my temp/key"'])
    expect(valueOf(c, 'UserKnownHostsFile')).toEqual(['"/home/runner/my temp/kh"'])
    expect(() => buildSshConfig(ssh(), { ...files, key: '/tmp/a"b/key' }, false)).toThrow(SshError)
    expect(() => buildSshConfig(ssh(), { ...files, knownHosts: '/tmp/a\nProxyCommand x/kh' }, false)).toThrow(SshError)
  })
})

describe('describeTarget', () => {
  test.each([
    [ssh(), 'deploy@deploy.example.com:22'],
    [ssh({ username: '' }), 'deploy.example.com:22'],
    [ssh({ port: 2222 }), 'deploy@deploy.example.com:2222'],
    [ssh({ host: '2001:db8::1', port: 2222 }), 'deploy@[2001:db8::1]:2222'],
    [ssh({ host: '::1', username: '' }), '[::1]:22'],
    [ssh({ host: '192.0.2.1' }), 'deploy@192.0.2.1:22'],
    [ssh({ proxyJump: 'jump@bastion:2200' }), 'deploy@deploy.example.com:22 via jump@bastion:2200'],
    [ssh({ host: 'fe80::1', proxyJump: '[2001:db8::2]' }), 'deploy@[fe80::1]:22 via [2001:db8::2]']
  ])('%# → %s', (s, expected) => {
    expect(describeTarget(s)).toBe(expected)
  })

  test('never shows the key', () => {
    expect(describeTarget(ssh({ key: 'SECRET-KEY-TEXT' }))).not.toContain('SECRET')
  })
})

describe('explainSshFailure', () => {
  const s = ssh({ port: 2222, connectTimeout: 9 })

  test.each([
    'Host key verification failed.',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nHost key verification failed.',
    'No ED25519 host key is known for deploy.example.com and you have requested strict checking.\nHost key verification failed.'
  ])('host-key failure %#: names the pinning inputs', stderr => {
    const m = explainSshFailure(s, stderr)
    expect(m).toContain('host key of deploy@deploy.example.com:2222')
    expect(m).toContain('ssh-known-hosts')
    expect(m).toContain('ssh-host-fingerprint')
    expect(m).toContain('Host key verification failed.')
  })

  test('permission denied: names ssh-key and username', () => {
    const m = explainSshFailure(s, 'deploy@deploy.example.com: Permission denied (publickey).')
    expect(m).toMatch(/^ssh to deploy@deploy\.example\.com:2222 was refused/)
    expect(m).toContain('ssh-key')
    expect(m).toContain('username')
    expect(m).toContain('Permission denied (publickey).')
  })

  test.each([
    'ssh: connect to host deploy.example.com port 2222: Connection refused',
    'ssh: connect to host deploy.example.com port 2222: Connection timed out',
    'ssh: connect to host deploy.example.com port 2222: No route to host',
    'ssh: Could not resolve hostname deploy.example.com: Name or service not known',
    'ssh: connect to host deploy.example.com port 2222: Network is unreachable'
  ])('cannot connect %#: names host, port and connect-timeout', stderr => {
    const m = explainSshFailure(s, stderr)
    expect(m).toBe(`cannot connect to deploy@deploy.example.com:2222 (inputs host, port, connect-timeout=9): ${stderr}`)
  })

  test('a host-key failure wins over other words in the same output', () => {
    expect(explainSshFailure(s, 'Connection refused by jump\nHost key verification failed.')).toContain('is not the pinned one')
  })

  test('anything else: the last 5 lines of stderr, joined', () => {
    const stderr = ['a', 'b', 'c', 'd', 'e', 'f', 'g', ''].join('\n')
    expect(explainSshFailure(s, stderr)).toBe('ssh to deploy@deploy.example.com:2222 failed: c / d / e / f / g')
  })

  test('no stderr at all', () => {
    expect(explainSshFailure(s, '')).toBe('ssh to deploy@deploy.example.com:2222 failed: no message from ssh')
  })

  test('a proxy-jump target is named with its jump host', () => {
    expect(explainSshFailure(ssh({ proxyJump: 'bastion' }), 'Permission denied')).toContain('deploy@deploy.example.com:22 via bastion')
  })
})

describe('paths as ssh reads them (the real ssh -G)', () => {
  const resolved = (args: string[]): string[] => execFileSync('ssh', ['-G', '-F', '/dev/null', ...args, 'example.invalid'], { encoding: 'utf8' }).split('\n')

  test.each(['/tmp/runner temp/fresh-deploy-x/cm', '/tmp/100% sure/cm', '/tmp/plain/cm', '/tmp/a%hb/cm'])('ControlPath %j reaches ssh whole, %% not expanded', path => {
    expect(resolved(['-o', controlPathOption(path)])).toContain(`controlpath ${path}`)
  })

  test('the unquoted form that was used before fails on a space (what the option fixes)', () => {
    expect(() => resolved(['-o', 'ControlPath=/tmp/runner temp/cm'])).toThrow()
  })

  test('IdentityFile and UserKnownHostsFile in the config: spaces and % kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd ssh %d-'))
    try {
      const f: SshFiles = { dir, key: join(dir, 'key'), knownHosts: join(dir, 'known_hosts'), config: join(dir, 'ssh_config'), control: join(dir, 'cm') }
      writeFileSync(f.config, buildSshConfig(ssh(), f, false))
      const out = execFileSync('ssh', ['-G', '-F', f.config, 'example.invalid'], { encoding: 'utf8' })
      expect(out).toContain(`userknownhostsfile ${f.knownHosts}\n`)
      // ssh -G shows IdentityFile before its %-expansion: doubled here, single when used.
      expect(out).toContain(`identityfile ${f.key.replace(/%/g, '%%')}\n`)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('fingerprintsOf (host key pinning)', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fd-fp-'))
    for (const t of ['ed25519', 'ecdsa', 'rsa']) execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-f', join(dir, t)])
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const pub = (t: string): string => readFileSync(join(dir, `${t}.pub`), 'utf8').trim().split(' ').slice(0, 2).join(' ')
  const keygenFp = (t: string): string => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, `${t}.pub`)], { encoding: 'utf8' }).split(' ')[1]

  test('each fingerprint is the one ssh-keygen computes, tied to its own line whatever else is in the scan', () => {
    const lines = [
      '# [127.0.0.1]:2222 SSH-2.0-OpenSSH_9.2p1',
      `[127.0.0.1]:2222 ${pub('rsa')}`,
      '[127.0.0.1]:2222 ssh-unknown-type AAAAB3NzaC1yc2EAAAADAQABAAABAQ',
      'garbage line',
      `[127.0.0.1]:2222 ${pub('ecdsa')}`,
      '',
      `[127.0.0.1]:2222 ${pub('ed25519')}`
    ]
    const found = fingerprintsOf(lines.join('\n'))
    expect(found.size).toBe(3)
    for (const t of ['ed25519', 'ecdsa', 'rsa']) expect(found.get(keygenFp(t))).toBe(`[127.0.0.1]:2222 ${pub(t)}`)
  })

  test('a line whose type field names another type than its key blob is no key', () => {
    const [, blob] = pub('rsa').split(' ')
    expect(fingerprintsOf(`h ssh-ed25519 ${blob}\n`).size).toBe(0)
  })
})

describe('prepareSsh from a terminal (the command line)', () => {
  function dir(): SshFiles {
    const d = mkdtempSync(join(tmpdir(), 'fd-ssh-unit-'))
    return { dir: d, key: join(d, 'key'), knownHosts: join(d, 'known_hosts'), config: join(d, 'ssh_config'), control: join(d, 'cm') }
  }
  const quiet = { stepStarted() {}, stepEnded() {}, info() {}, warning() {}, debug() {}, untrusted() {}, block() {}, secret() {} }

  test('no -F, no key written: OpenSSH reads the user\'s own config; only what must hold as -o', async () => {
    const f = dir()
    const args = await prepareSsh(ssh({ host: 'prod', username: '', key: '', knownHosts: '', terminal: { keyFile: '', portSet: false } }), f, quiet)
    expect(args).not.toContain('-F')
    expect(args).not.toContain('-p')
    expect(args).not.toContain('-l')
    expect(args).not.toContain('-i')
    expect(args.filter((_, i) => args[i - 1] === '-o')).toEqual(['BatchMode=yes', 'ConnectTimeout=15', 'ServerAliveInterval=15', 'ServerAliveCountMax=4', 'StrictHostKeyChecking=yes', controlPathOption(f.control)])
    expect(existsSync(f.key) || existsSync(f.config)).toBe(false)
    expect(describeTarget(ssh({ host: 'prod', username: '', terminal: { keyFile: '', portSet: false } }))).toBe('prod')
  })

  test('--ssh-key-file is passed as -i (not copied); --port, --username, pinned known_hosts and --no-ssh-strict as given', async () => {
    const f = dir()
    const args = await prepareSsh(ssh({ port: 2222, key: '', terminal: { keyFile: '/home/me/.ssh/deploy', portSet: true } }), f, quiet)
    expect(args.join(' ')).toContain('-i /home/me/.ssh/deploy -o IdentitiesOnly=yes')
    expect(args.join(' ')).toContain('-p 2222 -l deploy')
    expect(args).toContain(`UserKnownHostsFile="${f.knownHosts}"`)
    expect(readFileSync(f.knownHosts, 'utf8')).toBe('deploy.example.com ssh-ed25519 AAAA\n')
    expect(existsSync(f.key)).toBe(false)
    const loose = await prepareSsh(ssh({ strict: false, knownHosts: '', key: '', terminal: { keyFile: '', portSet: false } }), dir(), quiet)
    expect(loose).toEqual(expect.arrayContaining(['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null']))
  })
})
