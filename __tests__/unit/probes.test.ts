// The six probes and the verdict as pure functions of the facts verify.sh reports.
import {
  parseVerifyRecords,
  probeBytecode,
  probeHealth,
  probeHttp,
  probeImage,
  probeRecreated,
  probeSmoke,
  probeSource,
  probesJson,
  runProbes,
  treeFingerprint,
  verdictOf,
  type Probe,
  type ProbeContext,
  type ProbeName,
  type HttpResult,
  type VerifyFacts,
  failedBesidesHttp,
  maskingMounts,
  parseHttpRecords,
  parseImageFiles
} from '../../src/engine/probes.js'
import type { RemoteRecord } from '../../src/engine/transport.js'

const OLD_CID = 'a'.repeat(64)
const NEW_CID = 'b'.repeat(64)
const BUILT = `sha256:${'c'.repeat(64)}`
const OTHER_IMAGE = `sha256:${'d'.repeat(64)}`
const RUN = '12345-1-abcdef'
const DEPLOY_START = Date.parse('2026-11-28T14:00:00Z') / 1000
const h = (n: number): string => n.toString(16).padStart(64, '0')

function ctx(over: Partial<ProbeContext> = {}): ProbeContext {
  return {
    previousContainerId: OLD_CID,
    deployStartedAt: DEPLOY_START,
    runId: RUN,
    hasBuild: true,
    sourceDir: 'src',
    containerSourceDir: '/app/src',
    sourceInclude: ['**/*.py'],
    sourceExclude: [],
    verifyUrl: 'http://127.0.0.1:8000/version',
    verifyExpect: 'rev-42',
    verifyTimeout: 60,
    ...over
  }
}

/** An http result as the target judged it (http-poll.sh): by default 200, expect found. */
function web(over: Partial<HttpResult> = {}): HttpResult {
  return { attempts: 1, status: '200', match: 'yes', snippet: '{"revision":"rev-42"}', at: 13, size: 21, client: 'curl', from: 'host', pending: false, deadline: 0, ...over }
}

function facts(over: Partial<VerifyFacts> = {}): VerifyFacts {
  return {
    health: { pass: true, detail: 'healthy' },
    containerId: NEW_CID,
    imageId: BUILT,
    startedAt: '2026-11-28T14:00:07.123456789Z',
    running: true,
    configImage: 'shop-backend',
    runLabel: RUN,
    revisionLabel: 'rev-42',
    builtImageId: BUILT,
    hostDir: true,
    hostFiles: new Map([
      ['app.py', h(1)],
      ['pkg/models.py', h(2)]
    ]),
    containerDir: 'yes',
    containerFiles: new Map([
      ['pkg/models.py', h(2)],
      ['app.py', h(1)]
    ]),
    python: '/usr/local/bin/python3',
    pyc: [{ status: 'ok', path: 'pkg/__pycache__/models.cpython-312.pyc', detail: '' }],
    mounts: [],
    csdHint: '',
    http: web(),
    ...over
  }
}

const byName = (probes: Probe[], name: ProbeName): Probe => probes.find(p => p.name === name)!

describe('all pass', () => {
  test('every probe passes and the verdict is fresh', () => {
    const probes = runProbes(facts(), ctx())
    expect(probes.map(p => p.name)).toEqual(['recreated', 'image', 'source', 'bytecode', 'health', 'http'])
    expect(probes.map(p => p.verdict)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass'])
    expect(verdictOf(probes)).toBe('fresh')
  })

  test('skips alone are still fresh', () => {
    const probes = runProbes(facts({ hostDir: false, python: 'none', http: undefined }), ctx({ hasBuild: false, verifyUrl: '', sourceDir: '' }))
    expect(probes.map(p => p.verdict)).toEqual(['pass', 'skip', 'skip', 'skip', 'pass', 'skip'])
    expect(verdictOf(probes)).toBe('fresh')
  })
})

describe('recreated', () => {
  test('pass: new container, started after the deploy began, with this run label', () => {
    const p = probeRecreated(facts(), ctx())
    expect(p.verdict).toBe('pass')
    expect(p.expected).toContain(OLD_CID.slice(0, 12))
    expect(p.expected).toContain(RUN)
    expect(p.found).toContain(NEW_CID.slice(0, 12))
  })

  test('pass on a first deploy (no previous container)', () => {
    const p = probeRecreated(facts(), ctx({ previousContainerId: '' }))
    expect(p.verdict).toBe('pass')
    expect(p.expected).toContain('(none)')
  })

  test('fail: no container at all', () => {
    const p = probeRecreated(facts({ containerId: '' }), ctx())
    expect([p.verdict, p.leadsTo]).toEqual(['fail', 'stale'])
  })

  test('fail: the same container as before the deploy', () => {
    const p = probeRecreated(facts({ containerId: OLD_CID }), ctx())
    expect([p.verdict, p.leadsTo]).toEqual(['fail', 'stale'])
    expect(p.reason).toContain('not recreated')
  })

  test('fail: started before the deploy began (nanosecond StartedAt, sub-second deploy start)', () => {
    const p = probeRecreated(facts({ startedAt: '2026-11-28T14:00:00.250000000Z' }), ctx({ deployStartedAt: DEPLOY_START + 0.5 }))
    expect([p.verdict, p.leadsTo]).toEqual(['fail', 'stale'])
    expect(p.reason).toContain('started before')
    expect(probeRecreated(facts({ startedAt: '2026-11-28T14:00:00.750000000Z' }), ctx({ deployStartedAt: DEPLOY_START + 0.5 })).verdict).toBe('pass')
  })

  test('fail: an unreadable start time', () => {
    expect(probeRecreated(facts({ startedAt: '' }), ctx()).verdict).toBe('fail')
    expect(probeRecreated(facts({ startedAt: '0001-01-01T00:00:00Z' }), ctx()).verdict).toBe('fail')
  })

  test.each(['', 'other-run'])('fail: run label %j is not this run', label => {
    const p = probeRecreated(facts({ runLabel: label }), ctx())
    expect([p.verdict, p.leadsTo]).toEqual(['fail', 'stale'])
    expect(p.reason).toContain('label')
    expect(p.found).toContain(label || '(none)')
  })
})

describe('image', () => {
  test('skip without build:', () => {
    const p = probeImage(facts(), ctx({ hasBuild: false }))
    expect(p.verdict).toBe('skip')
    expect(p.reason).toContain('build')
  })
  test('pass when the container runs the built image', () => {
    expect(probeImage(facts(), ctx())).toMatchObject({ verdict: 'pass', expected: BUILT, found: BUILT })
  })
  test('fail when it runs another image', () => {
    const p = probeImage(facts({ imageId: OTHER_IMAGE }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'stale', expected: BUILT, found: OTHER_IMAGE })
    expect(p.reason).toContain('shop-backend')
  })
  test('fail when nothing is tagged with the service image', () => {
    expect(probeImage(facts({ builtImageId: '' }), ctx())).toMatchObject({ verdict: 'fail', leadsTo: 'stale' })
  })
})

describe('source', () => {
  test('pass: identical trees regardless of order; the evidence has both fingerprints', () => {
    const p = probeSource(facts(), ctx())
    expect(p.verdict).toBe('pass')
    const fp = treeFingerprint(facts().hostFiles)
    expect(p.expected).toBe(`${fp} (2 files on the host)`)
    expect(p.found).toBe(`${fp} (2 files in the container)`)
  })

  test('skip: container not running', () => {
    expect(probeSource(facts({ running: false }), ctx())).toMatchObject({ verdict: 'skip', reason: 'container not running' })
  })
  test('source-dir empty: skip (turned off on purpose), whatever the facts', () => {
    expect(probeSource(facts({ hostDir: false, containerDir: 'no' }), ctx({ sourceDir: '' }))).toMatchObject({ verdict: 'skip', reason: 'source-dir empty' })
  })
  test('fail, verdict error: no source-dir on the host (a bad input, never a skip)', () => {
    const p = probeSource(facts({ hostDir: false }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'error' })
    expect(p.reason).toContain('source-dir src does not exist')
  })
  test('fail, verdict error: no container-source-dir in the container, with the hint verify.sh found', () => {
    const p = probeSource(facts({ containerDir: 'no', csdHint: "the image's WORKDIR is /srv; of the likely places, these exist in the container: /srv/src" }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'error', found: 'no such directory' })
    expect(p.reason).toBe("container-source-dir /app/src does not exist in the container (a configuration error): the image's WORKDIR is /srv; of the likely places, these exist in the container: /srv/src")
    expect(verdictOf(runProbes(facts({ containerDir: 'no' }), ctx()))).toBe('error')
  })
  test('skip: listing failed in the container, with its message', () => {
    const p = probeSource(facts({ containerDir: 'error neither sha256sum nor python found' }), ctx())
    expect(p.verdict).toBe('skip')
    expect(p.reason).toContain(': neither sha256sum nor python found')
  })

  test('fail: classifies only on host / only in container / content differs', () => {
    const p = probeSource(
      facts({
        hostFiles: new Map([
          ['app.py', h(1)],
          ['new_feature.py', h(3)],
          ['pkg/models.py', h(2)]
        ]),
        containerFiles: new Map([
          ['app.py', h(9)],
          ['old_module.py', h(4)],
          ['pkg/models.py', h(2)]
        ])
      }),
      ctx()
    )
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'stale' })
    expect(p.reason).toBe(
      '3 file(s) differ between src on the host and /app/src in the container: content differs: app.py; only on host: new_feature.py; only in container: old_module.py. ' +
        'Files deliberately on one side only (not shipped in the image, or made in the container) can be left out with source-exclude (globs, one per line, relative to source-dir), e.g. "new_feature.py"'
    )
    expect(p.expected).toMatch(/^sha256:[0-9a-f]{64} \(3 files on the host\)$/)
    expect(p.found).toMatch(/^sha256:[0-9a-f]{64} \(3 files in the container\)$/)
    expect(p.expected.slice(0, 71)).not.toBe(p.found.slice(0, 71))
  })

  test('fail: at most 10 paths, then "and N more"', () => {
    const host = new Map<string, string>()
    for (let i = 0; i < 25; i++) host.set(`mod_${String(i).padStart(2, '0')}.py`, h(i))
    const p = probeSource(facts({ hostFiles: host, containerFiles: new Map() }), ctx())
    expect(p.verdict).toBe('fail')
    const listed = p.reason.match(/only on host: /g) ?? []
    expect(listed).toHaveLength(10)
    expect(p.reason).toContain('mod_09.py')
    expect(p.reason).not.toContain('mod_10.py')
    expect(p.reason).toMatch(/^25 file\(s\) differ/)
    expect(p.reason).toMatch(/; and 15 more\. Files deliberately on one side only/)
  })

  test('exactly 10 differences: no "more"', () => {
    const host = new Map<string, string>()
    for (let i = 0; i < 10; i++) host.set(`m${i}.py`, h(i))
    const p = probeSource(facts({ hostFiles: host, containerFiles: new Map() }), ctx())
    expect(p.reason).not.toContain('more')
    expect(p.reason.match(/only on host/g)).toHaveLength(10)
  })

  test('source-exclude: excluded files are ignored on both sides and left out of the fingerprints', () => {
    const f = facts({
      hostFiles: new Map([
        ['app.py', h(1)],
        ['tests/test_app.py', h(5)],
        ['tests/unit/test_x.py', h(6)],
        ['pkg/conftest.py', h(7)]
      ]),
      containerFiles: new Map([
        ['app.py', h(1)],
        ['conftest.py', h(8)]
      ])
    })
    expect(probeSource(f, ctx()).verdict).toBe('fail')
    const p = probeSource(f, ctx({ sourceExclude: ['tests/**', '**/conftest.py'] }))
    expect(p.verdict).toBe('pass')
    expect(p.expected).toBe(`${treeFingerprint(new Map([['app.py', h(1)]]))} (1 files on the host)`)
    // *.py does not cross a slash: only top-level files are excluded.
    const q = probeSource(f, ctx({ sourceExclude: ['*.py'] }))
    expect(q.verdict).toBe('fail')
    expect(q.reason).toContain('tests/test_app.py')
    expect(q.reason).toContain('only on host: pkg/conftest.py')
    expect(q.reason).not.toContain('only in container: conftest.py')
  })
})

describe('source: source-include', () => {
  const withTemplates = (container: string): Partial<VerifyFacts> => ({
    hostFiles: new Map([
      ['app.py', h(1)],
      ['templates/index.html', h(2)],
      ['static/app.js', h(3)]
    ]),
    containerFiles: new Map([
      ['app.py', h(1)],
      ['templates/index.html', h(Number(container))],
      ['static/app.js', h(3)]
    ])
  })
  test('default **/*.py: a changed template is not compared', () => {
    const p = probeSource(facts(withTemplates('9')), ctx())
    expect(p.verdict).toBe('pass')
    expect(p.expected).toContain('(1 files on the host)')
  })
  test('with **/*.html the changed template is stale', () => {
    const p = probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['**/*.py', '**/*.html'] }))
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'stale' })
    expect(p.reason).toMatch(/^1 file\(s\) differ .*: content differs: templates\/index\.html$/)
    expect(p.expected).toContain('(2 files on the host)')
    expect(probeSource(facts(withTemplates('2')), ctx({ sourceInclude: ['**/*.py', '**/*.html'] })).verdict).toBe('pass')
  })
  test('"dir/**", character classes and "?" select files as in find -name', () => {
    expect(probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['templates/**'] })).verdict).toBe('fail')
    expect(probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['**/*.[hj]tml'] })).verdict).toBe('fail')
    expect(probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['**/*.[!h]*'] })).verdict).toBe('pass')
    expect(probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['templates/inde?.html'] })).verdict).toBe('fail')
    expect(probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['static/**'] })).verdict).toBe('pass')
  })
  test('source-exclude still wins over source-include', () => {
    expect(probeSource(facts(withTemplates('9')), ctx({ sourceInclude: ['**/*'], sourceExclude: ['templates/**'] })).verdict).toBe('pass')
  })
  test('a pattern that matches nothing on the host is a warning in the evidence, not a failure', () => {
    const p = probeSource(facts(), ctx({ sourceInclude: ['**/*.py', '**/*.html', 'static/**'] }))
    expect(p.verdict).toBe('pass')
    expect(p.reason).toBe('warning: source-include pattern "**/*.html" matches no file under src on the host; warning: source-include pattern "static/**" matches no file under src on the host')
    const failed = probeSource(facts({ containerFiles: new Map() }), ctx({ sourceInclude: ['**/*.py', '**/*.txt'] }))
    expect(failed.verdict).toBe('fail')
    expect(failed.reason).toMatch(/; warning: source-include pattern "\*\*\/\*\.txt" matches no file/)
  })
})

describe('source: files made by the build, .dockerignore', () => {
  const generated = (): Partial<VerifyFacts> => ({
    containerFiles: new Map([
      ['app.py', h(1)],
      ['pkg/models.py', h(2)],
      ['app/_build.py', h(7)]
    ])
  })
  test('a file only in the container, in the image layers of an image this deploy built, is made by the build: pass, listed', () => {
    const p = probeSource(facts(generated()), ctx(), true)
    expect(p.verdict).toBe('pass')
    expect(p.reason).toBe("made by the build (only in the container, in the image's own layers, not in a mount): app/_build.py")
    expect(p.found).toBe(`${treeFingerprint(facts().hostFiles)} (2 files in the container, and 1 made by the build)`)
    expect(runProbes(facts(generated()), ctx()).find(x => x.name === 'source')?.verdict).toBe('pass')
  })
  test('the same file in a mount (volume or bind mount at, under or above the dir) is stale', () => {
    for (const mounts of [['/app/src'], ['/app/src/app'], ['/app'], ['/app/src/']]) {
      const p = probeSource(facts({ ...generated(), mounts }), ctx(), true)
      expect(p.verdict).toBe('fail')
      expect(p.reason).toContain('only in container: app/_build.py')
    }
    // A mount beside it does not count.
    expect(probeSource(facts({ ...generated(), mounts: ['/app/srcx', '/data'] }), ctx(), true).verdict).toBe('pass')
  })
  test('without build: or when the image probe failed, a file only in the container is stale', () => {
    expect(probeSource(facts(generated()), ctx(), false).verdict).toBe('fail')
    const noBuild = runProbes(facts(generated()), ctx({ hasBuild: false }))
    expect(noBuild.find(x => x.name === 'source')?.verdict).toBe('fail')
    const otherImage = runProbes(facts({ ...generated(), imageId: OTHER_IMAGE }), ctx())
    expect(otherImage.find(x => x.name === 'image')?.verdict).toBe('fail')
    expect(otherImage.find(x => x.name === 'source')?.verdict).toBe('fail')
  })
  test('a content difference is never excused as made by the build', () => {
    const p = probeSource(facts({ containerFiles: new Map([['app.py', h(9)], ['pkg/models.py', h(2)]]) }), ctx(), true)
    expect(p.verdict).toBe('fail')
  })
  const withTests = (): Partial<VerifyFacts> => ({
    hostFiles: new Map([
      ['app.py', h(1)],
      ['tests/test_app.py', h(5)],
      ['pkg/tests/test_models.py', h(6)],
      ['keep/tests.py', h(8)]
    ]),
    containerFiles: new Map([
      ['app.py', h(1)],
      ['keep/tests.py', h(8)]
    ])
  })
  test('.dockerignore rules of the build context leave files out, relative to where source-dir lies in it', () => {
    expect(probeSource(facts(withTests()), ctx()).verdict).toBe('fail')
    const p = probeSource(facts(withTests()), ctx({ dockerignore: '# tests are not shipped\n**/tests\n', sourceInContext: 'src' }))
    expect(p.verdict).toBe('pass')
    expect(p.expected).toContain('(2 files on the host)')
    // Rules are relative to the context: "src/tests" is src/tests only.
    const narrow = probeSource(facts(withTests()), ctx({ dockerignore: 'src/tests\n', sourceInContext: 'src' }))
    expect(narrow.reason).toContain('only on host: pkg/tests/test_models.py')
    expect(narrow.reason).not.toContain('only on host: tests/test_app.py')
    // source-dir is the context itself.
    expect(probeSource(facts(withTests()), ctx({ dockerignore: 'tests\npkg/tests\n', sourceInContext: '.' })).verdict).toBe('pass')
    // An exception (!) brings a file back.
    const back = probeSource(facts(withTests()), ctx({ dockerignore: '**/tests\n!src/tests/test_app.py\n', sourceInContext: 'src' }))
    expect(back.reason).toContain('only on host: tests/test_app.py')
  })
  test('.dockerignore rules match case-sensitively, as Docker does', () => {
    expect(probeSource(facts(withTests()), ctx({ dockerignore: '**/Tests\n', sourceInContext: 'src' })).verdict).toBe('fail')
  })
  test('.dockerignore does not apply when source-dir is not inside the build context', () => {
    expect(probeSource(facts(withTests()), ctx({ dockerignore: '**/tests\n' })).verdict).toBe('fail')
  })
  test('the hint names a source-exclude pattern for the first one-sided file', () => {
    const p = probeSource(facts(withTests()), ctx())
    expect(p.reason).toContain('can be left out with source-exclude (globs, one per line, relative to source-dir), e.g. "pkg/**"')
  })
})

describe('maskingMounts: a mount hides what the image holds (issue 12, 3d)', () => {
  const hostFiles = new Map([['app.py', h(1)], ['pkg/models.py', h(3)]])
  const stale = facts({ hostFiles, containerFiles: new Map([['app.py', h(1)], ['pkg/models.py', h(2)]]), mounts: ['/app/src/pkg'] })
  test('every differing file in a mount, and the image holds the host version: that mount', () => {
    expect(maskingMounts(stale, ctx(), new Map([['app.py', h(1)], ['pkg/models.py', h(3)]]))).toEqual(['/app/src/pkg'])
    expect(maskingMounts({ ...stale, mounts: ['/app'] }, ctx(), hostFiles)).toEqual(['/app'])
  })
  test('the image holds the old version too: a rebuild may help, not masked', () => {
    expect(maskingMounts(stale, ctx(), new Map([['app.py', h(1)], ['pkg/models.py', h(2)]]))).toEqual([])
    expect(maskingMounts(stale, ctx(), new Map([['app.py', h(1)]]))).toEqual([])
  })
  test('a differing file outside every mount, or no mount at all: not masked', () => {
    expect(maskingMounts({ ...stale, mounts: ['/app/src/other'] }, ctx(), hostFiles)).toEqual([])
    expect(maskingMounts({ ...stale, mounts: [] }, ctx(), hostFiles)).toEqual([])
    expect(maskingMounts(stale, ctx({ sourceDir: '' }), hostFiles)).toEqual([])
  })
  test('files only in the container and in no mount are the build\'s own; excluded files do not count', () => {
    const withBuilt = { ...stale, containerFiles: new Map([...stale.containerFiles, ['_build.py', h(9)]]) }
    expect(maskingMounts(withBuilt, ctx(), hostFiles)).toEqual(['/app/src/pkg'])
    const otherDiff = { ...stale, hostFiles: new Map([...hostFiles, ['tests/t.py', h(7)]]) }
    expect(maskingMounts(otherDiff, ctx(), otherDiff.hostFiles)).toEqual([])
    expect(maskingMounts(otherDiff, ctx({ sourceExclude: ['tests/**'] }), otherDiff.hostFiles)).toEqual(['/app/src/pkg'])
  })
  test('parseImageFiles reads the image-files records', () => {
    const r = parseImageFiles([{ key: 'image-dir', value: 'yes' }, { key: 'if', value: `${h(3)}  ./pkg/models.py` }, { key: 'other', value: 'x' }])
    expect(r.dir).toBe('yes')
    expect([...r.files]).toEqual([['pkg/models.py', h(3)]])
  })
})

describe('bytecode', () => {
  test('skip: container not running', () => {
    expect(probeBytecode(facts({ running: false }), ctx())).toMatchObject({ verdict: 'skip', reason: 'container not running' })
  })
  test.each(['', 'none'])('skip: no python (%j)', python => {
    expect(probeBytecode(facts({ python }), ctx())).toMatchObject({ verdict: 'skip', reason: 'no python in the container' })
  })
  test('fail, verdict error: the directory is missing in the container (a configuration error)', () => {
    const p = probeBytecode(facts({ pyc: [{ status: 'missing', path: '/app/src', detail: '' }], csdHint: "the image's WORKDIR is /app" }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'error' })
    expect(p.reason).toContain("container-source-dir /app/src does not exist in the container (a configuration error): the image's WORKDIR is /app")
  })
  test('source-dir empty: skip', () => {
    expect(probeBytecode(facts({ pyc: [{ status: 'stale', path: 'a.pyc', detail: '' }] }), ctx({ sourceDir: '' }))).toMatchObject({ verdict: 'skip', reason: 'source-dir empty' })
  })
  test('a checker that did not finish is a failed probe with its error (verdict error), never a pass', () => {
    const crashed = probeBytecode(facts({ pyc: [], pycError: 'exit 1: Traceback (most recent call last): MemoryError' }), ctx())
    expect(crashed).toMatchObject({ verdict: 'fail', leadsTo: 'error' })
    expect(crashed.reason).toBe('the .pyc checker (/usr/local/bin/python3 -I -B) did not finish in the container: exit 1: Traceback (most recent call last): MemoryError')
    expect(crashed.found).toBe('the .pyc checker did not finish (0 .pyc checked before it ended)')
    // Some ok lines before the crash do not make it a pass.
    const partial = probeBytecode(facts({ pycError: 'it was cut off' }), ctx())
    expect(partial).toMatchObject({ verdict: 'fail', leadsTo: 'error' })
    expect(partial.found).toContain('1 .pyc checked before it ended')
    expect(verdictOf(runProbes(facts({ pycError: 'exit 2: Unknown option: -I' }), ctx()))).toBe('error')
  })
  test('a stale .pyc under PYTHONPYCACHEPREFIX (full path) fails like one under container-source-dir', () => {
    const pyc = [
      { status: 'ok', path: 'app/__pycache__/a.cpython-312.pyc', detail: '' },
      { status: 'stale', path: '/pycache/app/src/app/version.cpython-312.pyc', detail: "header matches the source's mtime and size, but the code differs: python would run the old code" }
    ]
    const p = probeBytecode(facts({ pyc }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'stale', found: '1 bad .pyc of 2' })
    expect(p.reason).toBe("stale: /pycache/app/src/app/version.cpython-312.pyc (header matches the source's mtime and size, but the code differs: python would run the old code)")
  })
  test('pass: no .pyc at all, or only ok ones', () => {
    expect(probeBytecode(facts({ pyc: [] }), ctx())).toMatchObject({ verdict: 'pass', found: '0 .pyc checked, all match their source' })
    expect(probeBytecode(facts(), ctx())).toMatchObject({ verdict: 'pass', found: '1 .pyc checked, all match their source' })
  })
  test.each(['stale', 'orphan'])('fail: a %s .pyc', status => {
    const p = probeBytecode(
      facts({
        pyc: [
          { status: 'ok', path: 'a/__pycache__/x.cpython-312.pyc', detail: '' },
          { status, path: 'a/__pycache__/y.cpython-312.pyc', detail: 'no source a/y.py' }
        ]
      }),
      ctx()
    )
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'stale', found: '1 bad .pyc of 2' })
    expect(p.reason).toBe(`${status}: a/__pycache__/y.cpython-312.pyc (no source a/y.py)`)
  })
  test('fail: lists at most 10, then "and N more"', () => {
    const pyc = Array.from({ length: 13 }, (_, i) => ({ status: 'orphan', path: `p${i}.pyc`, detail: '' }))
    const p = probeBytecode(facts({ pyc }), ctx())
    expect(p.reason.match(/orphan: /g)).toHaveLength(10)
    expect(p.reason).toMatch(/; and 3 more$/)
  })
})

describe('health', () => {
  test('pass and fail follow the script, a failure leads to unhealthy', () => {
    expect(probeHealth(facts())).toMatchObject({ verdict: 'pass', found: 'healthy' })
    const p = probeHealth(facts({ health: { pass: false, detail: 'container is exited (exit code 1, restarts 3)' } }))
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'unhealthy', found: 'container is exited (exit code 1, restarts 3)' })
  })
  test('no health record at all is a failure', () => {
    expect(probeHealth(facts({ health: undefined }))).toMatchObject({ verdict: 'fail', leadsTo: 'unhealthy' })
  })
})

describe('http', () => {
  test('skip without verify-url', () => {
    expect(probeHttp(facts(), ctx({ verifyUrl: '' }))).toMatchObject({ verdict: 'skip', reason: 'verify-url is not set' })
  })
  test('skip when the container is not running (health decides; no polling a stopped container)', () => {
    expect(probeHttp(facts({ running: false }), ctx())).toMatchObject({ verdict: 'skip', reason: 'container not running' })
  })
  test('skip when the probe did not run', () => {
    expect(probeHttp(facts({ http: undefined }), ctx())).toMatchObject({ verdict: 'skip' })
  })
  test('pass: 2xx with the expected text; found shows where it was', () => {
    const p = probeHttp(facts({ http: web({ attempts: 3, status: '204', snippet: 'ok rev-42', at: 3, size: 9, client: 'fetch', from: 'runner' }) }), ctx())
    expect(p.verdict).toBe('pass')
    expect(p.expected).toBe('2xx from http://127.0.0.1:8000/version with a body containing "rev-42"')
    expect(p.found).toBe('HTTP 204 after 3 attempt(s) from the runner (fetch): "rev-42" at byte 3 of 9: ok rev-42')
  })
  test('pass: 2xx and no verify-expect', () => {
    expect(probeHttp(facts({ http: web({ match: 'none', snippet: '' }) }), ctx({ verifyExpect: '' })).verdict).toBe('pass')
  })
  test('the match record decides, not the snippet: expected text past the snippet (byte 5000) passes', () => {
    // Before: the runner judged again on the first 2000 bytes and found stale.
    const p = probeHttp(facts({ http: web({ snippet: `${'x'.repeat(120)}rev-42${'y'.repeat(120)}`, at: 5000, size: 6000 }) }), ctx())
    expect(p.verdict).toBe('pass')
    expect(p.found).toContain('"rev-42" at byte 5000 of 6000: ')
    expect(p.found).toContain('rev-42')
  })
  test('match "no" is stale even if the snippet happened to contain the text', () => {
    expect(probeHttp(facts({ http: web({ match: 'no', snippet: 'rev-42' }) }), ctx())).toMatchObject({ verdict: 'fail', leadsTo: 'stale' })
  })
  test('2xx without the expected text: stale (the app reports other code)', () => {
    const p = probeHttp(facts({ http: web({ attempts: 30, match: 'no', snippet: '{"revision":"rev-41"}' }) }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'stale' })
    expect(p.reason).toContain('"rev-42"')
    expect(p.found).toContain('rev-41')
  })
  test.each(['000', '500', '404', '301', '2000', ''])('status %j (no 2xx): unhealthy', status => {
    const p = probeHttp(facts({ http: web({ attempts: 30, status }) }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'unhealthy' })
    expect(p.reason).toContain('no 2xx answer within 60 s')
  })
  test('000 is shown as no answer', () => {
    expect(probeHttp(facts({ http: web({ attempts: 2, status: '000', match: 'no', snippet: '', client: '' }) }), ctx()).found).toBe('HTTP no answer after 2 attempt(s) from the host')
  })
  test('from inside the container', () => {
    expect(probeHttp(facts({ http: web({ from: 'container', client: 'python3' }) }), ctx()).found).toMatch(/^HTTP 200 after 1 attempt\(s\) from inside the container \(python3\): /)
  })
  test('a probe that could not run (no http client) leads to error, with the error as evidence', () => {
    const p = probeHttp(facts({ http: web({ attempts: 0, status: '', error: 'no http client on the target host (looked for curl)' }) }), ctx())
    expect(p).toMatchObject({ verdict: 'fail', leadsTo: 'error', found: 'no http client on the target host (looked for curl)' })
  })
  test('one attempt, not polled further because another probe failed: no 2xx is a skip that says why, not unhealthy', () => {
    const p = probeHttp(facts({ http: web({ status: '000', match: 'no', snippet: '', pending: true, stoppedBy: 'source, bytecode' }) }), ctx())
    expect(p).toMatchObject({ verdict: 'skip', reason: 'not polled further: source, bytecode failed, which waiting cannot change' })
    expect(p.found).toBe('HTTP no answer after 1 attempt(s) from the host (curl)')
  })
  test('one attempt, not polled further: a 2xx answer lacking the text is still stale evidence', () => {
    expect(probeHttp(facts({ http: web({ match: 'no', pending: true, stoppedBy: 'source' }) }), ctx())).toMatchObject({ verdict: 'fail', leadsTo: 'stale' })
  })
  test('the body snippet is one line of at most 200 characters', () => {
    const p = probeHttp(facts({ http: web({ match: 'none', snippet: `rev-42\n\n${'y'.repeat(500)}` }) }), ctx({ verifyExpect: '' }))
    const snippet = p.found.split(': ').slice(1).join(': ')
    expect(snippet).not.toContain('\n')
    expect(snippet.length).toBe(200)
  })
  test('around a match, the text is shown with 60 characters either side', () => {
    const p = probeHttp(facts({ http: web({ snippet: `${'a'.repeat(120)}rev-42${'b'.repeat(120)}`, at: 120, size: 246 }) }), ctx())
    expect(p.found).toContain(`: "rev-42" at byte 120 of 246: ${'a'.repeat(60)}rev-42${'b'.repeat(60)}`)
  })
})

describe('failedBesidesHttp: what waiting cannot change', () => {
  test('nothing failed: empty, the http probe may poll on', () => {
    expect(failedBesidesHttp(facts({ http: web({ status: '000', pending: true }) }), ctx())).toEqual([])
  })
  test('source and image failed: both named; the http result itself is left out', () => {
    const f = facts({ containerFiles: new Map([['app.py', h(99)]]), imageId: OTHER_IMAGE, http: web({ status: '000' }) })
    expect(failedBesidesHttp(f, ctx())).toEqual(['image', 'source'])
  })
  test('health failed: named too (the verdict is unhealthy whatever http says)', () => {
    expect(failedBesidesHttp(facts({ health: { pass: false, detail: 'unhealthy' } }), ctx())).toEqual(['health'])
  })
})

describe('verdict', () => {
  const pass = (name: ProbeName): Probe => ({ name, verdict: 'pass', expected: '', found: '', reason: '' })
  const failed = (name: ProbeName, leadsTo: 'stale' | 'unhealthy' | 'error'): Probe => ({ name, verdict: 'fail', expected: '', found: '', reason: 'x', leadsTo })

  test('error (a probe that could not run) wins over unhealthy and stale', () => {
    expect(verdictOf([failed('health', 'unhealthy'), failed('source', 'error'), failed('image', 'stale'), pass('http')])).toBe('error')
    expect(verdictOf([failed('bytecode', 'error')])).toBe('error')
  })
  test('unhealthy wins over stale, in any order', () => {
    expect(verdictOf([failed('source', 'stale'), failed('health', 'unhealthy')])).toBe('unhealthy')
    expect(verdictOf([failed('health', 'unhealthy'), failed('source', 'stale')])).toBe('unhealthy')
  })
  test('error (a probe that could not run) wins over unhealthy and stale, in any order', () => {
    expect(verdictOf([failed('source', 'stale'), failed('http', 'error'), failed('health', 'unhealthy')])).toBe('error')
    expect(verdictOf([failed('http', 'error'), failed('health', 'unhealthy')])).toBe('error')
    expect(verdictOf([pass('health'), failed('http', 'error')])).toBe('error')
  })
  test('a stale failure alone is stale', () => {
    expect(verdictOf([pass('recreated'), failed('bytecode', 'stale'), pass('health')])).toBe('stale')
  })
  test('no probes: fresh', () => {
    expect(verdictOf([])).toBe('fresh')
  })

  test('a container that is not running: source and bytecode skip, health fails, unhealthy', () => {
    const f = facts({
      running: false,
      health: { pass: false, detail: 'container is exited (exit code 1, restarts 0)' },
      containerFiles: new Map(),
      pyc: [],
      http: web({ attempts: 30, status: '000', match: 'no', snippet: '' })
    })
    const probes = runProbes(f, ctx())
    expect(byName(probes, 'source')).toMatchObject({ verdict: 'skip', reason: 'container not running' })
    expect(byName(probes, 'bytecode')).toMatchObject({ verdict: 'skip', reason: 'container not running' })
    expect(byName(probes, 'health').verdict).toBe('fail')
    expect(byName(probes, 'http')).toMatchObject({ verdict: 'skip', reason: 'container not running' })
    expect(verdictOf(probes)).toBe('unhealthy')
  })

  test('stale source plus healthy app: stale; plus a 500: unhealthy', () => {
    const stale = facts({ containerFiles: new Map([['app.py', h(99)]]) })
    expect(verdictOf(runProbes(stale, ctx()))).toBe('stale')
    expect(verdictOf(runProbes({ ...stale, http: web({ attempts: 30, status: '500' }) }, ctx()))).toBe('unhealthy')
  })

  test('http 2xx lacking the expected text with everything else fine: stale', () => {
    expect(verdictOf(runProbes(facts({ http: web({ attempts: 30, match: 'no', snippet: 'old' }) }), ctx()))).toBe('stale')
  })
})

describe('parseVerifyRecords', () => {
  const rec = (key: string, value: string): RemoteRecord => ({ key, value })
  const realistic = (): RemoteRecord[] => [
    rec('health', 'pass running, restart count 0 steady for 5 s'),
    rec('container-id', NEW_CID),
    rec('image-id', BUILT),
    rec('started-at', '2026-11-28T14:00:07.123456789Z'),
    rec('running', 'true'),
    rec('restarts', '0'),
    rec('config-image', 'shop-backend'),
    rec('run-label', RUN),
    rec('revision-label', '<no value>'),
    rec('built-image-id', BUILT),
    rec('host-dir', 'yes'),
    rec('hf', `${h(1)}  ./app.py`),
    rec('hf', `${h(2)}  ./pkg/models.py`),
    rec('hf', `${h(3)}  ./dir with space/x y.py`),
    rec('hf', `\\${h(4)}  ./odd\\nname.py`),
    rec('container-dir', 'yes'),
    rec('cf', `${h(2)}  ./pkg/models.py`),
    rec('cf', `${h(1)} *./app.py`),
    rec('cf', 'sha256sum: ./locked.py: Permission denied'),
    rec('python', '/usr/local/bin/python3'),
    rec('pyc', 'ok pkg/__pycache__/models.cpython-312.pyc'),
    rec('pyc', 'stale pkg/__pycache__/old.cpython-312.pyc pyc records mtime 1 size 2, source has mtime 3 size 4'),
    rec('pyc', 'orphan gone.pyc no source gone.py'),
    rec('http-deadline', '1796020000'),
    rec('http-client', 'busybox wget'),
    rec('http-attempts', '4'),
    rec('http-status', '200'),
    rec('http-match', 'yes'),
    rec('http-at', '14'),
    rec('http-size', '42'),
    rec('http-snippet', Buffer.from('{"revision": "rev-42", "name": "grüße"}\n').toString('base64')),
    rec('unknown-key', 'ignored')
  ]

  test('pyc-error, mounts and the container-source-dir hint', () => {
    const f = parseVerifyRecords([rec('mount', '/app/src'), rec('mount', '/data'), rec('pyc-error', 'exit 1: boom'), rec('csd-hint', "the image's WORKDIR is /app")])
    expect(f.mounts).toEqual(['/app/src', '/data'])
    expect(f.pycError).toBe('exit 1: boom')
    expect(f.csdHint).toBe("the image's WORKDIR is /app")
    expect(parseVerifyRecords([]).pycError).toBeUndefined()
  })

  test('a realistic record list', () => {
    const f = parseVerifyRecords(realistic())
    expect(f.health).toEqual({ pass: true, detail: 'running, restart count 0 steady for 5 s' })
    expect(f).toMatchObject({
      containerId: NEW_CID,
      imageId: BUILT,
      startedAt: '2026-11-28T14:00:07.123456789Z',
      running: true,
      configImage: 'shop-backend',
      runLabel: RUN,
      revisionLabel: '',
      builtImageId: BUILT,
      hostDir: true,
      containerDir: 'yes',
      python: '/usr/local/bin/python3'
    })
    expect([...f.hostFiles.entries()]).toEqual([
      ['app.py', h(1)],
      ['pkg/models.py', h(2)],
      ['dir with space/x y.py', h(3)],
      ['odd\\nname.py', h(4)]
    ])
    expect([...f.containerFiles.entries()]).toEqual([
      ['pkg/models.py', h(2)],
      ['app.py', h(1)]
    ])
    expect(f.pyc).toEqual([
      { status: 'ok', path: 'pkg/__pycache__/models.cpython-312.pyc', detail: '' },
      { status: 'stale', path: 'pkg/__pycache__/old.cpython-312.pyc', detail: 'pyc records mtime 1 size 2, source has mtime 3 size 4' },
      { status: 'orphan', path: 'gone.pyc', detail: 'no source gone.py' }
    ])
    expect(f.http).toEqual({
      attempts: 4,
      status: '200',
      match: 'yes',
      at: 14,
      size: 42,
      snippet: '{"revision": "rev-42", "name": "grüße"}\n',
      client: 'busybox wget',
      from: 'host',
      pending: false,
      deadline: 1796020000
    })
  })

  test('<no value> labels are empty; real labels kept', () => {
    expect(parseVerifyRecords([rec('run-label', '<no value>'), rec('revision-label', 'rev-1')])).toMatchObject({ runLabel: '', revisionLabel: 'rev-1' })
  })

  test('health fail, not running, no dirs, no python', () => {
    const f = parseVerifyRecords([
      rec('health', 'fail container is exited (exit code 137, restarts 2)'),
      rec('running', 'false'),
      rec('host-dir', 'no'),
      rec('container-dir', 'no'),
      rec('python', 'none')
    ])
    expect(f.health).toEqual({ pass: false, detail: 'container is exited (exit code 137, restarts 2)' })
    expect(f).toMatchObject({ running: false, hostDir: false, containerDir: 'no', python: 'none' })
    expect(f.http).toBeUndefined()
  })

  test('a container-dir error keeps its message', () => {
    expect(parseVerifyRecords([rec('container-dir', 'error sh: not found')]).containerDir).toBe('error sh: not found')
  })

  test('http-error alone gives an http result', () => {
    const f = parseVerifyRecords([rec('http-error', 'no sh in the container')], 'container')
    expect(f.http).toMatchObject({ attempts: 0, status: '', snippet: '', error: 'no sh in the container', from: 'container' })
  })
  test('http-no-client: what was looked for, and what to do, by where the probe ran', () => {
    const host = parseHttpRecords([rec('http-no-client', 'curl wget python3 busybox-wget')], 'host')
    expect(host?.error).toBe(
      'no http client on the target host (looked for curl, wget, python3, busybox wget): install curl there, or set verify-from: runner (the runner fetches verify-url) or verify-from: container (the service\'s container fetches it, e.g. http://127.0.0.1:PORT/...)'
    )
    const ctr = parseHttpRecords([rec('http-no-client', 'python3 curl wget busybox-wget')], 'container')
    expect(ctr?.error).toBe('no http client in the container (looked for python3, curl, wget, busybox wget): add one to the image, or set verify-from: host (the target host fetches verify-url) or verify-from: runner')
    expect(verdictOf(runProbes(facts({ http: ctr }), ctx()))).toBe('error')
  })
  test('pending: one attempt made, time left', () => {
    expect(parseHttpRecords([rec('http-status', '000'), rec('http-pending', 'yes'), rec('http-deadline', '12')], 'host')).toMatchObject({ pending: true, deadline: 12 })
  })

  test('empty records give empty facts (and a failing, unhealthy verdict)', () => {
    const f = parseVerifyRecords([])
    expect(f.containerId).toBe('')
    expect(f.health).toBeUndefined()
    expect(verdictOf(runProbes(f, ctx()))).toBe('unhealthy')
  })

  test('realistic records through every probe', () => {
    const probes = runProbes(parseVerifyRecords(realistic()), ctx())
    const source = byName(probes, 'source')
    expect(source.verdict).toBe('fail')
    expect(source.reason).toContain('only on host: dir with space/x y.py')
    expect(source.reason).toContain('only on host: odd\\nname.py')
    expect(source.reason).not.toContain('app.py')
    expect(byName(probes, 'bytecode').found).toBe('2 bad .pyc of 3')
    expect(byName(probes, 'http').verdict).toBe('pass')
    expect(verdictOf(probes)).toBe('stale')
  })
})

describe('treeFingerprint', () => {
  test('stable regardless of insertion order', () => {
    const a = new Map([
      ['b.py', h(2)],
      ['a.py', h(1)],
      ['c/d.py', h(3)]
    ])
    const b = new Map([
      ['c/d.py', h(3)],
      ['a.py', h(1)],
      ['b.py', h(2)]
    ])
    expect(treeFingerprint(a)).toBe(treeFingerprint(b))
    expect(treeFingerprint(a)).toMatch(/^sha256:[0-9a-f]{64}$/)
  })
  test('changes with a content, a path or a file more', () => {
    const base = new Map([['a.py', h(1)]])
    const fp = treeFingerprint(base)
    expect(treeFingerprint(new Map([['a.py', h(2)]]))).not.toBe(fp)
    expect(treeFingerprint(new Map([['b.py', h(1)]]))).not.toBe(fp)
    expect(treeFingerprint(new Map([...base, ['b.py', h(1)]]))).not.toBe(fp)
    expect(treeFingerprint(new Map())).not.toBe(fp)
  })
  test('path and content cannot be shifted into each other', () => {
    expect(treeFingerprint(new Map([['ab', 'c']]))).not.toBe(treeFingerprint(new Map([['a', 'bc']])))
  })
})

describe('probesJson', () => {
  test('strings only, exactly name/verdict/expected/found/reason, no leadsTo', () => {
    const probes = runProbes(facts({ imageId: OTHER_IMAGE, http: undefined }), ctx({ verifyUrl: '' }))
    const parsed = JSON.parse(probesJson(probes)) as Record<string, unknown>[]
    expect(parsed).toHaveLength(6)
    for (const p of parsed) {
      expect(Object.keys(p)).toEqual(['name', 'verdict', 'expected', 'found', 'reason'])
      for (const v of Object.values(p)) expect(typeof v).toBe('string')
    }
    expect(parsed[1]).toMatchObject({ name: 'image', verdict: 'fail', expected: BUILT, found: OTHER_IMAGE })
    expect(parsed[5]).toEqual({ name: 'http', verdict: 'skip', expected: '', found: '', reason: 'verify-url is not set' })
    expect(probesJson(probes)).not.toContain('leadsTo')
  })
})

describe('probeSmoke (the post-deploy hook)', () => {
  const c = { postDeploy: 'python3 -m app.smoke', hookTimeout: 30 }

  test('skips without post-deploy, or when it did not run, with the reason', () => {
    expect(probeSmoke(undefined, { postDeploy: '', hookTimeout: 30 })).toEqual({ name: 'smoke', verdict: 'skip', expected: '', found: '', reason: 'post-deploy is not set' })
    expect(probeSmoke(undefined, c, 'not run: the verdict was already stale').reason).toBe('not run: the verdict was already stale')
  })

  test('exit 0 passes; the evidence holds the exit code and the last lines', () => {
    const p = probeSmoke({ exitCode: 0, timedOut: false, tail: ['smoke: ok'] }, c)
    expect(p).toMatchObject({ name: 'smoke', verdict: 'pass', expected: 'post-deploy exits 0 within 30 s', found: 'exit 0; last lines:\nsmoke: ok' })
  })

  test('a non-zero exit fails as unhealthy, with what it printed', () => {
    const p = probeSmoke({ exitCode: 3, timedOut: false, tail: ['stuck at 16 %'] }, c)
    expect(p.verdict).toBe('fail')
    expect(p.leadsTo).toBe('unhealthy')
    expect(p.reason).toBe('the smoke test (post-deploy) failed with exit 3')
    expect(p.found).toContain('stuck at 16 %')
    expect(verdictOf([p])).toBe('unhealthy')
  })

  test('a hook stopped at hook-timeout fails, even if its exit status was 0', () => {
    const p = probeSmoke({ exitCode: 0, timedOut: true, tail: [] }, c)
    expect(p.verdict).toBe('fail')
    expect(p.found).toBe('stopped after hook-timeout (30 s)')
    expect(p.reason).toMatch(/ran longer than hook-timeout \(30 s\)/)
  })
})
