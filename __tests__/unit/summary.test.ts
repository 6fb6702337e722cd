// The job summary a user reads: heading with the verdict, steps with times, probes with their
// evidence, purge / heal / rollback lines, and table cells that no value can break.
import type { Probe } from '../../src/engine/probes.js'
import { Report } from '../../src/engine/report.js'
import { silentReporter } from '../../src/engine/reporter.js'
import { buildSummary, cell } from '../../src/action/summary.js'

const CID = 'b'.repeat(64)
const IMG = `sha256:${'c'.repeat(64)}`
const PREV = `sha256:${'a'.repeat(64)}`

function report(over: Partial<Report> = {}): Report {
  const r = new Report(silentReporter)
  r.durationSeconds = () => '42.5'
  r.target = 'ssh deploy@deploy.example.com:22:/srv/app'
  r.revision = '0123456789abcdef0123456789abcdef01234567'
  r.containerId = CID
  r.imageId = IMG
  r.previousImageId = PREV
  r.verdict = 'fresh'
  r.steps = [
    { name: 'connect', status: 'ok', seconds: 1.234, note: 'ssh deploy@deploy.example.com:22' },
    { name: 'lock', status: 'ok', seconds: 0.05, note: '' },
    { name: 'sync', status: 'skipped', seconds: 0, note: 'sync: none' },
    { name: 'rebuild', status: 'ok', seconds: 63.25, note: 'built shop-backend' },
    { name: 'verify', status: 'ok', seconds: 7, note: 'fresh' }
  ]
  r.probes = [
    { name: 'recreated', verdict: 'pass', expected: 'a container other than aaaaaaaaaaaa', found: 'container bbbbbbbbbbbb', reason: '' },
    { name: 'source', verdict: 'pass', expected: 'sha256:1111 (2 files on the host)', found: 'sha256:1111 (2 files in the container)', reason: '' },
    { name: 'http', verdict: 'skip', expected: '', found: '', reason: 'verify-url is not set' }
  ]
  r.purgedHost = 3
  r.purgedContainer = 2
  Object.assign(r, over)
  return r
}

/** Splits a GFM table row into cells the way cmark-gfm does: a backslash escapes any character. */
function cellsOf(row: string): string[] {
  const cells: string[] = []
  let cur = ''
  for (let i = 0; i < row.length; i++) {
    const c = row[i]
    if (c === '\\' && i + 1 < row.length) {
      cur += c + row[i + 1]
      i++
    } else if (c === '|') {
      cells.push(cur)
      cur = ''
    } else {
      cur += c
    }
  }
  cells.push(cur)
  // A row starts and ends with a pipe: drop the empty outer pieces.
  return cells.slice(1, -1).map(s => s.trim())
}

function tableRows(md: string, header: string): string[] {
  const lines = md.split('\n')
  const start = lines.findIndex(l => l.startsWith(header))
  expect(start).toBeGreaterThanOrEqual(0)
  const rows: string[] = []
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i])
  return rows
}

describe('buildSummary', () => {
  test('fresh: heading, facts, steps with times, probes with evidence, purge line', () => {
    const md = buildSummary(report())
    const lines = md.split('\n')
    expect(lines[0]).toBe('## fresh-deploy ✅ fresh: the new code is what runs')
    expect(md).toContain('**target**: `ssh deploy@deploy.example.com:22:/srv/app`')
    expect(md).toContain('**container**: `bbbbbbbbbbbb`')
    expect(md).not.toContain(CID)
    expect(md).toContain(`**image**: \`${IMG}\``)
    expect(md).toContain(`**previous image**: \`${PREV}\``)
    expect(md).toContain('**duration**: `42.5 s`')

    expect(tableRows(md, '| step |')).toEqual([
      '| connect | ✅ ok | 1.2 s | ssh deploy@deploy.example.com:22 |',
      '| lock | ✅ ok | 0.1 s |  |',
      '| sync | ⏭️ skipped | 0.0 s | sync: none |',
      '| rebuild | ✅ ok | 63.3 s | built shop-backend |',
      '| verify | ✅ ok | 7.0 s | fresh |'
    ])
    expect(md).toContain('| probe | verdict | expected | found | reason |')
    expect(tableRows(md, '| probe |')).toEqual([
      '| recreated | ✅ pass | a container other than aaaaaaaaaaaa | container bbbbbbbbbbbb |  |',
      '| source | ✅ pass | sha256:1111 (2 files on the host) | sha256:1111 (2 files in the container) |  |',
      '| http | ⏭️ skip |  |  | verify-url is not set |'
    ])
    expect(md).toContain('**Purged**: 5 bytecode item(s) (3 on the host, 2 in the container)\n')
    expect(md).not.toContain('**Error:**')
    expect(md).not.toContain('**Heal**')
    expect(md).not.toContain('Rolled back')
    expect(md).not.toContain('**Rollback**')
    expect(md).not.toContain('verify: false')
  })

  test('stale after a heal attempt: heading, failed probe with its evidence, heal line', () => {
    const source: Probe = {
      name: 'source',
      verdict: 'fail',
      expected: 'sha256:1111 (2 files on the host)',
      found: 'sha256:2222 (2 files in the container)',
      reason: '1 file(s) differ between src on the host and /app/src in the container: content differs: app.py',
      leadsTo: 'stale'
    }
    const md = buildSummary(report({ verdict: 'stale', probes: [source], healAttempts: 1 }))
    expect(md.split('\n')[0]).toBe('## fresh-deploy ❌ stale: the container does not run the code that was deployed')
    expect(tableRows(md, '| probe |')).toEqual([
      '| source | ❌ fail | sha256:1111 (2 files on the host) | sha256:2222 (2 files in the container) | 1 file(s) differ between src on the host and /app/src in the container: content differs: app.py |'
    ])
    expect(md).toContain('**Heal**: 1 no-cache rebuild(s) after a stale verdict.')
    expect(md).not.toContain('leadsTo')
  })

  test('unhealthy with a rollback', () => {
    const md = buildSummary(
      report({
        verdict: 'unhealthy',
        rolledBack: true,
        rollbackNote: 'back on shop-backend:fresh-deploy-previous (aaaaaaaaaaaa), healthy',
        probes: [{ name: 'health', verdict: 'fail', expected: 'healthy', found: 'container is exited (exit code 1, restarts 3)', reason: 'container is exited', leadsTo: 'unhealthy' }]
      })
    )
    expect(md.split('\n')[0]).toContain('unhealthy')
    expect(md).toContain('**Rolled back**: back on shop-backend:fresh-deploy-previous (aaaaaaaaaaaa), healthy')
    expect(md).not.toContain('**Rollback**:')
    expect(md).toContain('| health | ❌ fail | healthy | container is exited (exit code 1, restarts 3) | container is exited |')
  })

  test('a rollback that did not happen is reported as such', () => {
    const md = buildSummary(report({ verdict: 'unhealthy', rolledBack: false, rollbackNote: 'no previous image: first deploy' }))
    expect(md).toContain('**Rollback**: no previous image: first deploy')
    expect(md).not.toContain('Rolled back')
  })

  test('error: the error quote, no probes table, no empty facts', () => {
    const md = buildSummary(
      report({
        verdict: 'error',
        error: 'input port: "0" is not valid: expected a whole number from 1 to 65535',
        containerId: '',
        imageId: '',
        previousImageId: '',
        probes: [],
        steps: [],
        purgedHost: 0,
        purgedContainer: 0
      })
    )
    expect(md.split('\n')[0]).toBe('## fresh-deploy ❌ error: the deploy did not get as far as verifying')
    expect(md).toContain('> **Error:** input port: "0" is not valid: expected a whole number from 1 to 65535')
    expect(md).not.toContain('**container**')
    expect(md).not.toContain('**image**')
    expect(md).toContain('**previous image**: `(none: first deploy)`')
    expect(md).not.toContain('### Probes')
    expect(tableRows(md, '| step |')).toEqual([])
    expect(md).toContain('**Purged**: 0 bytecode item(s) (0 on the host, 0 in the container)')
  })

  test('an error with newlines and pipes stays one quoted line', () => {
    const md = buildSummary(report({ verdict: 'error', error: 'sync failed:\nerror: a | b\r\n> not a quote' }))
    const line = md.split('\n').find(l => l.startsWith('> **Error:**'))!
    expect(line).toBe('> **Error:** sync failed: error: a \\| b > not a quote')
  })

  test('dry-run heading', () => {
    const md = buildSummary(report({ verdict: 'dry-run', probes: [], containerId: '', imageId: '' }))
    expect(md.split('\n')[0]).toBe('## fresh-deploy 📝 dry-run: nothing was changed')
    expect(md).not.toContain('### Probes')
  })

  test('verify skipped: says so, and no probe table even when probes are listed', () => {
    const md = buildSummary(report({ verifySkipped: true }))
    expect(md).toContain('### Probes\n\n_verify: false — no probe ran, nothing was checked._')
    expect(md).not.toContain('| probe | verdict |')
  })

  test('purge notes are listed after the counts', () => {
    const md = buildSummary(report({ purgedHost: 4, purgedContainer: 0, purgeNotes: ['container: container not running'] }))
    expect(md).toContain('**Purged**: 4 bytecode item(s) (4 on the host, 0 in the container); container: container not running')
  })

  test('pipes, newlines and tags in evidence cannot break the tables', () => {
    const hostile = 'a | b\nc\r\nd\re <script>x</script> back\\|slash \\\\| end'
    const md = buildSummary(
      report({
        probes: [{ name: 'http', verdict: 'fail', expected: hostile, found: hostile, reason: hostile, leadsTo: 'stale' }],
        steps: [{ name: 'sync', status: 'failed', seconds: 2, note: hostile }]
      })
    )
    const probeRows = tableRows(md, '| probe |')
    expect(probeRows).toHaveLength(1)
    expect(cellsOf(probeRows[0])).toHaveLength(5)
    const stepRows = tableRows(md, '| step |')
    expect(stepRows).toHaveLength(1)
    expect(cellsOf(stepRows[0])).toHaveLength(4)
    expect(stepRows[0].startsWith('| sync | ❌ failed | 2.0 s | ')).toBe(true)
    expect(md).not.toContain('<script>')
    expect(md).not.toMatch(/[\r]/)
  })
})

describe('cell', () => {
  test('escapes pipes, flattens line breaks, neutralises tags', () => {
    expect(cell('a|b')).toBe('a\\|b')
    expect(cell('a\nb\r\nc')).toBe('a b c')
    expect(cell('a\rb')).toBe('a b')
    expect(cell('<b>')).toBe('&lt;b>')
  })

  test('a backslash is shown as an entity, so it cannot pair with anything', () => {
    expect(cell('C:\\dir')).toBe('C:&#92;dir')
    expect(cell('a\\|b')).toBe('a&#92;\\|b')
  })

  test('a backslash before a pipe cannot unescape it', () => {
    for (const text of ['a\\|b', 'a\\\\|b', 'end\\']) {
      const row = `| x | ${cell(text)} | y |`
      expect(cellsOf(row)).toHaveLength(3)
    }
  })

  test('long text is shortened with an ellipsis', () => {
    expect(cell('x'.repeat(500))).toBe(`${'x'.repeat(400)}…`)
    expect(cell('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}…`)
    expect(cell('short', 10)).toBe('short')
  })
})
