// The command line without a target: its options against action.yml, the parsing of flags and
// of fresh-deploy.yml (precedence, usage errors), the exit codes, the JSON keys, the terminal
// output (redaction, escape sequences, the live step line).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { readFileSync } from 'node:fs'
import { INPUT_OPTIONS, parseCommandLine, readConfig, usage, UsageError } from '../../src/cli/args.js'
import { ACTION_INPUTS } from '../../src/cli/inputs.js'
import { main, defaultRef } from '../../src/cli/main.js'
import { exitCodeOf, jsonResult, probeTable, verdictLine } from '../../src/cli/output.js'
import { CliReporter, sanitize } from '../../src/cli/reporter.js'
import { verifyOnlyProbes } from '../../src/engine/commands.js'
import { Report } from '../../src/engine/report.js'
import { silentReporter } from '../../src/engine/reporter.js'
import type { VerifyFacts } from '../../src/engine/probes.js'

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, { default?: string; required?: boolean }>; outputs: Record<string, unknown> }

function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'fd-cli-unit-'))
}

async function usageError(fn: () => Promise<unknown>): Promise<UsageError> {
  try {
    await fn()
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError)
    return e as UsageError
  }
  throw new Error('no UsageError')
}

describe('options', () => {
  test('src/cli/inputs.ts is action.yml\'s inputs (npm run build regenerates it)', () => {
    expect(ACTION_INPUTS.map(i => [i.name, i.default, i.required])).toEqual(
      Object.entries(action.inputs).map(([name, spec]) => [name, spec.default === undefined ? '' : String(spec.default), spec.required === true])
    )
  })

  test('every action input is an option with its default, except the key text and GitHub\'s own', () => {
    const names = INPUT_OPTIONS.map(o => o.name)
    for (const [name, spec] of Object.entries(action.inputs)) {
      if (['ssh-key', 'github-token', 'environment', 'environment-url'].includes(name)) {
        expect(names).not.toContain(name)
        continue
      }
      const option = INPUT_OPTIONS.find(o => o.name === name)
      expect(option).toBeDefined()
      if (name !== 'ref') expect(option?.default).toBe(spec.default === undefined ? '' : String(spec.default))
      expect(option?.boolean).toBe(spec.default === 'true' || spec.default === 'false')
    }
    expect(names).toContain('ssh-key-file')
  })

  test('--help lists every option with its default', () => {
    const text = usage(true)
    for (const o of INPUT_OPTIONS) {
      expect(text).toContain(o.boolean ? `--[no-]${o.name}` : `--${o.name} `)
      expect(text).toContain(`default: ${o.shown}`)
    }
  })
})

describe('parseCommandLine', () => {
  test('defaults: deploy, action.yml\'s defaults, no config file', async () => {
    const inv = await parseCommandLine([], emptyDir())
    expect(inv.command).toBe('deploy')
    expect(inv.values.get('service')).toBe('backend')
    expect(inv.values.get('health-timeout')).toBe('120')
    expect(inv.values.get('purge')).toBe('true')
    expect(inv.given.size).toBe(0)
    expect(inv.configFile).toBeUndefined()
  })

  test('flags beat the file, the file beats the defaults; booleans --x / --no-x, the last wins', async () => {
    const dir = emptyDir()
    writeFileSync(join(dir, 'fresh-deploy.yml'), 'service: web\nport: 2222\npurge: false\nhealth-timeout: 30\nsource-exclude:\n  - tests/**\n  - docs/**\nssh-key-file: keys/id\n')
    const inv = await parseCommandLine(['verify', '--service', 'api', '--purge', '--no-verify', '--verify'], dir)
    expect(inv.command).toBe('verify')
    expect(inv.configFile).toBe(join(dir, 'fresh-deploy.yml'))
    expect(inv.values.get('service')).toBe('api')
    expect(inv.values.get('port')).toBe('2222')
    expect(inv.values.get('purge')).toBe('true')
    expect(inv.values.get('verify')).toBe('true')
    expect(inv.values.get('health-timeout')).toBe('30')
    expect(inv.values.get('source-exclude')).toBe('tests/**\ndocs/**')
    expect(inv.values.get('ssh-key-file')).toBe(join(dir, 'keys/id'))
    expect(inv.values.get('container-source-dir')).toBe('/app/src')
    expect([...inv.given].sort()).toEqual(['health-timeout', 'port', 'purge', 'service', 'source-exclude', 'ssh-key-file', 'verify'])
    expect((await parseCommandLine(['--no-purge'], dir)).values.get('purge')).toBe('false')
  })

  test('--host is repeatable; --config FILE; --ssh-key-file relative to the current directory', async () => {
    const dir = emptyDir()
    writeFileSync(join(dir, 'other.yml'), 'host: [a.example, b.example]\nproject-dir: /srv/app\n')
    const inv = await parseCommandLine(['plan', '--config', 'other.yml', '--ssh-key-file', 'k'], dir)
    expect(inv.command).toBe('plan')
    expect(inv.values.get('host')).toBe('a.example\nb.example')
    expect(inv.values.get('project-dir')).toBe('/srv/app')
    expect(inv.values.get('ssh-key-file')).toBe(join(dir, 'k'))
    expect((await parseCommandLine(['--host', 'x', '--host', 'y', '--config', 'other.yml'], dir)).values.get('host')).toBe('x\ny')
  })

  test.each([
    [['--bogus'], '--bogus'],
    [['--port'], '--port'],
    [['--purge=false'], '--purge'],
    [['--purge', 'false'], '--purge takes no value'],
    [['deploi'], 'unknown command "deploi"'],
    [['deploy', 'status'], 'one command at a time'],
    [['--ssh-key', 'x'], '--ssh-key'],
    [['--github-token', 'x'], '--github-token'],
    [['--config', 'missing.yml'], 'missing.yml']
  ])('usage error: %j names %s', async (argv, named) => {
    expect((await usageError(() => parseCommandLine(argv, emptyDir()))).message).toContain(named)
  })

  test.each([
    ['service: [unclosed\n', 'does not parse'],
    ['servce: web\n', 'unknown key "servce"'],
    ['ssh-key: "-----BEGIN"\n', 'ssh-key-file'],
    ['json: true\n', 'unknown key "json"'],
    ['- a\n- b\n', 'expected keys and values'],
    ['service:\n  name: web\n', 'key service']
  ])('config file %j is refused: %s', async (text, named) => {
    const dir = emptyDir()
    writeFileSync(join(dir, 'fresh-deploy.yml'), text)
    const e = await usageError(() => parseCommandLine([], dir))
    expect(e.message).toContain(named)
    expect(e.message).toContain(join(dir, 'fresh-deploy.yml'))
  })

  test('an empty config file is no options', async () => {
    expect((await readConfig('f.yml', '')).size).toBe(0)
    expect((await readConfig('f.yml', '# nothing\n')).size).toBe(0)
  })
})

describe('exit codes and results', () => {
  test('0 fresh, unverified, dry-run; 1 error; 2 stale; 3 unhealthy', () => {
    expect(['fresh', 'unverified', 'dry-run', 'error', 'stale', 'unhealthy'].map(v => exitCodeOf(v as never))).toEqual([0, 0, 0, 1, 2, 3])
  })

  test('--json has the action\'s output names (but deployment-id) plus steps', () => {
    const r = new Report(silentReporter)
    r.verdict = 'fresh'
    r.steps.push({ name: 'connect', status: 'ok', seconds: 0.123, note: 'n' })
    const json = jsonResult(r)
    const outputs = Object.keys(action.outputs).filter(k => k !== 'deployment-id' && k !== 'hosts')
    expect(Object.keys(json).sort()).toEqual([...outputs, 'steps'].sort())
    expect(json.verified).toBe(true)
    expect(json.steps).toEqual([{ name: 'connect', status: 'ok', seconds: 0.1, note: 'n' }])
  })

  test('the probes as an aligned table; the verdict line names the failed probe', () => {
    const r = new Report(silentReporter)
    r.verdict = 'stale'
    r.probes = [
      { name: 'recreated', verdict: 'pass', expected: 'e', found: 'container abc', reason: '' },
      { name: 'source', verdict: 'fail', expected: 'e', found: 'f', reason: '1 file(s) differ', leadsTo: 'stale' },
      { name: 'http', verdict: 'skip', expected: '', found: '', reason: 'verify-url is not set' }
    ]
    expect(probeTable(r.probes, false)).toEqual(['  recreated  pass  container abc', '  source     fail  1 file(s) differ', '  http       skip  verify-url is not set'])
    expect(verdictLine(r, 'deploy', false)).toBe('stale: the container does not run the code that was deployed (probe source: 1 file(s) differ)')
    expect(verdictLine(r, 'deploy', true)).toContain('\u001b[31m')
  })

  test('verify only: recreated and image skip with "verify only", the others judge', () => {
    const facts: VerifyFacts = {
      health: { pass: true, detail: 'healthy' },
      containerId: 'c'.repeat(64),
      imageId: 'sha256:1',
      startedAt: '2020-01-01T00:00:00Z',
      running: true,
      configImage: 'app',
      runLabel: '',
      revisionLabel: 'r',
      builtImageId: 'sha256:2',
      hostDir: true,
      hostFiles: new Map([['a.py', '1'.repeat(64)]]),
      containerDir: 'yes',
      containerFiles: new Map([['a.py', '2'.repeat(64)]]),
      python: 'none',
      pyc: [],
      mounts: [],
      csdHint: ''
    }
    const probes = verifyOnlyProbes(facts, { previousContainerId: '', deployStartedAt: Date.now() / 1000, runId: '', hasBuild: true, sourceDir: 'src', containerSourceDir: '/app/src', sourceInclude: ['**/*.py'], sourceExclude: [], verifyUrl: '', verifyExpect: '', verifyTimeout: 1 })
    expect(probes.map(p => [p.name, p.verdict, p.verdict === 'skip' ? p.reason : ''])).toEqual([
      ['recreated', 'skip', 'verify only'],
      ['image', 'skip', 'verify only'],
      ['source', 'fail', ''],
      ['bytecode', 'skip', 'no python in the container'],
      ['health', 'pass', ''],
      ['http', 'skip', 'verify-url is not set']
    ])
  })
})

describe('CliReporter', () => {
  function capture(tty: boolean): { out: string[]; stream: { write(s: string): boolean; isTTY: boolean } } {
    const out: string[] = []
    return { out, stream: { write: (s: string) => out.push(s) > 0, isTTY: tty } }
  }

  test('secrets never reach the output, whole or line by line', () => {
    const { out, stream } = capture(false)
    const log = new CliReporter({ out: stream, color: false, live: false, quiet: false, debug: false })
    log.secret('-----BEGIN KEY-----\nAAAASECRETLINE\n-----END KEY-----')
    log.secret('AAAASECRETLINE')
    log.info('a -----BEGIN KEY-----\nAAAASECRETLINE\n-----END KEY----- b')
    log.untrusted('x AAAASECRETLINE y')
    expect(out.join('')).not.toContain('AAAASECRETLINE')
    expect(out.join('')).toContain('x *** y')
  })

  test('target output is indented and its escape sequences are not obeyed', () => {
    expect(sanitize('\u001b[2J\u001b]0;title\u0007ok\u001b[31m red\r')).toBe('ok red')
    const { out, stream } = capture(false)
    new CliReporter({ out: stream, color: false, live: false, quiet: false, debug: false }).untrusted('#1 building\n#2 done')
    expect(out.join('')).toBe('    │ #1 building\n    │ #2 done\n')
  })

  test('plain output: one line when a step starts, one when it ends (time and note)', () => {
    const { out, stream } = capture(false)
    const log = new CliReporter({ out: stream, color: false, live: false, quiet: false, debug: false })
    log.stepStarted('rebuild', 'build and recreate backend')
    log.untrusted('Step 1/3')
    log.stepEnded({ name: 'rebuild', status: 'ok', seconds: 12.34, note: 'container abc' })
    log.stepEnded({ name: 'sync', status: 'skipped', seconds: 0, note: 'sync: none' })
    expect(out.join('')).toBe('  rebuild     …  build and recreate backend\n    │ Step 1/3\n✓ rebuild      12.3 s  container abc\n- sync        skipped  sync: none\n')
  })

  test('on a terminal the running step\'s line is redrawn in place, above it the build output', async () => {
    const { out, stream } = capture(true)
    const log = new CliReporter({ out: stream, color: false, live: true, quiet: false, debug: false })
    log.stepStarted('rebuild', 'build')
    await new Promise(r => setTimeout(r, 250))
    log.untrusted('Step 1/3')
    log.stepEnded({ name: 'rebuild', status: 'failed', seconds: 0.3, note: 'exit 1' })
    const text = out.join('')
    expect(text.match(/\r\u001b\[2K {2}rebuild {5} +0\.\d s {2}build/g)?.length).toBeGreaterThanOrEqual(2)
    expect(text).toContain('\r\u001b[2K    │ Step 1/3\n')
    expect(text.endsWith('\r\u001b[2K✗ rebuild       0.3 s  exit 1\n')).toBe(true)
  })

  test('--quiet prints nothing', () => {
    const { out, stream } = capture(false)
    const log = new CliReporter({ out: stream, color: false, live: false, quiet: true, debug: false })
    log.stepStarted('connect', 'x')
    log.warning('w')
    log.stepEnded({ name: 'connect', status: 'ok', seconds: 1, note: '' })
    expect(out).toEqual([])
  })
})

describe('main (no target reached)', () => {
  async function run(argv: string[], cwd = emptyDir()): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = ''
    let stderr = ''
    const code = await main({ argv, cwd, env: {}, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } })
    return { code, stdout, stderr }
  }

  test('--version and --help: exit 0 on stdout', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `fresh-deploy ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`, stderr: '' })
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--project-dir VALUE')
  })

  test.each([
    [['--nope'], "'--nope'"],
    [['--project-dir', '/x', '--port', 'ssh'], 'option --port: "ssh"'],
    [['--project-dir', '/x', '--host', 'h', '--connect-timeout', '0'], 'option --connect-timeout'],
    [['--host', 'h'], 'option --project-dir'],
    [['--project-dir', '/x', '--ssh-key-file', '/nonexistent/key'], '/nonexistent/key']
  ])('%j: exit 64, the option named, the usage on stderr, nothing on stdout', async (argv, named) => {
    const r = await run(argv)
    expect(r.code).toBe(64)
    expect(r.stderr).toContain(named)
    expect(r.stderr).toContain('usage: fresh-deploy')
    expect(r.stdout).toBe('')
  })

  test('ref: the HEAD of a git work tree (+ -dirty), else manual-<UTC time>', async () => {
    expect(await defaultRef(emptyDir(), true)).toMatch(/^manual-\d{8}T\d{6}Z$/)
    expect(await defaultRef(ROOT, false)).toMatch(/^[0-9a-f]{40}$/)
  })
})
