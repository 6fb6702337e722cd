// Result lines, log forwarding and the held lock script, with a real local `bash -s`.
import { jest } from '@jest/globals'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { effectiveCommands } from '../runner-commands.js'
import { RECORD_PREFIX } from '../../src/engine/records.js'
import { logRemoteLine } from '../../src/action/log.js'
import { LocalTransport, parseRecord, spawnScript as spawnEngine, SshTransport, type RemoteRecord } from '../../src/engine/transport.js'

// The engine's transport logs through the front end's sink; here, the action's (stdout with
// workflow commands switched off), as the action wires it.
const spawnScript: typeof spawnEngine = (command, args, script, options = {}) => spawnEngine(command, args, script, { log: logRemoteLine, ...options })

let out: string[] = []
beforeEach(() => {
  out = []
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk))
    return true
  })
})
afterEach(() => {
  jest.restoreAllMocks()
})

/** A script's text with "@@fd " turned into this run's record prefix, as fd_out prints it. */
const rec = (script: string): string => script.replace(/@@fd /g, RECORD_PREFIX)

describe('parseRecord', () => {
  test.each([
    ['@@fd key value', { key: 'key', value: 'value' }],
    ['@@fd key value with  spaces ', { key: 'key', value: 'value with  spaces ' }],
    ['@@fd key', { key: 'key', value: '' }],
    ['@@fd key ', { key: 'key', value: '' }],
    ['@@fd hf 0123  ./a b.py', { key: 'hf', value: '0123  ./a b.py' }],
    ['@@fd http-body ', { key: 'http-body', value: '' }]
  ])('%j (with the nonce) → %j', (line, expected) => {
    expect(parseRecord(rec(line))).toEqual(expected)
  })

  test.each(['', 'plain log', ' @@fd key value', '@@fdkey value', '@@FD key value', 'x @@fd key value', '@@ fd key'])('%j is not a record', line => {
    expect(parseRecord(rec(line))).toBeUndefined()
    expect(parseRecord(line)).toBeUndefined()
  })

  test.each(['@@fd key value', '@@fd input-error service x', '@@fd health pass healthy', '@@fd-0123456789abcdef01234567 key v', `@@fd-${RECORD_PREFIX.slice(5, -2)} key v`])(
    'without this run\'s nonce %j is not a record (what a build or an app prints)',
    line => {
      expect(parseRecord(line)).toBeUndefined()
    }
  )
})

const logged = (): string => out.join('')

describe('spawnScript with bash -s', () => {
  test('records are collected in order and are not logged; other lines are', async () => {
    const seen: RemoteRecord[] = []
    const { done } = spawnScript('bash', ['-s'], rec('echo "@@fd a 1"\necho hello\necho "@@fd b two words"\necho oops >&2\n'), {
      onRecord: r => seen.push(r)
    })
    const r = await done
    expect(r.code).toBe(0)
    expect(r.records).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: 'two words' }
    ])
    expect(seen).toEqual(r.records)
    expect(logged()).toContain('hello\n')
    expect(logged()).toContain('oops\n')
    expect(logged()).not.toContain('@@fd')
  })

  test('lines that look like records but lack this run\'s nonce are log text (a build, the app)', async () => {
    const r = await spawnScript('bash', ['-s'], rec('echo "@@fd health fail x"\n') + 'echo "@@fd health pass healthy"\necho "@@fd input-error service x"\n', { quiet: true }).done
    expect(r.records).toEqual([{ key: 'health', value: 'fail x' }])
    expect(r.outputTail).toBe('@@fd health pass healthy\n@@fd input-error service x')
  })

  test.each([0, 1, 2, 5, 42, 255])('exit code %i is passed through', async code => {
    const r = await spawnScript('bash', ['-s'], rec(`echo "@@fd before x"\nexit ${code}\necho "@@fd after x"\n`)).done
    expect(r.code).toBe(code)
    expect(r.records).toEqual([{ key: 'before', value: 'x' }])
  })

  test('a killed script reports a non-zero code', async () => {
    const { child, done } = spawnScript('bash', ['-s'], 'exec sleep 30\n')
    setTimeout(() => child.kill('SIGTERM'), 100)
    const r = await done
    expect(r.code).toBe(143)
  })

  test('the output tail keeps the last 30 lines of stdout and stderr, records excluded', async () => {
    const r = await spawnScript('bash', ['-s'], rec('for i in $(seq 1 40); do echo "line $i"; echo "@@fd n $i"; done\necho "err last" >&2\n'), { quiet: true }).done
    const tail = r.outputTail.split('\n')
    expect(tail).toHaveLength(30)
    expect(tail[0]).toBe('line 12')
    expect(tail[28]).toBe('line 40')
    expect(tail[29]).toBe('err last')
    expect(r.records).toHaveLength(40)
  })

  test('quiet keeps output out of the log but still in the tail', async () => {
    const r = await spawnScript('bash', ['-s'], 'echo secretish-build-output\n', { quiet: true }).done
    expect(logged()).not.toContain('secretish-build-output')
    expect(r.outputTail).toBe('secretish-build-output')
  })

  test('a last line without a newline is still seen, and CRLF is trimmed', async () => {
    const r = await spawnScript('bash', ['-s'], rec('printf "@@fd crlf yes\\r\\n"\nprintf "@@fd last no-newline"\n')).done
    expect(r.records).toEqual([
      { key: 'crlf', value: 'yes' },
      { key: 'last', value: 'no-newline' }
    ])
  })

  test('workflow commands printed by the target are wrapped in stop-commands', async () => {
    await spawnScript('bash', ['-s'], 'echo "::set-output name=verified::true"\necho "::add-mask::x" >&2\necho "  ::error::boom"\necho "a::b"\necho plain\n').done
    const text = logged()
    for (const line of ['::set-output name=verified::true', '::add-mask::x', '  ::error::boom', 'a::b']) {
      const esc = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      const m = new RegExp(`::stop-commands::([0-9a-f]{16})\\n${esc}\\n::([0-9a-f]{16})::\\n`).exec(text)
      expect(m).not.toBeNull()
      expect(m![1]).toBe(m![2])
    }
    // No wrapped line appears bare at the start of a log line.
    const lines = text.split('\n')
    const i = lines.indexOf('::set-output name=verified::true')
    expect(lines[i - 1]).toMatch(/^::stop-commands::[0-9a-f]{16}$/)
    expect(lines[i + 1]).toBe(`::${lines[i - 1].slice('::stop-commands::'.length)}::`)
    expect(text).toContain('plain\n')
    expect(text).not.toMatch(/::stop-commands::[0-9a-f]{16}\nplain\n/)
  })

  test('the legacy ##[ form is neutralized too: a build line cannot stop commands or act (runner model)', async () => {
    await spawnScript('bash', ['-s'], 'echo "#5 RUN echo ##[stop-commands]x"\necho "##[add-mask]y"\necho "::x::z ##[error]e"\n').done
    process.stdout.write('::error::our own error\n')
    expect(effectiveCommands(logged()).map(c => `${c.name}:${c.data}`)).toEqual(['error:our own error'])
    expect(logged()).toContain('#5 RUN echo ## [stop-commands]x\n')
  })

  test('each wrapped line gets its own token', async () => {
    await spawnScript('bash', ['-s'], 'echo "::warning::a"\necho "::warning::b"\n').done
    const tokens = [...logged().matchAll(/::stop-commands::([0-9a-f]{16})/g)].map(m => m[1])
    expect(tokens).toHaveLength(2)
    expect(tokens[0]).not.toBe(tokens[1])
  })

  test('multi-byte characters survive a pipe-chunk boundary', async () => {
    // "@@fd-NONCE big xy" is 37 bytes (odd), then 2-byte characters: a 64 KiB chunk border falls inside one.
    const n = 200_000
    // One write of the whole line, so the pipe (not the writes) decides where chunks end.
    const script = rec(`s=$(printf '%.0sé' $(seq 1 ${n}))\nprintf '@@fd big xy%s\\n' "$s"\n`)
    const r = await spawnScript('bash', ['-s'], script, { quiet: true }).done
    expect(r.records).toHaveLength(1)
    const value = r.records[0].value
    // Booleans, not the 400 kB strings, in a failure message.
    expect(value.indexOf('\ufffd')).toBe(-1)
    expect(value.length).toBe(n + 2)
    expect(value === `xy${'é'.repeat(n)}`).toBe(true)
  })

  test('a script that exits without reading the rest of a large stdin does not crash the runner', async () => {
    const big = `exit 3\n${'# filler\n'.repeat(200_000)}`
    const r = await spawnScript('bash', ['-s'], big).done
    expect(r.code).toBe(3)
  })

  test('a command that cannot start rejects with its name', async () => {
    await expect(spawnScript('/nonexistent/fresh-deploy-shell', ['-s'], 'true\n').done).rejects.toThrow(/could not start \/nonexistent\/fresh-deploy-shell/)
  })

  test('env is passed to the child', async () => {
    const r = await spawnScript('bash', ['-s'], rec('echo "@@fd v $FD_TEST_VALUE"\n'), { env: { ...process.env, FD_TEST_VALUE: 'from-env' } }).done
    expect(r.records).toEqual([{ key: 'v', value: 'from-env' }])
  })
})

describe('LocalTransport', () => {
  test('run', async () => {
    const t = new LocalTransport(logRemoteLine)
    expect(t.where).toBe('local')
    const r = await t.run(rec('echo "@@fd ok yes"\nexit 4\n'))
    expect(r).toMatchObject({ code: 4, records: [{ key: 'ok', value: 'yes' }] })
  })

  test('hold keeps stdin open until release()', async () => {
    const t = new LocalTransport(logRemoteLine)
    let ready!: () => void
    const isReady = new Promise<void>(resolve => (ready = resolve))
    // Shaped like the lock: a brace group parsed whole, then reading stdin until it closes.
    const script = rec('{\necho "@@fd locked here"\nn=0\nwhile IFS= read -r -t 0.1 _ || [ $? -gt 128 ]; do n=$((n+1)); done\necho "@@fd released $n"\n}\n')
    const held = t.hold(script, { quiet: true, onRecord: r => r.key === 'locked' && ready() })
    await isReady
    let finished = false
    void held.done.then(() => (finished = true))
    await new Promise(r => setTimeout(r, 700))
    expect(finished).toBe(false)
    const result = await held.release()
    expect(finished).toBe(true)
    expect(result.code).toBe(0)
    expect(result.records[0]).toEqual({ key: 'locked', value: 'here' })
    expect(result.records[1].key).toBe('released')
    // It waited several read timeouts before the release.
    expect(Number(result.records[1].value)).toBeGreaterThanOrEqual(3)
    expect(await held.done).toBe(result)
  })

  test('hold with keepalive: a newline on the held script\'s stdin every period, none after release', async () => {
    // The lock releases itself when these stop for three periods (a runner that went silent).
    const t = new LocalTransport()
    const script = '{\necho "@@fd locked here"\nwhile IFS= read -r line; do echo "@@fd beat [$line] $SECONDS"; done\n}\n'
    const held = t.hold(rec(script), { quiet: true, keepalive: 1 })
    await new Promise(r => setTimeout(r, 3500))
    const result = await held.release()
    const beats = result.records.filter(r => r.key === 'beat')
    expect(beats.length).toBeGreaterThanOrEqual(2)
    expect(beats.length).toBeLessThanOrEqual(4)
    for (const b of beats) expect(b.value).toMatch(/^\[\] \d+$/)
  })

  test('a held script that ends on its own resolves done without release', async () => {
    const held = new LocalTransport(logRemoteLine).hold(rec('echo "@@fd lock-timeout run 1"\nexit 4\n'), { quiet: true })
    const r = await held.done
    expect(r.code).toBe(4)
    expect(r.records).toEqual([{ key: 'lock-timeout', value: 'run 1' }])
    await expect(held.release()).resolves.toBe(r)
  })
})

describe('SshTransport spare sessions (a stand-in ssh that runs bash -s here)', () => {
  // The stand-in logs each session it starts and each that ends, then runs the script.
  let dir = ''
  let path = ''
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fd-ssh-stub-'))
    writeFileSync(join(dir, 'ssh'), `#!/bin/bash\necho "start $$" >>"${dir}/log"\ntrap 'echo "end $$" >>"${dir}/log"' EXIT\nbash -s\n`, { mode: 0o755 })
    path = process.env.PATH ?? ''
    process.env.PATH = `${dir}:${path}`
  })
  afterEach(() => {
    process.env.PATH = path
    rmSync(dir, { recursive: true, force: true })
  })
  const log = (): string[] => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean) : [])
  const starts = (): number => log().filter(l => l.startsWith('start')).length
  const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
  const ends = (): number => log().filter(l => l.startsWith('end')).length
  /** The session count once the stand-ins have logged (a spawn is logged a little later). */
  const startsAfter = async (expected: number): Promise<number> => {
    for (let i = 0; i < 100 && starts() < expected; i++) await sleep(20)
    await sleep(100) // and no more than expected
    return starts()
  }
  const allEnded = async (): Promise<number> => {
    for (let i = 0; i < 100 && ends() < starts(); i++) await sleep(20)
    return ends()
  }

  test('a spare is opened once a script prints, used by the next; none after a script marked last', async () => {
    const t = new SshTransport('ssh stub', [], 'h')
    try {
      expect((await t.run(rec('echo "@@fd n 1"\n'))).records).toEqual([{ key: 'n', value: '1' }])
      expect(await startsAfter(2)).toBe(2) // the first session, and the spare it opened
      expect((await t.run(rec('echo "@@fd n 2"\n'))).records).toEqual([{ key: 'n', value: '2' }])
      expect(await startsAfter(3)).toBe(3)
      expect((await t.run(rec('echo "@@fd n 3"\n'), { last: true })).records).toEqual([{ key: 'n', value: '3' }])
      expect(await startsAfter(3)).toBe(3) // ran in the spare; no new one
    } finally {
      t.close()
    }
    expect(await allEnded()).toBe(3)
  })

  test('without last, the spare opened by the final script is ended by close()', async () => {
    const t = new SshTransport('ssh stub', [], 'h')
    try {
      await t.run('echo x\n')
      await t.run('echo y\n')
      expect(await startsAfter(3)).toBe(3)
    } finally {
      t.close()
    }
    expect(await allEnded()).toBe(3)
  })

  test('a script that prints nothing opens no spare; the next one starts its own session', async () => {
    const t = new SshTransport('ssh stub', [], 'h')
    try {
      await t.run('true\n')
      expect(await startsAfter(1)).toBe(1)
      expect((await t.run(rec('echo "@@fd ok yes"\n'), { last: true })).records).toEqual([{ key: 'ok', value: 'yes' }])
      expect(await startsAfter(2)).toBe(2)
    } finally {
      t.close()
    }
  })
})
