// The probes' target-side helpers on real trees: fingerprint.sh (name preselection, sha256sum and
// the python fallback) and bytecode.py (PYTHONPYCACHEPREFIX, the "done" line a crash never prints).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { namePatterns } from '../../src/engine/glob.js'
import { readScript } from '../../src/engine/scripts.js'

const fingerprint = readScript('fingerprint.sh')
// The interpreter itself, not a version manager's shim (slow to start, and needs a full PATH).
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()
const checker = readScript('bytecode.py')

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fd-probe-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

const listed = (out: string): string[] =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(l => l.replace(/^[0-9a-f]{64} {2}/, ''))
    .sort()

describe('fingerprint.sh', () => {
  const dir = tree({ 'app.py': 'x', 'templates/index.html': '<p>', 'static/app.js': 'js', 'README': 'r', 'pkg/.hidden.py': 'h' })
  const run = (names: string[], path = process.env.PATH): { code: number; out: string } => {
    const r = spawnSync('sh', ['-c', fingerprint, 'fingerprint', dir, ...names], { encoding: 'utf8', env: { PATH: path } })
    return { code: r.status ?? -1, out: r.stdout }
  }

  test('default: *.py only, as "SHA  ./path"', () => {
    const { code, out } = run([])
    expect(code).toBe(0)
    expect(out).toMatch(/^[0-9a-f]{64} {2}\.\//m)
    expect(listed(out)).toEqual(['./app.py', './pkg/.hidden.py'])
  })

  test('the name patterns that source-include globs need', () => {
    expect(listed(run(namePatterns(['**/*.py', '**/*.html'])).out)).toEqual(['./app.py', './pkg/.hidden.py', './templates/index.html'])
    expect(listed(run(namePatterns(['static/**'])).out)).toHaveLength(5)
    expect(listed(run(['*.[jh]s*']).out)).toEqual(['./static/app.js'])
  })

  test('without sha256sum, python lists the same files with the same hashes', () => {
    // A PATH with python3 but no sha256sum.
    const bin = mkdtempSync(join(tmpdir(), 'fd-bin-'))
    execFileSync('ln', ['-s', PYTHON, join(bin, 'python3')])
    for (const tool of ['find', 'sh']) execFileSync('ln', ['-s', execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool)])
    const names = namePatterns(['**/*.py', '**/*.html'])
    const fallback = run(names, bin)
    expect(fallback.code).toBe(0)
    expect(fallback.out.trim().split('\n').sort()).toEqual(run(names).out.trim().split('\n').sort())
  })

  test('a missing directory exits 3', () => {
    expect(spawnSync('sh', ['-c', fingerprint, 'fingerprint', join(dir, 'nope')]).status).toBe(3)
  })
})

describe('bytecode.py', () => {
  const python = (args: string[], env: NodeJS.ProcessEnv = {}): string =>
    execFileSync(PYTHON, args, { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } })

  test('checks .pyc under PYTHONPYCACHEPREFIX against /abs/dir/x.py, and catches a same-size edit with the mtime kept', () => {
    const dir = tree({ 'src/app/__init__.py': '', 'src/app/version.py': 'VERSION = "1"\n' })
    const prefix = join(dir, 'pycache')
    const version = join(dir, 'src/app/version.py')
    utimesSync(version, 1700000000, 1700000000)
    // The app's python writes its bytecode under the prefix.
    python(['-c', 'import app.version'], { PYTHONPATH: join(dir, 'src'), PYTHONPYCACHEPREFIX: prefix })
    const cached = join(prefix, dir.slice(1), 'src/app')
    expect(readdirSync(cached).some(n => /^version\.cpython-3\d+\.pyc$/.test(n))).toBe(true)

    const check = (): string[] => python(['-I', '-B', '-c', checker, join(dir, 'src'), prefix]).trim().split('\n')
    const ok = check()
    expect(ok.filter(l => l.startsWith('ok '))).toHaveLength(2)
    expect(ok.at(-1)).toBe('done 2')

    writeFileSync(version, 'VERSION = "2"\n')
    utimesSync(version, 1700000000, 1700000000)
    writeFileSync(join(cached, 'gone.cpython-311.pyc'), readFileSync(join(cached, readdirSync(cached).find(n => n.startsWith('version.'))!)))
    const lines = check()
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^stale ${cached}/version\\.cpython-3\\d+\\.pyc header matches the source's mtime and size, but the code differs`)))
    expect(lines).toContain(`orphan ${cached}/gone.cpython-311.pyc no source ${join(dir, 'src/app/gone.py')}`)
    expect(lines.at(-1)).toBe('done 3')
    // Without the prefix, those are not looked at.
    expect(python(['-I', '-B', '-c', checker, join(dir, 'src'), '']).trim()).toBe('done 0')
  })

  test('a missing directory says so and still finishes', () => {
    expect(python(['-I', '-B', '-c', checker, '/nonexistent/src', '']).trim().split('\n')).toEqual(['missing /nonexistent/src', 'done 0'])
  })
})
