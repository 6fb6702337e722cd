// The text sent to `bash -s`: values quoted by shellQuote come back byte-identical through a
// real bash and never execute; every step script is syntactically valid bash once built.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RECORD_NONCE, RECORD_PREFIX } from '../../src/engine/records.js'
import { buildScript, forBashStdin, preamble, readScript, shellQuote, type ScriptName } from '../../src/engine/scripts.js'

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

const ALL: ScriptName[] = ['preflight', 'lock', 'sync', 'snapshot', 'purge', 'build', 'predeploy', 'rebuild', 'verify', 'http', 'smoke', 'rollback', 'logs']

describe('buildScript', () => {
  test('every step script exists as a file beside lib.sh', () => {
    const onDisk = readdirSync(join(__dirnameOf(), '..', '..', 'src', 'scripts')).filter(f => f.endsWith('.sh'))
    for (const name of ALL) expect(onDisk).toContain(`${name}.sh`)
  })

  test.each(ALL)('%s: variables, then lib + script in one brace group', name => {
    const vars = { FD_PROJECT_DIR: "/srv/it's here", FD_SERVICE: 'web' }
    const text = buildScript(name, vars)
    const expectedRedirect = name === 'lock' ? '' : ' </dev/null'
    expect(text).toBe(`${preamble({ FD_NONCE: RECORD_NONCE, ...vars })}\n{\n${readScript('lib.sh')}\n${readScript(`${name}.sh`)}\n}${expectedRedirect}\n`)
    expect(text.startsWith(`FD_NONCE='${RECORD_NONCE}'\nFD_PROJECT_DIR='/srv/it'\\''s here'\nFD_SERVICE='web'\n{\n`)).toBe(true)
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
      `${preamble({ FD_NONCE: RECORD_NONCE, ...vars })}\n{\n${readScript('lib.sh')}\n{\n${a}\n} </dev/null\nfd_out step-done ${names[0]}\n{\n${b}\n}${lockLast ? '' : ' </dev/null'}\nfd_out step-done ${names[1]}\n}\n`
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

describe('fd_hook_run (lib.sh): a hook streamed, stopped at hook-timeout', () => {
  // A script that defines a stop function and runs a command through fd_hook_run, as
  // predeploy.sh and smoke.sh do; FD_CMD is the hook's text, run by sh -c as data. The hook runs
  // in a session of its own, and the stop function kills that whole group (fd_hook_run's $pid,
  // seen through bash's dynamic scope): in a container, smoke.sh finds the hook's processes by
  // an environment marker instead, which on a whole busy host would take too long.
  const hookScript = (timeout: number): string =>
    `FD_CMD=$1\nFD_NONCE=test\n{\n${readScript('lib.sh')}\n# shellcheck disable=SC2154\nstop_hook() { echo stopped >"$TMPDIR/stopped"; kill -9 -- "-$pid"; }\nfd_hook_run test ${timeout} stop_hook setsid sh -c "$FD_CMD" || echo "rc=$?"\n}\n`

  function runHook(command: string, timeout: number): Promise<{ out: string; ms: number }> {
    const t0 = Date.now()
    return new Promise(resolve => {
      const child = spawn('bash', ['-c', hookScript(timeout), 'hook', command], { env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', d => (out += d))
      child.stderr.on('data', d => (out += d))
      // 'close': every holder of the output pipe is gone (a lingering watchdog would hold it).
      child.on('close', () => resolve({ out, ms: Date.now() - t0 }))
    })
  }

  test('exit status and output, streamed; the watchdog does not outlive a quick hook', async () => {
    const { out, ms } = await runHook('echo one; echo two >&2; exit 3', 20)
    expect(out).toContain('one\n')
    expect(out).toContain('two\n')
    expect(out).toContain('@@fd-test hook-exit 3\n')
    expect(out).not.toContain('hook-timeout')
    expect(out).toContain('rc=3')
    expect(ms).toBeLessThan(5000)
    expect(existsSync(join(dir, 'stopped'))).toBe(false)
  }, 20_000)

  test('a hook past its timeout is stopped by the stop function, children included, and says so', async () => {
    // The sleep is a child of the hook's shell: stopping the shell alone would leave it running,
    // holding the output open (the run would end only after 30 s).
    const { out, ms } = await runHook('echo started; sleep 30; echo never', 1)
    expect(out).toContain('started\n')
    expect(out).not.toContain('never')
    expect(out).toContain('@@fd-test hook-timeout 1\n')
    expect(out).toContain('ran longer than hook-timeout (1 s) and was stopped')
    expect(out).toContain('rc=124')
    expect(existsSync(join(dir, 'stopped'))).toBe(true)
    expect(ms).toBeLessThan(10_000)
  }, 20_000)

  test('the hook text is data: quotes, $(), backticks and newlines run as written in sh, nothing in bash', async () => {
    const cmd = `printf '%s\\n' "it's" '$(touch ${MARK})' "\\\`x\\\`"\necho 'héllo'`
    const { out } = await runHook(cmd, 20)
    expect(out).toContain("it's\n$(touch pwned)\n`x`\nhéllo\n")
    expect(existsSync(MARK)).toBe(false)
    expect(readdirSync(dir).filter(f => f.includes(MARK))).toEqual([])
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

  const tree = (root: string, env: NodeJS.ProcessEnv = process.env): { status: number | null; lines: string[]; stderr: string } => {
    const r = spawnSync('sh', ['-c', readScript('purge-tree.sh'), 'purge', root], { env, encoding: 'utf8' })
    return { status: r.status, lines: r.stdout.split('\n').filter(Boolean), stderr: r.stderr }
  }

  test.each(ways)('%s: what rm cannot delete is left: not counted, named with its error, exit 1', (_way, noXargs) => {
    // A stand-in rm that refuses, as on a read-only mount (root ignores file permissions).
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'rm'), '#!/bin/sh\necho "rm: cannot remove: Read-only file system" >&2\nexit 1\n', { mode: 0o755 })
    if (noXargs) writeFileSync(join(bin, 'xargs'), '#!/bin/sh\nexit 1\n', { mode: 0o755 })
    const src = join(dir, 'src')
    mkdirSync(join(src, 'a', '__pycache__'), { recursive: true })
    writeFileSync(join(src, 'a', '__pycache__', 'm.cpython-311.pyc'), 'x')
    writeFileSync(join(src, 'loose.pyc'), 'x')
    const r = tree(src, { ...process.env, PATH: `${bin}:${process.env.PATH}` })
    expect(r.status).toBe(1)
    expect(r.lines[0]).toBe('0 0')
    expect(r.lines[1]).toBe('left 2')
    expect(r.lines.slice(2, 4).sort()).toEqual([`path ${src}/a/__pycache__`, `path ${src}/loose.pyc`])
    expect(r.lines[4]).toBe('error rm: cannot remove: Read-only file system')
    expect(r.lines).toHaveLength(5)
    expect(existsSync(join(src, 'a', '__pycache__', 'm.cpython-311.pyc'))).toBe(true)
  })

  test.each(ways)('%s: a __pycache__ that cannot go but was emptied (a mount point) is neither left nor counted', (_way, noXargs) => {
    // A stand-in rm that deletes files but no directory, as with a volume mounted there (EBUSY).
    const bin = join(dir, 'bin')
    mkdirSync(bin)
    writeFileSync(
      join(bin, 'rm'),
      '#!/bin/sh\nrc=0\nfor a do case $a in -*) continue ;; esac\n  if [ -d "$a" ]; then find "$a" -type f -exec /bin/rm -f {} +; echo "rm: cannot remove \'$a\': Device or resource busy" >&2; rc=1; else /bin/rm -f -- "$a"; fi\ndone\nexit $rc\n',
      { mode: 0o755 }
    )
    if (noXargs) writeFileSync(join(bin, 'xargs'), '#!/bin/sh\nexit 1\n', { mode: 0o755 })
    const src = join(dir, 'src')
    mkdirSync(join(src, 'a', '__pycache__'), { recursive: true })
    writeFileSync(join(src, 'a', '__pycache__', 'm.cpython-311.pyc'), 'x')
    writeFileSync(join(src, 'loose.pyc'), 'x')
    const r = tree(src, { ...process.env, PATH: `${bin}:${process.env.PATH}` })
    expect([r.status, r.lines]).toEqual([0, ['0 1']])
    expect(readdirSync(join(src, 'a', '__pycache__'))).toEqual([])
  })

  test('a root that is itself a __pycache__ (a volume mounted there) is walked into, not removed', () => {
    const root = join(dir, 'v', '__pycache__')
    mkdirSync(join(root, 'sub'), { recursive: true })
    writeFileSync(join(root, 'a.cpython-311.pyc'), 'x')
    writeFileSync(join(root, 'b.cpython-311.pyc'), 'x')
    writeFileSync(join(root, 'sub', 'c.pyc'), 'x')
    writeFileSync(join(root, 'keep.txt'), 'x')
    expect(tree(root)).toEqual({ status: 0, lines: ['0 3'], stderr: '' })
    expect(readdirSync(root).sort()).toEqual(['keep.txt', 'sub'])
  })

  test('a directory named like an option ("-src", given as is) is purged, not taken for a find expression', () => {
    mkdirSync(join(dir, '-src', '__pycache__'), { recursive: true })
    writeFileSync(join(dir, '-src', '__pycache__', 'm.pyc'), 'x')
    writeFileSync(join(dir, '-src', 'loose.pyc'), 'x')
    const r = spawnSync('sh', ['-c', readScript('purge-tree.sh'), 'purge', '-src'], { cwd: dir, encoding: 'utf8' })
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '1 1\n', ''])
    expect(existsSync(join(dir, '-src', '__pycache__'))).toBe(false)
  })

  test('fingerprint.sh: a directory named like an option is entered, not parsed', () => {
    mkdirSync(join(dir, '-P'))
    writeFileSync(join(dir, '-P', 'a.py'), 'A = 1\n')
    const r = spawnSync('sh', ['-c', readScript('fingerprint.sh'), 'fingerprint', '-P'], { cwd: dir, encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^[0-9a-f]{64} {2}\.\/a\.py\n$/)
  })

  test('a missing directory is "missing", not an error', () => {
    const r = spawnSync('sh', ['-c', readScript('purge-tree.sh'), 'purge', join(dir, 'nope')])
    expect([r.status, r.stdout.toString('utf8')]).toEqual([0, 'missing\n'])
  })
})

describe('purge.sh: what it purges in the container (a stand-in docker answers inspect and exec)', () => {
  // inspect: the fields purge.sh asks for (\x1f between fields, \x1e between items, \x1d
  // between a mount's fields); exec: writes the trees it was given, one per line.
  function purge(env: string[], mounts: string[][], workdir = '/app'): { targets: string[]; out: Record<string, string[]>; status: number | null; stderr: string } {
    const project = join(dir, 'project')
    const bin = join(dir, 'bin')
    for (const d of [join(project, 'src'), bin]) mkdirSync(d, { recursive: true })
    writeFileSync(join(project, 'compose.yaml'), 'services: {}\n')
    const inspect = ['true', 'sha256:abc', workdir, env.map(e => `${e}\x1e`).join(''), mounts.map(m => `${m.join('\x1d')}\x1e`).join('')].join('\x1f')
    writeFileSync(join(dir, 'inspect'), inspect)
    const targets = join(dir, 'targets')
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/bash\ncase $1 in\n  inspect) cat '${join(dir, 'inspect')}' ;;\n  exec) printf '%s\\n' "\${@:10}" >'${targets}'; cat >/dev/null; for t in "\${@:10}"; do echo "0 1"; done ;;\n  *) exit 1 ;;\nesac\n`,
      { mode: 0o755 }
    )
    const script = buildScript('purge', {
      FD_PROJECT_DIR: project, FD_COMPOSE_CMD: 'docker compose', FD_COMPOSE_FILES: '', FD_PROJECT_NAME: 'p', FD_RESOLVED_PROJECT: '', FD_SERVICE: 'backend',
      FD_SOURCE_DIR: 'src', FD_CONTAINER_SOURCE_DIR: '/app/src/', FD_PURGE_SH: readScript('purge-tree.sh'), FD_KNOWN_CID_SET: 'yes', FD_KNOWN_CID: 'c0ffee'
    })
    const r = spawnSync('bash', ['-s'], { input: script, env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' })
    const out: Record<string, string[]> = {}
    for (const l of r.stdout.split(RECORD_PREFIX).join('@@fd ').split('\n').filter(x => x.startsWith('@@fd '))) {
      const [, key, ...rest] = l.split(' ')
      ;(out[key] ??= []).push(rest.join(' '))
    }
    return { targets: existsSync(targets) ? readFileSync(targets, 'utf8').split('\n').filter(Boolean) : [], out, status: r.status, stderr: r.stderr }
  }
  const host = (): string => join(dir, 'project', 'src')

  test('volumes and bind mounts at, under or above container-source-dir, and the PYTHONPYCACHEPREFIX one; not tmpfs, not elsewhere, not the host\'s source-dir', () => {
    const r = purge(
      ['PATH=/usr/bin', 'PYTHONPYCACHEPREFIX=/pycache/py'],
      [
        ['volume', '/var/lib/docker/volumes/v/_data', '/app/src/app/__pycache__', 'true'],
        ['bind', host(), '/app/src', 'true'],
        ['tmpfs', '', '/app/src/tmp', 'true'],
        ['volume', '/var/lib/docker/volumes/c/_data', '/pycache', 'true'],
        ['volume', '/var/lib/docker/volumes/d/_data', '/data', 'true'],
        ['bind', '/srv/other', '/app/src/lib', 'false']
      ]
    )
    expect(r.status).toBe(0)
    expect(r.targets).toEqual(['/app/src/app/__pycache__', '/pycache/py', '/app/src/lib'])
    expect(r.out['purged-host']).toEqual(['0 0'])
    expect(r.out['purged-container']).toEqual(['0 3'])
    expect(r.out['purge-warning']).toBeUndefined()
  })

  test('a mount above container-source-dir is purged from container-source-dir down, with what it holds inside; a relative prefix is the working dir\'s', () => {
    const r = purge(
      ['PYTHONPYCACHEPREFIX=cache'],
      [
        ['bind', '/srv/checkout', '/app', 'true'],
        ['volume', '/var/lib/docker/volumes/v/_data', '/app/src/app/__pycache__', 'true']
      ],
      '/app'
    )
    expect(r.targets).toEqual(['/app/src', '/app/cache'])
    expect(r.out['purged-container']).toEqual(['0 2'])
  })

  test('only the host\'s source-dir bind-mounted: nothing to do inside, said so', () => {
    const r = purge([], [['bind', host(), '/app/src', 'true']])
    expect(r.targets).toEqual([])
    expect(r.out['purged-container']).toEqual(['skip its bind mount at /app/src is source-dir on the host, purged there'])
  })

  test('no mount at all: the writable layer is left to the recreate', () => {
    const r = purge(['PYTHONPYCACHEPREFIX=/pycache'], [['volume', '/v', '/data', 'true']])
    expect(r.targets).toEqual([])
    expect(r.out['purged-container']).toEqual(['skip no volume or bind mount at, under or above /app/src (the recreate replaces the rest)'])
  })
})

describe('preflight.sh: compose detection (stand-in docker and plugin binaries)', () => {
  // The v2 plugin is run directly from the first plugin directory the docker CLI searches
  // ($DOCKER_CONFIG/cli-plugins here); `docker` itself answers only the engine check.
  const records = (stdout: string): Record<string, string> =>
    Object.fromEntries(stdout.split('\n').filter(l => l.startsWith(RECORD_PREFIX)).map(l => [l.split(' ')[1], l.split(' ').slice(2).join(' ')]))
  function preflight(plugin: string | undefined, v1Works: boolean, date?: string): { status: number | null; out: Record<string, string>; stderr: string } {
    const project = join(dir, 'project')
    const bin = join(dir, 'bin')
    const plugins = join(dir, 'docker-config', 'cli-plugins')
    for (const d of [project, bin, plugins]) mkdirSync(d, { recursive: true })
    writeFileSync(join(project, 'compose.yaml'), 'services: {}\n')
    const log = join(dir, 'calls')
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "docker $*" >>'${log}'\n[ "$1" = version ] && { echo 99.0.0; exit 0; }\nexit 1\n`, { mode: 0o755 })
    if (plugin !== undefined) writeFileSync(join(plugins, 'docker-compose'), plugin, { mode: 0o755 })
    if (date !== undefined) writeFileSync(join(bin, 'date'), date, { mode: 0o755 })
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

  test('now: GNU date gives fractional seconds', () => {
    const r = preflight(v2('2.40.0', goodConfig), true)
    expect(r.out.now).toMatch(/^\d{10}\.\d{9}$/)
  })

  // BSD date prints an unknown %N as "N"; some print it as is, or nothing after the dot.
  test.each([
    ['BSD (%N → N)', 'N'],
    ['%N printed as is', '%N'],
    ['nothing after the dot', '']
  ])('now: a date without %%N (%s) falls back to whole seconds, never text', (_label, frac) => {
    const bsd = `#!/bin/sh\nif [ "$1" = "+%s.%N" ]; then printf '%s.%s\\n' "$(/bin/date +%s)" '${frac}'; else exec /bin/date "$@"; fi\n`
    const r = preflight(v2('2.40.0', goodConfig), true, bsd)
    expect(r.status).toBe(0)
    expect(r.out.now).toMatch(/^\d{10}$/)
    expect(Math.abs(Number(r.out.now) - Date.now() / 1000)).toBeLessThan(60)
  })

  test('a plugin that does not run, and no v1: neither works, said so', () => {
    const r = preflight('#!/bin/sh\nexit 1\n', false)
    expect(r.status).toBe(3)
    expect(r.stderr).toContain("neither 'docker compose' (v2) nor 'docker-compose' (v1) works on the target")
  })
})

describe('a relative project-dir (issue 12 item 5)', () => {
  test('is taken from where the script starts, once: steps in one script each cd into it', () => {
    mkdirSync(join(dir, 'home', 'apps', 'shop'), { recursive: true })
    const text = `${preamble({ FD_NONCE: RECORD_NONCE, FD_PROJECT_DIR: 'apps/shop' })}\n{\n${readScript('lib.sh')}\nfd_enter_dir\nfd_enter_dir\npwd -P\nprintf '%s\\n' "$FD_PROJECT_DIR"\n}\n`
    const r = spawnSync('bash', ['-s'], { input: text, cwd: join(dir, 'home'), encoding: 'utf8' })
    expect([r.status, r.stderr]).toEqual([0, ''])
    const real = spawnSync('pwd', ['-P'], { cwd: join(dir, 'home', 'apps', 'shop'), encoding: 'utf8' }).stdout.trim()
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([real, join(dir, 'home', 'apps', 'shop')])
  })

  test('an absolute one is left as it is', () => {
    const text = `${preamble({ FD_NONCE: RECORD_NONCE, FD_PROJECT_DIR: '/srv/x' })}\n{\n${readScript('lib.sh')}\nprintf '%s' "$FD_PROJECT_DIR"\n}\n`
    expect(spawnSync('bash', ['-s'], { input: text, cwd: dir, encoding: 'utf8' }).stdout).toBe('/srv/x')
  })
})

describe('sync.sh and preflight.sh with a real git repository (stand-in docker)', () => {
  // A stand-in `docker compose … config` that prints one service with build:.
  const records = (stdout: string): [string, string][] =>
    stdout.split('\n').filter(l => l.startsWith(RECORD_PREFIX)).map(l => [l.split(' ')[1], l.split(' ').slice(2).join(' ')])
  const git = (cwd: string, ...args: string[]): string =>
    spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).stdout.trim()
  function setup(): { project: string; env: NodeJS.ProcessEnv; commit(files: Record<string, string>, msg: string): string } {
    const project = join(dir, 'project')
    const bin = join(dir, 'bin')
    for (const d of [project, bin]) mkdirSync(d, { recursive: true })
    writeFileSync(join(bin, 'docker'), "#!/bin/sh\ncase \"$*\" in *config*) printf 'name: p\\nservices:\\n  backend:\\n    build:\\n      context: .\\n' ;; *version*) echo 99.0.0 ;; esac\n", { mode: 0o755 })
    git(project, 'init', '-q')
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: join(dir, 'no-docker-config') }
    return {
      project,
      env,
      commit(files, msg) {
        for (const [f, text] of Object.entries(files)) writeFileSync(join(project, f), text)
        git(project, 'add', '-f', ...Object.keys(files))
        git(project, 'commit', '-qm', msg)
        return git(project, 'rev-parse', 'HEAD')
      }
    }
  }
  const vars = (project: string, extra: Record<string, string>) => ({
    FD_PROJECT_DIR: project, FD_COMPOSE_CMD: 'docker compose', FD_COMPOSE_FILES: '', FD_PROJECT_NAME: 'p', FD_RESOLVED_PROJECT: '', FD_SERVICE: 'backend', ...extra
  })
  const runScript = (name: ScriptName, v: Record<string, string>, env: NodeJS.ProcessEnv) =>
    spawnSync('bash', ['-s'], { input: buildScript(name, v), env, encoding: 'utf8' })

  test('C4: ref adds the compose file: preflight (sync: git) does not look for it, sync checks it after the checkout', () => {
    const s = setup()
    const first = s.commit({ README: 'x\n' }, 'no compose file yet')
    const second = s.commit({ 'compose.yaml': 'services: {}\n' }, 'the app')
    git(s.project, 'checkout', '-q', first)
    const pre = runScript('preflight', vars(s.project, { FD_COMPOSE_CMD: 'auto', FD_SYNC: 'git', FD_CHECK_SERVICE: '0' }), s.env)
    expect([pre.status, pre.stderr]).toEqual([0, ''])
    expect(records(pre.stdout).find(([k]) => k === 'input-error')).toBeUndefined()
    const sync = runScript('sync', vars(s.project, { FD_REF: second, FD_DISCARD: 'false' }), s.env)
    expect(sync.status).toBe(0)
    expect(records(sync.stdout)).toEqual(expect.arrayContaining([['head', second], ['service-build', 'yes']]))
    // Without the compose file in ref either: refused after the sync, the checkout at ref.
    const third = s.commit({ 'compose.yaml': 'services: {}\n' }, 'again')
    git(s.project, 'rm', '-q', 'compose.yaml')
    git(s.project, 'commit', '-qm', 'compose file gone')
    const fourth = git(s.project, 'rev-parse', 'HEAD')
    git(s.project, 'checkout', '-q', third)
    const gone = runScript('sync', vars(s.project, { FD_REF: fourth, FD_DISCARD: 'false' }), s.env)
    expect(gone.status).toBe(2)
    expect(records(gone.stdout)).toContainEqual(['input-error', expect.stringMatching(/^compose-files no compose.yaml/)])
    expect(git(s.project, 'rev-parse', 'HEAD')).toBe(fourth)
  })

  test.each([
    ['untracked, sync-discard-changes: true', 'notes.txt', '', 'true'],
    ['ignored, sync-discard-changes: false', 'local.secret', 'local.secret\n', 'false'],
    ['untracked in a subdirectory', 'conf/app.ini', '', 'true']
  ])('17: ref tracks a file that is %s on the host: exit 7 with the list, nothing changed', (_label, file, ignore, discard) => {
    const s = setup()
    const first = s.commit({ '.gitignore': ignore, 'compose.yaml': 'services: {}\n' }, 'v1')
    mkdirSync(join(s.project, 'conf'), { recursive: true })
    const second = s.commit({ [file]: 'from the repository\n' }, 'track it')
    git(s.project, 'checkout', '-q', first)
    mkdirSync(join(s.project, 'conf'), { recursive: true })
    writeFileSync(join(s.project, file), 'only on the host\n')
    // A tracked change too, which discard: true may drop, but not the untracked file.
    writeFileSync(join(s.project, 'compose.yaml'), 'services: {}\n# edited\n')
    const r = runScript('sync', vars(s.project, { FD_REF: second, FD_DISCARD: discard }), s.env)
    if (discard === 'false') {
      // The tracked change is refused first (exit 5); reverted, the untracked file still is.
      expect(r.status).toBe(5)
      git(s.project, 'checkout', '-q', '--', 'compose.yaml')
    }
    const again = discard === 'false' ? runScript('sync', vars(s.project, { FD_REF: second, FD_DISCARD: discard }), s.env) : r
    expect(again.status).toBe(7)
    expect(records(again.stdout).filter(([k]) => k === 'untracked')).toEqual([['untracked', file]])
    expect(readFileSync(join(s.project, file), 'utf8')).toBe('only on the host\n')
    expect(git(s.project, 'rev-parse', 'HEAD')).toBe(first)
    if (discard === 'true') expect(readFileSync(join(s.project, 'compose.yaml'), 'utf8')).toContain('# edited')
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
    const r = spawnSync('bash', ['-c', `FD_NONCE=t\nFD_SOURCE_DIR=''\n${readScript('lib.sh')}\nFD_SERVICE=$1\nfd_service_info "$2"`, 'info', service, config], { encoding: 'utf8' })
    expect([r.status, r.stderr]).toEqual([0, ''])
    return Object.fromEntries(r.stdout.split('\n').filter(l => l.startsWith('@@fd-t ')).map(l => [l.split(' ')[1], l.split(' ').slice(2).join(' ')]))
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
