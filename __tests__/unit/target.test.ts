// Target: purge counts, the label override YAML (hostile values stay data), records, and how
// script results become typed values and errors. The transport is a recording stand-in.
import { jest } from '@jest/globals'
import YAML from 'yaml'
import { ActionReporter } from '../../src/action/log.js'
import { getSettings } from '../../src/engine/input-helper.js'
import type { Settings } from '../../src/engine/settings.js'
import { RECORD_NONCE } from '../../src/engine/records.js'
import { parsePurgeCount, parseTargetTime, recordsToMap, RemoteError, Target, TargetInputError, yamlString } from '../../src/engine/target.js'
import type { Held, RemoteRecord, RunOptions, RunResult, Transport } from '../../src/engine/transport.js'
import { inputs } from './inputs.js'

class StubTransport implements Transport {
  scripts: string[] = []
  released = false
  constructor(
    readonly where: string,
    private readonly results: RunResult[]
  ) {}

  close(): void {}

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    this.scripts.push(script)
    const r = this.results.shift()
    if (!r) throw new Error('no more canned results')
    // A "__line" record stands for a log line, in its place among the result lines.
    for (const rec of r.records) {
      if (rec.key === '__line') options.onLine?.(rec.value)
      else options.onRecord?.(rec)
    }
    return { ...r, records: r.records.filter(x => x.key !== '__line') }
  }

  hold(script: string, options: RunOptions = {}): Held {
    this.scripts.push(script)
    const r = this.results.shift()!
    for (const rec of r.records) options.onRecord?.(rec)
    const ends = r.records.some(x => x.key === 'locked') ? undefined : r
    let release!: (v: RunResult) => void
    const done = ends ? Promise.resolve(ends) : new Promise<RunResult>(resolve => (release = resolve))
    return {
      done,
      release: async () => {
        this.released = true
        if (!ends) release(r)
        return done
      }
    }
  }
}

const rec = (key: string, value: string): RemoteRecord => ({ key, value })
const result = (code: number, records: RemoteRecord[], outputTail = ''): RunResult => ({ code, records, outputTail })

function settings(over: Partial<Settings> = {}): Settings {
  return { ...getSettings(inputs({ service: 'web', 'lock-timeout': '30' })), ...over }
}

describe('parsePurgeCount', () => {
  test('"DIRS FILES" is their sum', () => {
    const notes: string[] = []
    expect(parsePurgeCount('3 2', 'host', notes)).toBe(5)
    expect(parsePurgeCount(' 0 0 \n', 'host', notes)).toBe(0)
    expect(parsePurgeCount('12 30', 'container', notes)).toBe(42)
    expect(notes).toEqual([])
  })
  test('missing / skip reasons count 0 and leave a note', () => {
    const notes: string[] = []
    expect(parsePurgeCount('missing', 'host', notes)).toBe(0)
    expect(parsePurgeCount('skip container not running', 'container', notes)).toBe(0)
    expect(notes).toEqual(['host: missing', 'container: container not running'])
  })
  test('no value: 0, no note', () => {
    const notes: string[] = []
    expect(parsePurgeCount(undefined, 'host', notes)).toBe(0)
    expect(notes).toEqual([])
  })
  test.each(['3', '3 2 1', '-1 2', 'a b'])('%j is not a count', value => {
    const notes: string[] = []
    expect(parsePurgeCount(value, 'host', notes)).toBe(0)
    expect(notes).toHaveLength(1)
  })
})

describe('recordsToMap', () => {
  test('keys to values; a repeated key keeps the last value; empty values kept', () => {
    const m = recordsToMap([rec('a', '1'), rec('b', ''), rec('a', '2')])
    expect([...m.entries()]).toEqual([
      ['a', '2'],
      ['b', '']
    ])
  })
})

// YAML 1.2 c-printable, minus what libyaml/go-yaml (compose) read as line breaks inside a scalar.
const PRINTABLE = /^[\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]*$/u

describe('overrideYaml', () => {
  const hostile = [
    'plain',
    'a"b',
    "a'b",
    'a\\b',
    'line1\nline2',
    'x\n  evil: true',
    'x: y',
    '# comment',
    '&anchor',
    '*alias',
    '!!python/object/apply:os.system ["id"]',
    '{a: 1}',
    '[1, 2]',
    '- item',
    '---',
    '...',
    '%YAML 1.2',
    '\ttab',
    ' lead and trail ',
    '',
    'true',
    '0x10',
    'null',
    '~',
    '2026-11-28',
    '${HOME} $USER $$',
    'grüße 日本語 🙂',
    'nel\u0085line',
    'ls\u2028ps\u2029',
    'del\u007fc1\u0080\u009f',
    'bom\ufeff',
    '\u0000\u0001\u001b'
  ]

  // What compose reads: YAML, then its own interpolation where "$$" stands for "$".
  const composeValue = (v: unknown): string => String(v).replace(/\$\$/g, '$')

  test.each(hostile)('revision %j stays one label value', value => {
    const t = new Target(new StubTransport('local', []), settings(), 'run-1')
    const text = t.overrideYaml(value)
    expect(text.split('\n')).toHaveLength(5)
    expect(PRINTABLE.test(text)).toBe(true)
    const doc = YAML.parse(text) as { services: Record<string, { labels: Record<string, unknown> }> }
    expect(Object.keys(doc)).toEqual(['services'])
    expect(Object.keys(doc.services)).toEqual(['web'])
    expect(Object.keys(doc.services.web)).toEqual(['labels'])
    const labels = doc.services.web.labels
    expect(Object.keys(labels)).toEqual(['io.fresh-deploy.revision', 'io.fresh-deploy.run'])
    expect(typeof labels['io.fresh-deploy.revision']).toBe('string')
    expect(composeValue(labels['io.fresh-deploy.revision'])).toBe(value)
    expect(labels['io.fresh-deploy.run']).toBe('run-1')
  })

  test.each(hostile)('service name %j stays one key', value => {
    const t = new Target(new StubTransport('local', []), settings({ service: value }), `run-${value}`)
    const text = t.overrideYaml('rev')
    expect(text.split('\n')).toHaveLength(5)
    expect(PRINTABLE.test(text)).toBe(true)
    const doc = YAML.parse(text) as { services: Record<string, { labels: Record<string, unknown> }> }
    expect(Object.keys(doc.services)).toEqual([value])
    expect(doc.services[value].labels['io.fresh-deploy.revision']).toBe('rev')
    expect(composeValue(doc.services[value].labels['io.fresh-deploy.run'])).toBe(`run-${value}`)
  })

  test('a "$" reaches compose escaped, so interpolation gives it back', () => {
    const t = new Target(new StubTransport('local', []), settings(), 'run-1')
    expect(t.overrideYaml('a$b${C}')).toContain('"io.fresh-deploy.revision": "a$$b$${C}"')
  })

  test('yamlString escapes what JSON leaves raw but YAML parsers do not take', () => {
    expect(yamlString('a\u0085b')).toBe('"a\\u0085b"')
    expect(yamlString('\u2028')).toBe('"\\u2028"')
    expect(yamlString('\u007f')).toBe('"\\u007f"')
    expect(yamlString('é🙂')).toBe('"é🙂"')
  })

  test('the rebuild variables carry the override and the options', () => {
    const t = new Target(new StubTransport('local', []), settings({ ref: 'abc', stopTimeout: 5, buildPull: true }), 'run-9')
    expect(t.rebuildVars(true)).toEqual({
      FD_REF: 'abc',
      FD_OVERRIDE_YAML: t.overrideYaml('abc'),
      FD_NO_CACHE: true,
      FD_PULL: true,
      FD_RENEW_ANON: true,
      FD_STOP_TIMEOUT: 5,
      FD_SERVICE_DEPS: '',
      FD_SERVICE_DEPS_KNOWN: '',
      FD_HEALTH_TIMEOUT: 120
    })
  })

  // Issue 11 C2: the preflight's depends_on reaches the rebuild, which starts what is not running.
  test('the dependencies the preflight found reach the rebuild; none found is known too', async () => {
    const records = (deps: string): RemoteRecord[] => [rec('now', '1.5'), rec('compose', 'docker compose'), rec('service-build', 'yes'), rec('service-deps', deps)]
    const t = new Target(new StubTransport('local', [result(0, records('db:service_healthy:true cache:service_started:false'))]), settings(), 'run-9')
    await t.preflight(true)
    expect(t.rebuildVars(false)).toMatchObject({ FD_SERVICE_DEPS: 'db:service_healthy:true cache:service_started:false', FD_SERVICE_DEPS_KNOWN: 'yes' })
    const none = new Target(new StubTransport('local', [result(0, records(''))]), settings(), 'run-9')
    await none.preflight(true)
    expect(none.rebuildVars(false)).toMatchObject({ FD_SERVICE_DEPS: '', FD_SERVICE_DEPS_KNOWN: 'yes' })
  })
})

describe('Target with a stand-in transport', () => {
  test('every script starts with the common variables as quoted data', async () => {
    const tr = new StubTransport('local', [result(0, [rec('container-id', ''), rec('step-done', 'snapshot')])])
    const t = new Target(tr, settings({ projectDir: "/srv/it's", composeFiles: ['a.yml', 'b.yml'] }), 'r')
    await expect(t.deploy({ snapshot: true, purge: false, noCache: false, verify: false, lockPid: '' }).snapshot).resolves.toBeUndefined()
    // The first line reads the rest in one head -c (forBashStdin); the variables come next.
    const [loader, ...rest] = tr.scripts[0].split('\n')
    expect(loader).toContain(`head -c ${Buffer.byteLength(rest.join('\n'), 'utf8')})`)
    expect(rest.join('\n').startsWith(`FD_NONCE='${RECORD_NONCE}'\n`)).toBe(true)
    expect(rest.slice(1).join('\n').startsWith("FD_PROJECT_DIR='/srv/it'\\''s'\nFD_COMPOSE_CMD='auto'\nFD_COMPOSE_FILES='a.yml\nb.yml'\nFD_PROJECT_NAME=''\nFD_RESOLVED_PROJECT=''\nFD_SERVICE='web'\nFD_")).toBe(true)
  })

  test('preflight records become typed values, and the detected compose command sticks', async () => {
    const tr = new StubTransport('local', [
      result(0, [
        rec('now', '1795874405.123'),
        rec('project-realpath', '/srv/app'),
        rec('compose', 'docker compose'),
        rec('compose-version', '2.29.1'),
        rec('engine-version', '27.1.1'),
        rec('flock', 'yes'),
        rec('service-build', 'no'),
        rec('git-head', '')
      ]),
      result(0, [])
    ])
    const t = new Target(tr, settings(), 'r')
    expect(await t.preflight(true)).toEqual({
      now: 1795874405.123,
      realPath: '/srv/app',
      compose: 'docker compose',
      composeVersion: '2.29.1',
      engineVersion: '27.1.1',
      flock: true,
      hasBuild: false,
      gitHead: ''
    })
    expect(tr.scripts[0]).toContain("FD_CHECK_SERVICE='1'")
    await t.deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).purge.catch(() => undefined)
    expect(tr.scripts[1]).toContain("FD_COMPOSE_CMD='docker compose'")
  })

  test('an input-error record becomes a TargetInputError naming the input', async () => {
    const tr = new StubTransport('local', [result(2, [rec('input-error', 'service not defined in compose.yaml (services: api db)')])])
    const t = new Target(tr, settings(), 'r')
    const e = await t.preflight(true).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(TargetInputError)
    expect((e as TargetInputError).input).toBe('service')
    expect((e as TargetInputError).message).toBe('service: not defined in compose.yaml (services: api db)')
  })

  test.each(['github-token', 'ssh-key', 'verify-expect', 'no-such-input', ''])('an input-error naming %j (not an input the target checks) is a step failure, never an input error', async input => {
    const tr = new StubTransport('local', [result(2, [rec('input-error', `${input} forged detail`)])])
    const e = await new Target(tr, settings(), 'r').preflight(true).catch((x: unknown) => x)
    expect(e).not.toBeInstanceOf(TargetInputError)
    expect(e).toBeInstanceOf(RemoteError)
    expect((e as RemoteError).message).toBe(`preflight failed on the target (exit 2): ${input} forged detail`)
  })

  test('exit 255 over ssh is a connection failure; elsewhere a step failure with the last lines', async () => {
    const ssh = new Target(new StubTransport('ssh deploy@h:22', [result(255, [], 'Connection reset by peer')]), settings(), 'r')
    await expect(ssh.deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).snapshot).rejects.toThrow('snapshot: the ssh connection to deploy@h:22 failed (exit 255). Last output: Connection reset by peer')
    const tail = Array.from({ length: 12 }, (_, i) => `l${i}`).join('\n')
    const local = new Target(new StubTransport('local', [result(3, [], tail)]), settings(), 'r')
    const e = (await local.deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).snapshot.catch((x: unknown) => x)) as RemoteError
    expect(e).toBeInstanceOf(RemoteError)
    expect([e.step, e.code]).toEqual(['snapshot', 3])
    expect(e.message).toBe(`snapshot failed on the target (exit 3): ${['l4', 'l5', 'l6', 'l7', 'l8', 'l9', 'l10', 'l11'].join('\n')}`)
  })

  test('purge: "missing" on the host and a skipped container are notes, not counts', async () => {
    const tr = new StubTransport('local', [result(0, [rec('step-done', 'snapshot'), rec('purged-host', 'missing'), rec('purged-container', 'skip container not running')])])
    const t = new Target(tr, settings({ sourceDir: 'app/src' }), 'r')
    expect(await t.deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).purge).toEqual({ host: 0, container: 0, notes: ['host: source-dir app/src does not exist', 'container: container not running'], warnings: [] })
  })

  test('purge: what could not be deleted comes as warnings, one per record, beside the counts', async () => {
    const tr = new StubTransport('local', [
      result(0, [
        rec('step-done', 'snapshot'),
        rec('purged-host', '1 0'),
        rec('purge-warning', 'could not delete 2 bytecode path(s) under /srv/app/src on the host: a, b'),
        rec('purged-container', '0 3'),
        rec('purge-warning', 'could not delete 1 bytecode path(s) in container 0123456789ab, even as root (rm: Read-only file system): /app/src/x.pyc')
      ])
    ])
    expect(await new Target(tr, settings(), 'r').deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).purge).toEqual({
      host: 1,
      container: 3,
      notes: [],
      warnings: [
        'could not delete 2 bytecode path(s) under /srv/app/src on the host: a, b',
        'could not delete 1 bytecode path(s) in container 0123456789ab, even as root (rm: Read-only file system): /app/src/x.pyc'
      ]
    })
  })

  test('purge: counts on both sides', async () => {
    const tr = new StubTransport('local', [result(0, [rec('step-done', 'snapshot'), rec('purged-host', '2 5'), rec('purged-container', '1 0')])])
    expect(await new Target(tr, settings(), 'r').deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).purge).toEqual({ host: 7, container: 1, notes: [], warnings: [] })
  })

  test('deploy: one script, the snapshot resolves first, a purge failure is named purge', async () => {
    const snap = [
      rec('container-id', 'c1'),
      rec('image-id', 'sha256:1'),
      rec('started-at', 't'),
      rec('running', 'true'),
      rec('config-image', 'app-web'),
      rec('revision', '<no value>'),
      rec('previous-tag', 'fresh-deploy/previous:app.web'),
      rec('previous-image', 'sha256:1'),
      rec('previous-revision', 'rev-1'),
      rec('step-done', 'snapshot')
    ]
    const tr = new StubTransport('local', [result(3, snap, 'rm: cannot remove')])
    const t = new Target(tr, settings(), 'r')
    const both = t.deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' })
    expect(await both.snapshot).toEqual({
      containerId: 'c1',
      imageId: 'sha256:1',
      startedAt: 't',
      running: true,
      configImage: 'app-web',
      revision: '',
      previousTag: 'fresh-deploy/previous:app.web',
      previousImage: 'sha256:1',
      previousRevision: 'rev-1',
      previousKept: ''
    })
    const e = (await both.purge.catch((x: unknown) => x)) as RemoteError
    expect([e.step, e.code]).toEqual(['purge', 3])
    expect(tr.scripts).toHaveLength(1)
    expect(tr.scripts[0]).toContain('\n{\n# shellcheck shell=bash\n# snapshot:')
    expect(tr.scripts[0]).toContain('\n{\n# shellcheck shell=bash\n# purge:')
  })

  test('deploy without purge: the purge promise resolves to undefined, no purge script sent', async () => {
    const tr = new StubTransport('local', [result(0, [rec('container-id', ''), rec('step-done', 'snapshot')])])
    const both = new Target(tr, settings(), 'r').deploy({ snapshot: true, purge: false, noCache: false, verify: false, lockPid: '' })
    await expect(both.purge).resolves.toBeUndefined()
    expect(tr.scripts[0]).not.toContain('# purge:')
  })

  const full = { snapshot: true, purge: true, noCache: false, verify: true, lockPid: '4242' }

  test('deploy: all four steps in one script, in order, with the lock holder to check', async () => {
    const tr = new StubTransport('local', [
      result(0, [
        rec('step-done', 'snapshot'),
        rec('purged-host', '1 0'),
        rec('purged-container', '0 0'),
        rec('step-done', 'purge'),
        rec('container-id', 'c2'),
        rec('image-id', 'sha256:2'),
        rec('config-image', 'app-web'),
        rec('step-done', 'rebuild'),
        rec('health', 'pass healthy'),
        rec('running', 'true')
      ])
    ])
    const run = new Target(tr, settings(), 'r').deploy(full)
    expect(await run.snapshot).toBeUndefined()
    expect(await run.purge).toEqual({ host: 1, container: 0, notes: [], warnings: [] })
    expect(await run.rebuild).toEqual({ containerId: 'c2', imageId: 'sha256:2', startedAt: '', configImage: 'app-web' })
    // verify ends the script (exit 0) without a step-done line: its records are what came after rebuild's.
    expect(await run.verify).toEqual([rec('health', 'pass healthy'), rec('running', 'true')])
    const script = tr.scripts[0]
    expect(script).toContain("FD_LOCK_PID='4242'")
    const at = (name: string): number => script.indexOf(`# ${name}:`)
    expect(at('snapshot')).toBeGreaterThan(0)
    expect(at('snapshot')).toBeLessThan(at('purge'))
    expect(at('purge')).toBeLessThan(at('rebuild'))
    expect(at('rebuild')).toBeLessThan(at('verify'))
    for (const step of ['snapshot', 'purge', 'rebuild', 'verify']) expect(script).toContain(`fd_out step-done ${step}`)
  })

  test('deploy: a failed rebuild rejects rebuild and verify, and keeps what came before', async () => {
    const tr = new StubTransport('local', [result(3, [rec('step-done', 'snapshot'), rec('purged-host', '0 0'), rec('step-done', 'purge')], 'fresh-deploy: the rebuild of service web failed (compose exit 17)')])
    const run = new Target(tr, settings(), 'r').deploy(full)
    await expect(run.purge).resolves.toEqual({ host: 0, container: 0, notes: [], warnings: [] })
    const e = (await run.rebuild.catch((x: unknown) => x)) as RemoteError
    expect([e.step, e.code]).toEqual(['rebuild', 3])
    expect(e.message).toContain('compose exit 17')
    await expect(run.verify).rejects.toBe(e)
  })

  test('deploy: a lock holder gone on the target stops the script; the error names the lock and the step', async () => {
    const tr = new StubTransport('local', [result(6, [rec('step-done', 'snapshot'), rec('step-done', 'purge'), rec('lock-lost', 'rebuild')])])
    const run = new Target(tr, settings({ projectDir: '/srv/app' }), 'r').deploy(full)
    const e = (await run.rebuild.catch((x: unknown) => x)) as RemoteError
    expect(e).toBeInstanceOf(RemoteError)
    expect(e.step).toBe('lock')
    expect(e.message).toBe('the deploy lock of /srv/app was lost (its holder on the target is gone); stopped before the rebuild step so that two deploys cannot overlap')
  })

  test('deploy: log lines wait for their step to be attached; the verify step stays quiet', async () => {
    const tr = new StubTransport('local', [
      result(0, [
        rec('__line', 'snap log'),
        rec('step-done', 'snapshot'),
        rec('__line', 'purge log'),
        rec('step-done', 'purge'),
        rec('__line', '+ docker compose up'),
        rec('step-done', 'rebuild'),
        rec('__line', 'verify noise')
      ])
    ])
    const written: string[] = []
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
    try {
      const run = new Target(tr, settings(), 'r', new ActionReporter()).deploy(full)
      await run.verify
      expect(written).toEqual([])
      run.attach('purge')
      expect(written).toEqual(['purge log\n'])
      run.attach('snapshot')
      run.attach('rebuild')
      run.attach('verify')
      expect(written).toEqual(['purge log\n', 'snap log\n', '+ docker compose up\n'])
    } finally {
      spy.mockRestore()
    }
  })

  test('sync with a dirty checkout lists the files and names the input that allows discarding', async () => {
    const tr = new StubTransport('local', [result(5, [rec('dirty', 'src/app.py'), rec('dirty', 'compose.yaml')])])
    const e = (await new Target(tr, settings(), 'r').sync().catch((x: unknown) => x)) as RemoteError
    expect(e).toBeInstanceOf(RemoteError)
    expect(e.message).toContain('src/app.py, compose.yaml')
    expect(e.message).toContain('sync-discard-changes')
  })

  const preflightRecords = [rec('now', '1'), rec('compose', 'docker compose'), rec('flock', 'yes'), rec('step-done', 'preflight')]
  const lockOf = (t: Target, onWait: (h: string) => void = () => undefined) => t.preflightAndLock(true, onWait, () => undefined)

  test('preflight and lock: one held script, preflight first, lock held until release', async () => {
    const tr = new StubTransport('local', [result(0, [...preflightRecords, rec('lock-dir', '/tmp/x'), rec('locked', '/srv/app')])])
    const session = lockOf(new Target(tr, settings(), 'run-7'))
    expect((await session.preflight).compose).toBe('docker compose')
    const held = await session.lock
    expect(tr.scripts).toHaveLength(1)
    expect(tr.scripts[0]).toContain("FD_RUN_ID='run-7'")
    expect(tr.scripts[0]).toContain("FD_HAVE_FLOCK=''")
    expect(tr.scripts[0]).toContain("FD_CHECK_SERVICE='1'")
    expect(tr.scripts[0].indexOf('# connect:')).toBeLessThan(tr.scripts[0].indexOf('# lock:'))
    expect(tr.scripts[0].endsWith('\n}\n')).toBe(true)
    await held.release()
    expect(tr.released).toBe(true)
  })

  test('preflight and lock: a timeout names the lock, the holder and the input; the wait is reported', async () => {
    const holder = `run 111-1-aa, revision ${'f'.repeat(40)}, since 2026-11-28T13:00:00Z, pid 42, host h`
    const waits: string[] = []
    const tr = new StubTransport('local', [result(4, [...preflightRecords, rec('lock-wait', holder), rec('lock-timeout', holder)])])
    const session = lockOf(new Target(tr, settings(), 'r'), h => waits.push(h))
    await expect(session.preflight).resolves.toMatchObject({ flock: true })
    const e = (await session.lock.catch((x: unknown) => x)) as RemoteError
    expect(e).toBeInstanceOf(RemoteError)
    expect(e.message).toContain('lock')
    expect(e.message).toContain(holder)
    expect(e.message).toContain('30 s (input lock-timeout)')
    await new Promise(resolve => setImmediate(resolve))
    expect(waits).toEqual([holder])
  })

  test('preflight and lock: a script that ends without the lock is an error', async () => {
    const tr = new StubTransport('local', [result(0, preflightRecords)])
    await expect(lockOf(new Target(tr, settings(), 'r')).lock).rejects.toThrow('ended before taking the lock')
  })

  test('preflight and lock: a failed preflight fails both, named as the preflight (no lock taken)', async () => {
    const tr = new StubTransport('local', [result(2, [rec('now', '1'), rec('input-error', 'project-dir no such directory on the target')])])
    const session = lockOf(new Target(tr, settings(), 'r'))
    const e = await session.preflight.catch((x: unknown) => x)
    expect(e).toBeInstanceOf(TargetInputError)
    expect((e as TargetInputError).input).toBe('project-dir')
    await expect(session.lock).rejects.toBeInstanceOf(TargetInputError)
  })

  test('verify variables: the url goes to the host only with verify-from: host', () => {
    const url = 'http://127.0.0.1:8000/'
    expect(new Target(new StubTransport('local', []), settings({ verifyUrl: url, verifyFrom: 'host' }), 'r').verifyVars().FD_VERIFY_URL).toBe(url)
    expect(new Target(new StubTransport('local', []), settings({ verifyUrl: url, verifyFrom: 'runner' }), 'r').verifyVars().FD_VERIFY_URL).toBe('')
  })

  test('source facts: the preflight (or the sync) tells where source-dir lies in the build context and its .dockerignore', async () => {
    const ignore = '# not shipped\ntests\n'
    const tr = new StubTransport('local', [
      result(0, [rec('now', '1'), rec('compose', 'docker compose'), rec('service-build', 'yes'), rec('source-in-context', 'src'), rec('dockerignore', Buffer.from(ignore).toString('base64'))]),
      result(0, [rec('head', 'abc'), rec('service-build', 'yes')])
    ])
    const t = new Target(tr, settings({ sourceDir: 'src', sourceInclude: ['**/*.py', 'templates/**'] }), 'r')
    await t.preflight(true)
    expect(tr.scripts[0]).toContain("FD_SOURCE_DIR='src'")
    expect(t.sourceFacts).toEqual({ sourceInContext: 'src', dockerignore: ignore })
    const verify = t.verifyVars()
    expect(verify.FD_SOURCE_IN_CONTEXT).toBe('src')
    expect(verify.FD_SOURCE_NAMES).toBe('*')
    expect(t.snapshotVars(true)).toEqual({ FD_CHECK_CSD: 'yes', FD_SOURCE_DIR: 'src', FD_CONTAINER_SOURCE_DIR: '/app/src', FD_SOURCE_IN_CONTEXT: 'src' })
    // After a sync the facts are the synced tree's: here, source-dir outside the context.
    await t.sync()
    expect(tr.scripts[1]).toContain("FD_SOURCE_DIR='src'")
    expect(t.sourceFacts).toEqual({})
  })

  test('snapshot variables: the container-source-dir check only when the source probe will run', () => {
    const t = (over: Partial<Settings>): Target => new Target(new StubTransport('local', []), settings(over), 'r')
    expect(t({}).snapshotVars(false).FD_CHECK_CSD).toBe('no')
    expect(t({ sourceDir: '' }).snapshotVars(true).FD_CHECK_CSD).toBe('no')
    expect(t({}).verifyVars().FD_SOURCE_NAMES).toBe('*.py')
    expect(t({ sourceInclude: ['**/*.py', '**/*.html'] }).verifyVars().FD_SOURCE_NAMES).toBe('*.py\n*.html')
  })

  test('purge with source-dir empty: a note, not an error', async () => {
    const tr = new StubTransport('local', [result(0, [rec('step-done', 'snapshot'), rec('purged-host', 'missing'), rec('purged-container', '0 0')])])
    expect(await new Target(tr, settings({ sourceDir: '' }), 'r').deploy({ snapshot: true, purge: true, noCache: false, verify: false, lockPid: '' }).purge).toEqual({ host: 0, container: 0, notes: ['host: source-dir empty'], warnings: [] })
  })

  test('logs never throw', async () => {
    const t = new Target(new StubTransport('local', []), settings(), 'r')
    await expect(t.logs()).resolves.toContain('could not read the logs')
    const ok = new Target(new StubTransport('local', [result(0, [rec('log', 'a'), rec('other', 'x'), rec('log', 'b')])]), settings(), 'r')
    await expect(ok.logs()).resolves.toBe('a\nb')
  })
})

describe('parseTargetTime (the target\'s "now")', () => {
  test.each([
    ['1700000000.123456789', 1700000000.123456789],
    ['1700000000', 1700000000],
    [' 1700000000.5 ', 1700000000.5],
    ['1700000000.N', 1700000000],
    ['1700000000.%N', 1700000000],
    ['1700000000.', 1700000000],
    ['', 0],
    [undefined, 0],
    ['bash: date: command not found', 0],
    ['N', 0]
  ])('%j → %j, never NaN (a NaN start made the recreated probe throw a RangeError)', (value, expected) => {
    const t = parseTargetTime(value)
    expect(t).toBe(expected)
    expect(() => new Date(t * 1000).toISOString()).not.toThrow()
  })

  test('a preflight whose date printed %N literally still gives a usable start', async () => {
    const tr = new StubTransport('local', [result(0, [rec('now', '1700000000.N'), rec('compose', 'docker compose'), rec('project-realpath', '/srv')])])
    const pre = await new Target(tr, settings(), 'r').preflight(false)
    expect(pre.now).toBe(1700000000)
  })
})
