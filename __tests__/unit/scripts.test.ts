// The text sent to `bash -s`: values quoted by shellQuote come back byte-identical through a
// real bash and never execute; every step script is syntactically valid bash once built.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildScript, forBashStdin, preamble, readScript, shellQuote, type ScriptName } from '../../src/scripts.js'

let dir = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fd-scripts-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

const MARK = 'pwned'
const hostile = (): [string, string][] => [
  ['empty', ''],
  ['plain', 'hello'],
  ['single quote', "it's"],
  ['only quotes', "''''"],
  ['double quotes', '"a" "b"'],
  ['quote breakout', `'; touch ${MARK}; echo '`],
  ['command substitution', `$(touch ${MARK})`],
  ['backticks', `\`touch ${MARK}\``],
  ['variable', '$HOME ${PATH} $0 $$ $1'],
  ['semicolon and pipes', `a; touch ${MARK} | cat && touch ${MARK} || touch ${MARK}`],
  ['backslashes', '\\ \\\\ \\n \\\' \\"'],
  ['trailing backslash', 'abc\\'],
  ['newlines', `line1\nline2\n\ntouch ${MARK}\n`],
  ['leading newline and CR', `\r\n\rx\r`],
  ['tabs and spaces', '\t  a \t b  '],
  ['globs', '* ? [a-z] ~ ~root'],
  ['history and braces', '!! !$ {a,b} {1..3}'],
  ['redirects', `> ${MARK} < /etc/passwd 2>&1`],
  ['heredoc', `<<EOF\ntouch ${MARK}\nEOF`],
  ['unicode', 'grüße 日本語 🙂 \u2028 \u00a0 é'],
  ['ansi-c quoting', `$'\\x41' $"x"`],
  ['control characters', '\u0001\u0007\u001b[31mred\u001b[0m\u007f'],
  ['dash option', '-e -n --'],
  ['long', "x'y".repeat(5000)]
]

function runBash(script: string, viaStdin: boolean): { stdout: Buffer; stderr: string; status: number | null } {
  const r = viaStdin
    ? spawnSync('bash', ['-s'], { input: script, cwd: dir })
    : spawnSync('bash', ['-c', script], { cwd: dir })
  return { stdout: r.stdout, stderr: r.stderr.toString('utf8'), status: r.status }
}

describe('shellQuote', () => {
  test.each(hostile())('%s: round trip through bash -c, nothing executes', (_label, value) => {
    const r = runBash(`${preamble({ FD_V: value })}\nprintf %s "$FD_V"`, false)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout.equals(Buffer.from(value, 'utf8'))).toBe(true)
    expect(existsSync(join(dir, MARK))).toBe(false)
    expect(readdirSync(dir)).toEqual([])
  })

  test.each(hostile())('%s: round trip through bash -s (the transport path), nothing executes', (_label, value) => {
    const r = runBash(`${preamble({ FD_A: value, FD_B: value })}\nprintf '%s|' "$FD_A" "$FD_B"\n`, true)
    expect(r.stderr).toBe('')
    expect(r.stdout.toString('utf8')).toBe(`${value}|${value}|`)
    expect(readdirSync(dir)).toEqual([])
  })

  test('the quoted form is one single-quoted word', () => {
    expect(shellQuote('')).toBe("''")
    expect(shellQuote('abc')).toBe("'abc'")
    expect(shellQuote("a'b")).toBe("'a'\\''b'")
  })

  test('a quoted word used as a command argument stays one argument', () => {
    const value = 'a b\nc * $(touch pwned)'
    const r = runBash(`set -- ${shellQuote(value)} ${shellQuote('')}\nprintf '%s\\n' "$#"\nprintf '%s' "$1"`, false)
    expect(r.stdout.toString('utf8')).toBe(`2\n${value}`)
    expect(readdirSync(dir)).toEqual([])
  })
})

describe('preamble', () => {
  test('numbers, booleans and undefined become text', () => {
    expect(preamble({ FD_N: 30, FD_B: true, FD_F: false, FD_U: undefined, FD_S: 'x' })).toBe("FD_N='30'\nFD_B='true'\nFD_F='false'\nFD_U=''\nFD_S='x'")
  })

  test('an empty set of variables is empty text', () => {
    expect(preamble({})).toBe('')
  })

  test.each(['fd_x', 'FD-X', 'PATH', 'FD_', 'FD_X;touch pwned', 'FD_X Y', 'FD_x', ' FD_X', 'FD_X\n', 'LD_PRELOAD', 'BASH_ENV'])(
    'the variable name %j is refused',
    name => {
      expect(() => preamble({ FD_OK: '1', [name]: 'v' })).toThrow(/bad script variable name/)
    }
  )

  test.each(['FD_X', 'FD_PROJECT_DIR', 'FD_1', 'FD__'])('the variable name %j is accepted', name => {
    expect(preamble({ [name]: 'v' })).toBe(`${name}='v'`)
  })
})

const ALL: ScriptName[] = ['preflight', 'lock', 'sync', 'snapshot', 'purge', 'rebuild', 'verify', 'rollback', 'logs']

describe('buildScript', () => {
  test('every step script exists as a file beside lib.sh', () => {
    const onDisk = readdirSync(join(__dirnameOf(), '..', '..', 'src', 'scripts')).filter(f => f.endsWith('.sh'))
    for (const name of ALL) expect(onDisk).toContain(`${name}.sh`)
  })

  test.each(ALL)('%s: variables, then lib + script in one brace group', name => {
    const vars = { FD_PROJECT_DIR: "/srv/it's here", FD_SERVICE: 'web' }
    const text = buildScript(name, vars)
    const expectedRedirect = name === 'lock' ? '' : ' </dev/null'
    expect(text).toBe(`${preamble(vars)}\n{\n${readScript('lib.sh')}\n${readScript(`${name}.sh`)}\n}${expectedRedirect}\n`)
    expect(text.startsWith("FD_PROJECT_DIR='/srv/it'\\''s here'\nFD_SERVICE='web'\n{\n")).toBe(true)
    if (name === 'lock') {
      expect(text.endsWith('\n}\n')).toBe(true)
      expect(text).not.toMatch(/}\s*<\/dev\/null\n$/)
    } else {
      expect(text.endsWith('\n} </dev/null\n')).toBe(true)
    }
  })

  test.each(ALL)('%s: the built text passes bash -n', name => {
    const text = buildScript(name, {
      FD_PROJECT_DIR: '/srv/app',
      FD_SERVICE: 'web',
      FD_OVERRIDE_YAML: 'services:\n  "web": {}\n',
      FD_PURGE_SH: readScript('purge-tree.sh'),
      FD_FINGERPRINT_SH: readScript('fingerprint.sh'),
      FD_BYTECODE_PY: readScript('bytecode.py')
    })
    const r = spawnSync('bash', ['-n'], { input: text })
    expect(r.stderr.toString('utf8')).toBe('')
    expect(r.status).toBe(0)
  })

  test('bash -n does catch a broken script (the check above can fail)', () => {
    const r = spawnSync('bash', ['-n'], { input: `${preamble({ FD_X: 'a' })}\n{\nif true; then\n}\n` })
    expect(r.status).not.toBe(0)
  })

  test('the group is parsed whole before it runs, and its stdin is /dev/null', () => {
    // A stand-in shaped exactly like buildScript's output: a command that reads stdin inside
    // the group must not swallow the text that follows on the pipe.
    const text = `${preamble({ FD_V: 'v' })}\n{\necho start\ncat\necho "end $FD_V"\n} </dev/null\necho after\n`
    const r = spawnSync('bash', ['-s'], { input: text })
    expect(r.stdout.toString('utf8')).toBe('start\nend v\nafter\n')
  })

  test.each([
    [['preflight', 'lock'] as ScriptName[], ''],
    [['snapshot', 'purge'] as ScriptName[], ' </dev/null']
  ])('%j in one script: one lib, each step in its own group, only the lock reads the pipe; passes bash -n', (names, firstRedirect) => {
    const vars = { FD_PROJECT_DIR: '/srv/app', FD_PURGE_SH: readScript('purge-tree.sh') }
    const text = buildScript(names, vars)
    const [a, b] = names.map(n => readScript(`${n}.sh`))
    const lockLast = names[1] === 'lock'
    expect(text).toBe(
      `${preamble(vars)}\n{\n${readScript('lib.sh')}\n{\n${a}\n} </dev/null\nfd_out step-done ${names[0]}\n{\n${b}\n}${lockLast ? '' : ' </dev/null'}\nfd_out step-done ${names[1]}\n}\n`
    )
    expect(text.split('# Common helpers').length).toBe(2)
    expect(firstRedirect === '' ? lockLast : !lockLast).toBe(true)
    const r = spawnSync('bash', ['-n'], { input: text })
    expect(r.stderr.toString('utf8')).toBe('')
    expect(r.status).toBe(0)
  })

  test('steps in one script share the shell: what one sets, the next one reads; the pipe stays for the last', () => {
    // Shaped as buildScript's multi-step output: the first group cannot read the pipe, the
    // second (the lock's place) reads what the runner writes after the script.
    const text = `{\n{\nX=set-by-first\ncat\n} </dev/null\n{\necho "$X"\nread -r line\necho "got $line"\n}\n}\n`
    const r = spawnSync('bash', ['-s'], { input: `${text}from-runner\n` })
    expect(r.stdout.toString('utf8')).toBe('set-by-first\ngot from-runner\n')
  })

  test('the sub-scripts passed as data are plain sh-compatible text', () => {
    for (const f of ['purge-tree.sh', 'fingerprint.sh']) {
      const r = spawnSync('sh', ['-n'], { input: readScript(f) })
      expect(r.status).toBe(0)
    }
  })
})

describe('forBashStdin: the script read in one head -c, then evaluated', () => {
  const run = (text: string, after = '', env: NodeJS.ProcessEnv = process.env) =>
    spawnSync('/bin/bash', ['-s'], { input: forBashStdin(text) + after, cwd: dir, env, encoding: 'utf8' })

  test('runs as the plain text would: output, variables with quotes and UTF-8, exit status', () => {
    const text = `${preamble({ FD_V: `it's grüße 🙂 $(touch ${MARK})` })}\n{\nprintf '%s\\n' "$FD_V"\n(exit 7)\n} </dev/null\n`
    const r = run(text)
    expect([r.stdout, r.status]).toEqual([`it's grüße 🙂 $(touch ${MARK})\n`, 7])
    expect(existsSync(join(dir, MARK))).toBe(false)
    expect(run('false\n').status).toBe(1)
    expect(run('exit 4\necho never\n')).toMatchObject({ stdout: '', status: 4 })
  })

  test('what the runner writes after the script stays on the pipe for the script (the lock waits on it)', () => {
    const r = run('read -r line\necho "got $line"\nread -r more || echo eof\n', 'from-runner\n')
    expect(r.stdout).toBe('got from-runner\neof\n')
  })

  test('text after the script is never run as code', () => {
    const r = run('echo one\n', `touch ${MARK}\n`)
    expect(r.stdout).toBe('one\n')
    expect(existsSync(join(dir, MARK))).toBe(false)
  })

  test('without head on the target, bash reads the text itself', () => {
    const r = run('echo "no head: $FD_SCRIPT-"\n', '', { PATH: join(dir, 'empty-path') })
    expect([r.stdout, r.status]).toEqual(['no head: -\n', 0])
  })

  test('a built step script passes bash -n with its loader line', () => {
    const r = spawnSync('bash', ['-n'], { input: forBashStdin(buildScript(['snapshot', 'purge'], { FD_PURGE_SH: readScript('purge-tree.sh') })) })
    expect([r.stderr.toString('utf8'), r.status]).toEqual(['', 0])
  })
})

describe('lock.sh held open, as the runner holds it', () => {
  // The lock lasts until the runner closes the script's stdin, with a heartbeat (a touch of the
  // holder file) every FD_LOCK_HEARTBEAT s meanwhile: a mkdir lock whose holder file is older
  // than lock-timeout is taken over. A read timeout once ended the loop after the first beat.
  test.each([
    ['flock', 'yes'],
    ['mkdir lock', 'no']
  ])('%s: held over several heartbeats, the holder file kept fresh; released when stdin closes', async (_kind, flock) => {
    const project = join(dir, 'project')
    mkdirSync(project)
    const script = forBashStdin(
      buildScript('lock', {
        FD_PROJECT_DIR: project, FD_PROJECT_NAME: 'p', FD_LOCK_TIMEOUT: 30, FD_RUN_ID: 'run-1', FD_REF: 'main', FD_HAVE_FLOCK: flock, FD_LOCK_HEARTBEAT: 1
      })
    )
    const child = spawn('bash', ['-s'], { env: { ...process.env, TMPDIR: dir }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', d => (out += d))
    const exited = new Promise<number | null>(res => child.on('close', code => res(code)))
    child.stdin.write(script)
    const deadline = Date.now() + 10_000
    while (!out.includes('@@fd locked') && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
    expect(out).toContain('@@fd locked')
    const locks = join(dir, 'fresh-deploy-locks')
    const holderFile = (): string => {
      const names = readdirSync(locks)
      const d = names.find(n => n.endsWith('.d'))
      return d ? join(locks, d, 'holder') : join(locks, names.find(n => n.endsWith('.info')) ?? 'none')
    }
    const info = holderFile()
    const first = statSync(info).mtimeMs
    await new Promise(r => setTimeout(r, 3200))
    expect(child.exitCode).toBeNull()
    expect(statSync(info).mtimeMs).toBeGreaterThan(first)
    child.stdin.end()
    expect(await exited).toBe(0)
    expect(existsSync(info)).toBe(false)
  }, 20_000)
})

describe('purge-tree.sh on a real tree', () => {
  // Both ways of deleting: several rm at once (find -print0 | xargs -0 -P) and, where xargs
  // cannot, one find -exec; a stand-in xargs that fails its probe forces the second.
  const ways: [string, boolean][] = [
    ['parallel rm (xargs -P)', false],
    ['one find -exec (no usable xargs)', true]
  ]
  test.each(ways)('%s: removes exactly the bytecode, names with spaces and newlines included, and counts it', (_way, noXargs) => {
    const root = join(dir, 'src')
    const weird = join(root, 'we ird\nname')
    for (const d of [join(root, 'a', '__pycache__'), join(weird, '__pycache__'), join(root, 'b')]) mkdirSync(d, { recursive: true })
    for (let i = 0; i < 150; i++) writeFileSync(join(root, 'a', '__pycache__', `m${i}.cpython-311.pyc`), 'x')
    writeFileSync(join(weird, '__pycache__', 'x y.pyc'), 'x')
    writeFileSync(join(root, 'b', 'loose.pyc'), 'x')
    writeFileSync(join(root, 'b', 'old.pyo'), 'x')
    writeFileSync(join(root, 'b', 'keep.py'), 'x')
    writeFileSync(join(root, 'b', 'keep.pyc.txt'), 'x')
    // Not a __pycache__ (its name only ends in one, after a newline): its .pyc is a loose file.
    const lookalike = join(root, 'pkg\n__pycache__')
    mkdirSync(lookalike)
    writeFileSync(join(lookalike, 'm.pyc'), 'x')
    let env = process.env
    if (noXargs) {
      const bin = join(dir, 'bin')
      mkdirSync(bin)
      writeFileSync(join(bin, 'xargs'), '#!/bin/sh\nexit 1\n', { mode: 0o755 })
      env = { ...process.env, PATH: `${bin}:${process.env.PATH}` }
    }
    const r = spawnSync('sh', ['-c', readScript('purge-tree.sh'), 'purge', root], { env })
    expect(r.stderr.toString('utf8')).toBe('')
    expect(r.stdout.toString('utf8')).toBe('2 3\n')
    const left = spawnSync('find', [root, '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort()
    expect(left).toEqual([join(root, 'b', 'keep.py'), join(root, 'b', 'keep.pyc.txt')])
    expect(existsSync(join(weird, '__pycache__'))).toBe(false)
  })

  test.each(ways)('%s: an rm that fails fails the purge (exit non-zero)', (_way, noXargs) => {
    // A stand-in rm that refuses, as on a read-only mount (root ignores file permissions).
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'rm'), '#!/bin/sh\necho "rm: cannot remove: Read-only file system" >&2\nexit 1\n', { mode: 0o755 })
    if (noXargs) writeFileSync(join(bin, 'xargs'), '#!/bin/sh\nexit 1\n', { mode: 0o755 })
    mkdirSync(join(dir, 'src', 'a', '__pycache__'), { recursive: true })
    const r = spawnSync('sh', ['-c', readScript('purge-tree.sh'), 'purge', join(dir, 'src')], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })
    expect(r.status).not.toBe(0)
    expect(r.stderr.toString('utf8')).toContain('Read-only file system')
    expect(existsSync(join(dir, 'src', 'a', '__pycache__'))).toBe(true)
  })

  test('a missing directory is "missing", not an error', () => {
    const r = spawnSync('sh', ['-c', readScript('purge-tree.sh'), 'purge', join(dir, 'nope')])
    expect([r.status, r.stdout.toString('utf8')]).toEqual([0, 'missing\n'])
  })
})

describe('preflight.sh: compose detection (stand-in docker and plugin binaries)', () => {
  // The v2 plugin is run directly from the first plugin directory the docker CLI searches
  // ($DOCKER_CONFIG/cli-plugins here); `docker` itself answers only the engine check.
  const records = (stdout: string): Record<string, string> =>
    Object.fromEntries(stdout.split('\n').filter(l => l.startsWith('@@fd ')).map(l => [l.split(' ')[1], l.split(' ').slice(2).join(' ')]))
  function preflight(plugin: string | undefined, v1Works: boolean): { status: number | null; out: Record<string, string>; stderr: string } {
    const project = join(dir, 'project')
    const bin = join(dir, 'bin')
    const plugins = join(dir, 'docker-config', 'cli-plugins')
    for (const d of [project, bin, plugins]) mkdirSync(d, { recursive: true })
    writeFileSync(join(project, 'compose.yaml'), 'services: {}\n')
    const log = join(dir, 'calls')
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "docker $*" >>'${log}'\n[ "$1" = version ] && { echo 99.0.0; exit 0; }\nexit 1\n`, { mode: 0o755 })
    if (plugin !== undefined) writeFileSync(join(plugins, 'docker-compose'), plugin, { mode: 0o755 })
    // A v1 that fails stands first in PATH in place of this machine's real one.
    if (!v1Works) writeFileSync(join(bin, 'docker-compose'), '#!/bin/sh\nexit 1\n', { mode: 0o755 })
    else writeFileSync(join(bin, 'docker-compose'), '#!/bin/sh\ncase "$*" in *version*) echo 1.29.2 ;; *config*) printf \'services:\\n  backend:\\n    image: x\\n\' ;; esac\n', { mode: 0o755 })
    const script = buildScript('preflight', {
      FD_PROJECT_DIR: project, FD_COMPOSE_CMD: 'auto', FD_COMPOSE_FILES: '', FD_PROJECT_NAME: 'p', FD_RESOLVED_PROJECT: '', FD_SERVICE: 'backend', FD_SYNC: 'none', FD_CHECK_SERVICE: '1'
    })
    const r = spawnSync('bash', ['-s'], { input: script, env: { ...process.env, PATH: `${bin}:/usr/bin:/bin`, DOCKER_CONFIG: join(dir, 'docker-config') }, encoding: 'utf8' })
    return { status: r.status, out: records(r.stdout), stderr: r.stderr }
  }
  const v2 = (version: string, config: string): string =>
    `#!/bin/sh\ncase "$*" in *version*) echo ${version} ;; *config*) ${config} ;; esac\n`
  const goodConfig = "printf 'name: p\\nservices:\\n  backend:\\n    build:\\n      context: .\\n'"

  test('a working v2 plugin is detected from its own binary: version and config, no `docker compose`', () => {
    const r = preflight(v2('2.40.0', goodConfig), true)
    expect(r.status).toBe(0)
    expect([r.out.compose, r.out['compose-version'], r.out['service-build'], r.out['project-name'], r.out['engine-version']]).toEqual(['docker compose', '2.40.0', 'yes', 'p', '99.0.0'])
    expect(readFileSync(join(dir, 'calls'), 'utf8')).not.toContain('docker compose')
  })

  test('v2 with a broken compose file: v2 is still the one, and the config error is reported', () => {
    const r = preflight(v2('2.40.0', 'echo "yaml: line 3: did not find expected key" >&2; exit 15'), true)
    expect(r.status).toBe(3)
    expect(r.out.compose).toBe('docker compose')
    expect(r.stderr).toContain('did not find expected key')
    expect(r.stderr).toContain('compose config failed')
  })

  test('a v1 docker-compose copied into the plugin directory is not taken for v2: v1 on PATH is used', () => {
    const r = preflight(v2('1.29.2', goodConfig), true)
    expect(r.status).toBe(0)
    expect([r.out.compose, r.out['compose-version'], r.out['service-build']]).toEqual(['docker-compose', '1.29.2', 'no'])
  })

  test('a plugin that does not run, and no v1: neither works, said so', () => {
    const r = preflight('#!/bin/sh\nexit 1\n', false)
    expect(r.status).toBe(3)
    expect(r.stderr).toContain("neither 'docker compose' (v2) nor 'docker-compose' (v1) works on the target")
  })
})

function __dirnameOf(): string {
  return new URL('.', import.meta.url).pathname
}

// Issue 11 C2: the service's depends_on, read from compose config's output (both versions print
// the long form; v1 has no "required"), reaches the rebuild as service-deps.
describe('fd_service_info: depends_on from compose config', () => {
  const V2 = [
    'name: shop',
    'services:',
    '  cache:',
    '    depends_on:',
    '      db:',
    '        condition: service_started',
    '        required: true',
    '    image: z',
    '  db:',
    '    healthcheck:',
    '      test:',
    '        - CMD',
    '        - "true"',
    '    image: "y"',
    '  web:',
    '    build:',
    '      context: /srv/shop',
    '    depends_on:',
    '      cache:',
    '        condition: service_started',
    '        required: false',
    '      db:',
    '        condition: service_healthy',
    '        required: true',
    '      migrate:',
    '        condition: service_completed_successfully',
    '        required: true',
    '    image: x',
    '    networks:',
    '      default: null',
    'networks:',
    '  default:',
    '    name: shop_default',
    ''
  ].join('\n')
  const V1 = [
    'services:',
    '  db:',
    '    image: "y"',
    '  web:',
    '    depends_on:',
    '      db:',
    '        condition: service_healthy',
    '    image: x',
    '    ports:',
    '    - 8080:8080',
    "version: '3.9'",
    ''
  ].join('\n')
  const info = (config: string, service: string): Record<string, string> => {
    const r = spawnSync('bash', ['-c', `${readScript('lib.sh')}\nFD_SERVICE=$1\nfd_service_info "$2"`, 'info', service, config], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    return Object.fromEntries(r.stdout.split('\n').filter(l => l.startsWith('@@fd ')).map(l => [l.split(' ')[1], l.split(' ').slice(2).join(' ')]))
  }

  test('v2: every dependency with its condition and required, nothing of another service', () => {
    expect(info(V2, 'web')).toEqual({ 'service-build': 'yes', 'service-deps': 'cache:service_started:false db:service_healthy:true migrate:service_completed_successfully:true', 'project-name': 'shop' })
    expect(info(V2, 'cache')['service-deps']).toBe('db:service_started:true')
    expect(info(V2, 'db')).toMatchObject({ 'service-build': 'no', 'service-deps': '' })
  })

  test('v1: no "required" means required', () => {
    expect(info(V1, 'web')).toMatchObject({ 'service-build': 'no', 'service-deps': 'db:service_healthy:true' })
    expect(info(V1, 'db')['service-deps']).toBe('')
  })
})
