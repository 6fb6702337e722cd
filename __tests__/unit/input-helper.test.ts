// getSettings against a getter built from action.yml's own defaults: every class of bad input
// the contract names fails with an InputError that names the input and quotes the value
// (never a secret's value); the happy paths give the typed settings.
import { getSettings, gitRefProblem, InputError, parseList, parseLines, quoteValue } from '../../src/engine/input-helper.js'
import type { Settings } from '../../src/engine/settings.js'
import { actionDefaults, FAKE_KEY, FINGERPRINT, inputs, KNOWN_HOSTS_LINE, SHA } from './inputs.js'

const SSH = { host: 'deploy.example.com', 'ssh-key': FAKE_KEY }

function errorOf(overrides: Record<string, string>): InputError {
  let thrown: unknown
  try {
    getSettings(inputs(overrides))
  } catch (e) {
    thrown = e
  }
  if (thrown === undefined) throw new Error(`getSettings accepted ${JSON.stringify(overrides)}`)
  expect(thrown).toBeInstanceOf(InputError)
  return thrown as InputError
}

/** The error names `input` (property and message) and quotes `value` as JSON.stringify does. */
function expectBad(overrides: Record<string, string>, input: string, value: string): InputError {
  const e = errorOf(overrides)
  expect(e.input).toBe(input)
  expect(e.message).toContain(input)
  expect(e.message).toContain(JSON.stringify(value))
  return e
}

describe('defaults', () => {
  test('action.yml declares the contract defaults', () => {
    const d = actionDefaults()
    expect(d).toMatchObject({
      host: '',
      port: '22',
      'ssh-strict': 'true',
      'connect-timeout': '15',
      'compose-command': 'auto',
      service: 'backend',
      sync: 'none',
      'sync-discard-changes': 'false',
      purge: 'true',
      'source-dir': 'src',
      'container-source-dir': '/app/src',
      'source-include': '**/*.py',
      'source-exclude': '',
      'renew-anon-volumes': 'true',
      'stop-timeout': '',
      'health-timeout': '120',
      verify: 'true',
      'verify-from': 'host',
      'verify-timeout': '60',
      'verify-interval': '2',
      'stale-retries': '1',
      rollback: 'true',
      'lock-timeout': '600',
      'dry-run': 'false'
    })
  })

  test('defaults with an empty host give the local transport and the contract values', () => {
    const s = getSettings(inputs())
    const expected: Settings = {
      ssh: undefined,
      parallel: 1,
      connectTimeout: 15,
      projectDir: '/srv/app',
      composeFiles: [],
      composeProjectName: '',
      composeCommand: 'auto',
      service: 'backend',
      sync: 'none',
      syncDiscardChanges: false,
      ref: SHA,
      purge: true,
      sourceDir: 'src',
      containerSourceDir: '/app/src',
      sourceInclude: ['**/*.py'],
      sourceExclude: [],
      buildNoCache: false,
      buildPull: false,
      renewAnonVolumes: true,
      stopTimeout: undefined,
      healthTimeout: 120,
      verify: true,
      verifyUrl: '',
      verifyFrom: 'host',
      verifyExpect: '',
      verifyTimeout: 60,
      verifyInterval: 2,
      staleRetries: 1,
      strategy: 'recreate',
      preDeploy: '',
      postDeploy: '',
      hookTimeout: 600,
      rollback: true,
      lockTimeout: 600,
      dryRun: false,
      githubToken: 'ghs_fakeTokenForUnitTests',
      environment: '',
      environmentUrl: ''
    }
    expect(s).toEqual(expected)
  })

  test('a blank host (spaces) is still the local transport; ssh inputs are then not read for errors', () => {
    const s = getSettings(inputs({ host: '   ', port: 'abc', 'ssh-key': 'not a key' }))
    expect(s.ssh).toBeUndefined()
  })
})

describe('ssh settings (host set)', () => {
  test('a full ssh setup', () => {
    const s = getSettings(
      inputs({ ...SSH, port: ' 2222 ', username: 'deploy', 'ssh-known-hosts': `# pinned\n${KNOWN_HOSTS_LINE}\n\n`, 'proxy-jump': 'jump@bastion.example.com:2200' })
    )
    expect(s.ssh).toEqual({
      host: 'deploy.example.com',
      port: 2222,
      username: 'deploy',
      key: `${FAKE_KEY}\n`,
      knownHosts: `${KNOWN_HOSTS_LINE}\n`,
      hostFingerprint: '',
      strict: true,
      proxyJump: 'jump@bastion.example.com:2200',
      connectTimeout: 15
    })
  })

  test('CRLF keys are normalized; surrounding blank lines dropped', () => {
    const s = getSettings(inputs({ ...SSH, 'ssh-key': `\r\n${FAKE_KEY.replace(/\n/g, '\r\n')}\r\n\r\n` }))
    expect(s.ssh?.key).toBe(`${FAKE_KEY}\n`)
  })

  test.each([
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::1', '::1'],
    ['192.0.2.10', '192.0.2.10'],
    ['  web-1.internal  ', 'web-1.internal']
  ])('host %j → %j', (raw, host) => {
    expect(getSettings(inputs({ ...SSH, host: raw })).ssh?.host).toBe(host)
  })

  // user@host and several lines are valid since "Several hosts" ([user@]host[:port], one per line).
  test.each(['-oProxyCommand=touch /tmp/x', 'host name', '@host', 'us er@host', 'host;id', 'host\n-oProxy=x', '.host', 'host-'])('host %j is refused', raw => {
    expectBad({ ...SSH, host: raw }, 'host', raw)
  })

  test.each(['0', '65536', 'abc', '22.5', '', '-22', '+22', '0x16', '1e3'])('port %j is refused', port => {
    const e = expectBad({ ...SSH, port }, 'port', port)
    expect(e.message).toContain('1 to 65535')
  })

  test.each(['1', '65535', '022'])('port %j is accepted', port => {
    expect(getSettings(inputs({ ...SSH, port })).ssh?.port).toBe(Number(port))
  })

  test.each(['-root', 'dep loy', 'a;b', 'user@x'])('username %j is refused', username => {
    expectBad({ ...SSH, username }, 'username', username)
  })

  test.each(['bastion', 'jump@bastion', 'jump@bastion:2222', '[2001:db8::1]:22', 'jump@[fe80::1]', 'j.u_m-p@10.0.0.1:65535'])(
    'proxy-jump %j is accepted as given',
    proxyJump => {
      expect(getSettings(inputs({ ...SSH, 'proxy-jump': ` ${proxyJump} ` })).ssh?.proxyJump).toBe(proxyJump)
    }
  )

  test.each([
    'user@',
    '@bastion',
    'bastion:',
    'bastion:0',
    'bastion:65536',
    'bastion:22:22',
    'bastion:ssh',
    'us er@bastion',
    'a@b@c',
    '-oProxyCommand=touch /tmp/pwned',
    '-J@bastion',
    'bastion,other',
    'ssh://bastion'
  ])('proxy-jump %j is refused', proxyJump => {
    expectBad({ ...SSH, 'proxy-jump': proxyJump }, 'proxy-jump', proxyJump)
  })

  test('known_hosts: comments, blank lines, markers and hashed hosts are accepted', () => {
    const lines = [
      '# production',
      KNOWN_HOSTS_LINE,
      '',
      '@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==',
      '|1|c2FsdA==|aGFzaA== ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTI= comment here',
      '[deploy.example.com]:2222 sk-ssh-ed25519@openssh.com AAAAGnNr'
    ]
    const s = getSettings(inputs({ ...SSH, 'ssh-known-hosts': lines.join('\n') }))
    expect(s.ssh?.knownHosts).toBe(`${[lines[1], lines[3], lines[4], lines[5]].join('\n')}\n`)
  })

  test.each([
    'deploy.example.com',
    'deploy.example.com AAAAC3NzaC1lZDI1NTE5',
    'deploy.example.com rsa AAAAB3NzaC1yc2E=',
    'deploy.example.com ssh-ed25519 not/base64!',
    '@revoked deploy.example.com'
  ])('known_hosts line %j is refused, naming the line', line => {
    expectBad({ ...SSH, 'ssh-known-hosts': `${KNOWN_HOSTS_LINE}\n${line}` }, 'ssh-known-hosts', line)
  })

  test('a fingerprint is accepted, with or without the trailing =', () => {
    expect(getSettings(inputs({ ...SSH, 'ssh-host-fingerprint': FINGERPRINT })).ssh?.hostFingerprint).toBe(FINGERPRINT)
    expect(getSettings(inputs({ ...SSH, 'ssh-host-fingerprint': `  ${FINGERPRINT}=  ` })).ssh?.hostFingerprint).toBe(FINGERPRINT)
  })

  test.each([
    'SHA256:short',
    FINGERPRINT.replace('SHA256:', 'sha256:'),
    FINGERPRINT.replace('SHA256:', ''),
    `${FINGERPRINT}x`,
    `${FINGERPRINT}==`,
    'MD5:12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0',
    FINGERPRINT.replace('A', '-')
  ])('fingerprint %j is refused', fp => {
    expectBad({ ...SSH, 'ssh-host-fingerprint': fp }, 'ssh-host-fingerprint', fp)
  })

  test.each(['false', 'False', 'FALSE'])('ssh-strict %j with a pinned key is a conflict that quotes the value given', strict => {
    const e1 = expectBad({ ...SSH, 'ssh-strict': strict, 'ssh-host-fingerprint': FINGERPRINT }, 'ssh-strict', strict)
    expect(e1.message).toContain('ssh-host-fingerprint')
    expectBad({ ...SSH, 'ssh-strict': strict, 'ssh-known-hosts': KNOWN_HOSTS_LINE }, 'ssh-strict', strict)
  })

  test('ssh-strict false alone is accepted (the warning is the runner\'s job)', () => {
    expect(getSettings(inputs({ ...SSH, 'ssh-strict': 'False' })).ssh?.strict).toBe(false)
  })

  test('known_hosts and fingerprint together is a conflict', () => {
    expectBad({ ...SSH, 'ssh-known-hosts': KNOWN_HOSTS_LINE, 'ssh-host-fingerprint': FINGERPRINT }, 'ssh-host-fingerprint', FINGERPRINT)
  })

  test('a fingerprint through proxy-jump is refused (keyscan cannot use a jump host)', () => {
    const e = expectBad({ ...SSH, 'ssh-host-fingerprint': FINGERPRINT, 'proxy-jump': 'bastion' }, 'ssh-host-fingerprint', FINGERPRINT)
    expect(e.message).toContain('proxy-jump')
  })

  test.each(['', '   \n  '])('an empty ssh-key (%j) with a host set names ssh-key and the host', key => {
    const e = errorOf({ ...SSH, 'ssh-key': key })
    expect(e.input).toBe('ssh-key')
    expect(e.message).toContain('ssh-key')
    expect(e.message).toContain(JSON.stringify('deploy.example.com'))
    expect(e.message).toContain('empty')
  })

  const notKeys: [string, string][] = [
    ['a password', 'hunter2-correct-horse-battery'],
    ['a public key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VmYWtl deploy@ci'],
    ['a truncated key', FAKE_KEY.split('\n').slice(0, 3).join('\n')],
    ['a key with text after it', `${FAKE_KEY}\ntrailing-secret-note`],
    ['a key missing its armor', FAKE_KEY.split('\n').slice(1, -1).join('\n')]
  ]
  test.each(notKeys)('%s is refused without quoting any of its text', (_label, key) => {
    const e = errorOf({ ...SSH, 'ssh-key': key })
    expect(e.input).toBe('ssh-key')
    expect(e.message).toContain('ssh-key')
    expect(e.message).not.toContain(key)
    for (const line of key.split('\n')) {
      if (!line.startsWith('-----')) expect(e.message).not.toContain(line)
    }
    // Not even a JSON-quoted fragment of it.
    expect(e.message).not.toContain(JSON.stringify(key).slice(0, 12))
  })

  test('an error about another input never carries the key', () => {
    const e = expectBad({ ...SSH, port: '0' }, 'port', '0')
    for (const line of FAKE_KEY.split('\n')) expect(e.message).not.toContain(line)
  })
})

describe('numbers', () => {
  const timeouts = ['health-timeout', 'verify-timeout', 'verify-interval', 'lock-timeout', 'connect-timeout']
  const bad = ['0', '-1', '1.5', 'x', '', '10s', '99999999999999999999']
  test.each(timeouts.flatMap(name => bad.map(value => [name, value])))('%s %j is refused', (name, value) => {
    const e = expectBad({ [name]: value }, name, value)
    expect(e.message).toMatch(name === 'health-timeout' ? /whole number from 5 to/ : /whole number from 1 to/)
  })

  test.each(timeouts.filter(n => n !== 'health-timeout'))('%s accepts 1 and surrounding spaces', name => {
    const s = getSettings(inputs({ [name]: ' 1 ' }))
    const field = { 'verify-timeout': s.verifyTimeout, 'verify-interval': s.verifyInterval, 'lock-timeout': s.lockTimeout, 'connect-timeout': s.connectTimeout }[name]
    expect(field).toBe(1)
  })

  // Issue 11 item 7: a service without a healthcheck passes after running 5 s steadily, so a
  // smaller health-timeout could never pass; refused before anything changes, saying why.
  test.each(['1', '4'])('health-timeout %j is refused: below the 5 s steady window', value => {
    const e = expectBad({ 'health-timeout': value }, 'health-timeout', value)
    expect(e.message).toMatch(/whole number from 5 to/)
    expect(e.message).toContain('without a healthcheck must keep running for 5 s')
  })

  test('health-timeout accepts 5 and surrounding spaces', () => {
    expect(getSettings(inputs({ 'health-timeout': ' 5 ' })).healthTimeout).toBe(5)
  })

  test('connect-timeout reaches the ssh settings', () => {
    expect(getSettings(inputs({ ...SSH, 'connect-timeout': '7' })).ssh?.connectTimeout).toBe(7)
  })

  test.each(['-1', 'x', '1.5', ''])('stale-retries %j is refused', value => {
    expectBad({ 'stale-retries': value }, 'stale-retries', value)
  })

  test('stale-retries 0 is allowed', () => {
    expect(getSettings(inputs({ 'stale-retries': '0' })).staleRetries).toBe(0)
    expect(getSettings(inputs({ 'stale-retries': '3' })).staleRetries).toBe(3)
  })

  test('hooks are kept as written (trimmed, CRLF folded); hook-timeout is a timeout', () => {
    const cmd = `echo "it's $(date)" \`id\` \\ 'q'\nprintf '%s\n' héllo`
    const s = getSettings(inputs({ 'pre-deploy': `  ${cmd.replace(/\n/g, '\r\n')}\n`, 'post-deploy': cmd, 'hook-timeout': '30' }))
    expect(s.preDeploy).toBe(cmd)
    expect(s.postDeploy).toBe(cmd)
    expect(s.hookTimeout).toBe(30)
    expect(() => getSettings(inputs({ 'hook-timeout': '0' }))).toThrow(/input hook-timeout: "0" is not valid/)
    expect(() => getSettings(inputs({ 'pre-deploy': 'a\u0000b' }))).toThrow(/input pre-deploy: .*NUL/)
  })

  // A timeout like any other: at least 1 (contract, "Input checks").
  test.each(['0', '-1', 'x', '1.5', '5s'])('stop-timeout %j is refused', value => {
    expectBad({ 'stop-timeout': value }, 'stop-timeout', value)
  })

  test.each([
    ['', undefined],
    ['  ', undefined],
    ['1', 1],
    ['30', 30]
  ])('stop-timeout %j → %p', (value, expected) => {
    expect(getSettings(inputs({ 'stop-timeout': value })).stopTimeout).toBe(expected)
  })
})

describe('booleans', () => {
  const local = ['sync-discard-changes', 'purge', 'build-no-cache', 'build-pull', 'renew-anon-volumes', 'verify', 'rollback', 'dry-run']
  const bad = ['yes', 'no', '1', '0', 'on', 'off', 'ture', '', 'true false']
  test.each([...local.flatMap(name => bad.map(value => [name, value, {}])), ...bad.map(value => ['ssh-strict', value, SSH])])(
    '%s %j is refused',
    (name, value, extra) => {
      const e = expectBad({ ...(extra as Record<string, string>), [name as string]: value as string }, name as string, value as string)
      expect(e.message).toContain('true or false')
    }
  )

  test.each([
    ['TRUE', true],
    ['True', true],
    [' true ', true],
    ['False', false],
    ['FALSE', false],
    ['false', false]
  ])('%j → %p in any case', (value, expected) => {
    const s = getSettings(inputs({ purge: value, rollback: value, 'dry-run': value, verify: value, 'build-no-cache': value }))
    expect([s.purge, s.rollback, s.dryRun, s.verify, s.buildNoCache]).toEqual([expected, expected, expected, expected, expected])
  })
})

describe('choices', () => {
  test.each([
    ['sync', 'rsync'],
    ['sync', 'git pull'],
    ['sync', ''],
    ['compose-command', 'podman-compose'],
    ['compose-command', 'docker  compose'],
    ['compose-command', 'docker-compose; id'],
    ['verify-from', 'both'],
    ['verify-from', 'inside']
  ])('%s %j is refused, listing the choices', (name, value) => {
    const e = expectBad({ [name]: value }, name, value)
    expect(e.message).toContain('expected one of')
  })

  test('choices are matched in any case and returned canonical', () => {
    const s = getSettings(inputs({ sync: 'GIT', 'compose-command': 'Docker-Compose', 'verify-from': 'Runner' }))
    expect([s.sync, s.composeCommand, s.verifyFrom]).toEqual(['git', 'docker-compose', 'runner'])
    expect(getSettings(inputs({ 'compose-command': 'docker compose' })).composeCommand).toBe('docker compose')
    expect(getSettings(inputs({ 'verify-from': 'Container' })).verifyFrom).toBe('container')
  })
})

describe('paths', () => {
  test.each(['app/src', 'src', '', './app', '~/app', '/app\n/src'])('container-source-dir %j (not absolute, or two lines) is refused', value => {
    expectBad({ 'container-source-dir': value }, 'container-source-dir', value)
  })

  test.each(['../src', 'src/../../etc', '..', 'a/..', '/srv/app/src'])('source-dir %j is refused', value => {
    expectBad({ 'source-dir': value }, 'source-dir', value)
  })

  test.each([
    ['../compose.yml', '../compose.yml'],
    ['/etc/compose.yml', '/etc/compose.yml'],
    ['compose.yml, ../../x.yml', '../../x.yml'],
    ['compose.yml\nsub/../../x.yml', 'sub/../../x.yml']
  ])('compose-files %j is refused, quoting the bad entry', (value, entry) => {
    expectBad({ 'compose-files': value }, 'compose-files', entry)
  })

  test('a file name that merely contains dots is fine', () => {
    expect(getSettings(inputs({ 'source-dir': 'src..old/x', 'compose-files': '..compose.yml' })).sourceDir).toBe('src..old/x')
  })

  test.each(['', '   '])('project-dir missing (%j) is refused', value => {
    expectBad({ 'project-dir': value }, 'project-dir', '')
  })

  test('project-dir with a newline is refused', () => {
    expectBad({ 'project-dir': '/srv/app\n/etc' }, 'project-dir', '/srv/app\n/etc')
  })

  test.each(['/patterns/**'])('an absolute source-exclude pattern %j is refused', value => {
    expectBad({ 'source-exclude': `tests/**\n${value}` }, 'source-exclude', value)
  })

  test.each([
    ['src/', 'src'],
    ['app/src//', 'app/src'],
    ['./', '.'],
    ['.', '.'],
    [' src ', 'src']
  ])('source-dir %j → %j', (raw, expected) => {
    expect(getSettings(inputs({ 'source-dir': raw })).sourceDir).toBe(expected)
  })

  test.each([
    ['/app/src/', '/app/src'],
    ['/app/src///', '/app/src'],
    ['/', '/'],
    ['//', '/'],
    ['/app', '/app']
  ])('container-source-dir %j → %j', (raw, expected) => {
    expect(getSettings(inputs({ 'container-source-dir': raw })).containerSourceDir).toBe(expected)
  })
})

describe('names, ref, url', () => {
  test.each(['', 'web app', '-web', 'web;rm -rf /', '$(id)', 'wéb', 'web\nx', '_web'])('service %j is refused', value => {
    expectBad({ service: value }, 'service', value.trim())
  })

  test.each(['web', 'api-2', 'Web.v2', 'w_1', '9lives'])('service %j is accepted', value => {
    expect(getSettings(inputs({ service: value })).service).toBe(value)
  })

  test.each(['MyApp', '-app', 'app name', 'app.name'])('compose-project-name %j is refused', value => {
    expectBad({ 'compose-project-name': value }, 'compose-project-name', value)
  })

  test('sync: git needs a ref, and not an option-looking one', () => {
    expectBad({ sync: 'git', ref: '' }, 'ref', '')
    expectBad({ sync: 'git', ref: '--upload-pack=touch /tmp/x' }, 'ref', '--upload-pack=touch /tmp/x')
    expect(getSettings(inputs({ sync: 'git', ref: 'main' })).ref).toBe('main')
  })

  test.each(['main:refs/heads/evil', 'a:b', '+main', 'main~1', 'HEAD^', 'main^{commit}', 'main@{1}', '@', 'a..b', 'a b', 'feat/', '/main', 'a//b', 'main.', '.hidden', 'x/.y', 'main.lock', 'a?', 'a*', 'a[b', 'a\\b', '-x', '--upload-pack=x'])(
    'sync: git refuses ref %j (a refspec, an expression, an option: not a revision name)',
    value => {
      const e = expectBad({ sync: 'git', ref: value }, 'ref', value)
      expect(e.message).toMatch(/expected a branch, tag or commit SHA: /)
    }
  )

  test.each(['main', 'v1.2.3', 'release/2024-06', 'refs/heads/main', 'refs/pull/12/head', 'origin/main', 'abc1234', SHA, 'a'.repeat(64), 'feature_x-y', 'ünïcode'])(
    'sync: git accepts ref %j',
    value => {
      expect(gitRefProblem(value)).toBeUndefined()
      expect(getSettings(inputs({ sync: 'git', ref: value })).ref).toBe(value)
    }
  )

  test('without sync: git, ref is a label only: a refspec-looking value is kept as data', () => {
    expect(getSettings(inputs({ ref: 'a:b ~^' })).ref).toBe('a:b ~^')
  })

  test.each([
    ['-src', './-src'],
    ['--help', './--help'],
    ['-src/', './-src'],
    ['src', 'src'],
    ['a/-b', 'a/-b']
  ])('source-dir %j is passed as %j (never an option to find or cd)', (raw, expected) => {
    expect(getSettings(inputs({ 'source-dir': raw })).sourceDir).toBe(expected)
  })

  test('a ref with a newline is refused even without sync', () => {
    expectBad({ ref: 'main\nevil' }, 'ref', 'main\nevil')
  })

  test.each(['localhost:8000/health', 'ftp://example.com/', 'http://', 'not a url', "http://x/'a", 'http://x/a"b', 'http://x/`id`', 'http://x/a b', 'http://x/\\', 'javascript:alert(1)', 'file:///etc/passwd'])(
    'verify-url %j is refused',
    value => {
      expectBad({ 'verify-url': value }, 'verify-url', value)
    }
  )

  test.each(['http://127.0.0.1:8000/health', 'https://app.example.com/version?x=1&y=2', 'http://[::1]:8080/'])('verify-url %j is accepted', value => {
    expect(getSettings(inputs({ 'verify-url': value })).verifyUrl).toBe(value)
  })

  test('verify-expect with a newline is refused; spaces are kept', () => {
    expectBad({ 'verify-expect': 'a\nb' }, 'verify-expect', 'a\nb')
    expect(getSettings(inputs({ 'verify-expect': ' v1 ' })).verifyExpect).toBe(' v1 ')
  })
})

describe('lists', () => {
  test('compose-files: one per line or comma-separated, blanks dropped', () => {
    const s = getSettings(inputs({ 'compose-files': 'compose.yml\n  compose.prod.yml , extra.yml,\n\n,  ' }))
    expect(s.composeFiles).toEqual(['compose.yml', 'compose.prod.yml', 'extra.yml'])
  })

  test('source-dir empty turns the source and bytecode probes off (kept empty, not ".")', () => {
    expect(getSettings(inputs({ 'source-dir': '' })).sourceDir).toBe('')
    expect(getSettings(inputs({ 'source-dir': '  ' })).sourceDir).toBe('')
  })

  test('source-include: default **/*.py; one per line, comments and blanks dropped', () => {
    expect(getSettings(inputs({})).sourceInclude).toEqual(['**/*.py'])
    expect(getSettings(inputs({ 'source-include': '**/*.py\n# templates\n\n  **/*.html  \n' })).sourceInclude).toEqual(['**/*.py', '**/*.html'])
  })

  test.each(['', '  \n# nothing\n'])('an empty source-include %j is refused, pointing at source-dir for turning the probe off', value => {
    const e = expectBad({ 'source-include': value }, 'source-include', value)
    expect(e.message).toContain("set source-dir to ''")
  })

  test.each(['/abs/**', '../x/*.py', 'a/../../b.py'])('a source-include pattern %j outside source-dir is refused', value => {
    expectBad({ 'source-include': `**/*.py\n${value}` }, 'source-include', value)
  })

  test('source-exclude: one per line, comments and blanks dropped', () => {
    const s = getSettings(inputs({ 'source-exclude': 'tests/**\n# not shipped\n\n   **/conftest.py   \n' }))
    expect(s.sourceExclude).toEqual(['tests/**', '**/conftest.py'])
  })

  test('parseList and parseLines', () => {
    expect(parseList('')).toEqual([])
    expect(parseList('a,b\nc')).toEqual(['a', 'b', 'c'])
    expect(parseLines('a,b\n#c\n d ')).toEqual(['a,b', 'd'])
  })

  test('quoteValue shortens long values and shows control characters', () => {
    expect(quoteValue('a\tb')).toBe('"a\\tb"')
    const long = quoteValue('x'.repeat(500))
    expect(long.length).toBeLessThan(210)
    expect(long).toContain('…')
  })
})
