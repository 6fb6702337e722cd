// source-include / source-exclude globs: "*" and "?" stay inside one path segment, "**" spans
// segments, [...] is a character class of one segment character, and every other character is
// literal (regex metacharacters included).
import { globToRegExp, makeExcluder, namePatterns } from '../../src/engine/glob.js'

const matches = (pattern: string, path: string): boolean => globToRegExp(pattern).test(path)

describe('globToRegExp', () => {
  test.each([
    ['tests/**', 'tests/test_app.py', true],
    ['tests/**', 'tests/unit/deep/test_x.py', true],
    ['tests/**', 'tests.py', false],
    ['tests/**', 'pkg/tests/test_x.py', false],
    ['tests/**', 'mytests/test_x.py', false],
    ['./tests/**', 'tests/a.py', true],
    ['**/conftest.py', 'conftest.py', true],
    ['**/conftest.py', 'tests/conftest.py', true],
    ['**/conftest.py', 'a/b/c/conftest.py', true],
    ['**/conftest.py', 'myconftest.py', false],
    ['**/conftest.py', 'tests/myconftest.py', false],
    ['**/conftest.py', 'conftest.pyc', false],
    ['pkg/**/test_*.py', 'pkg/test_a.py', true],
    ['pkg/**/test_*.py', 'pkg/x/y/test_a.py', true],
    ['pkg/**/test_*.py', 'other/pkg/test_a.py', false],
    ['**', 'anything/at/all.py', true],
    ['*.py', 'app.py', true],
    ['*.py', '.hidden.py', true],
    ['*.py', 'pkg/app.py', false],
    ['*.py', 'app.pyc', false],
    ['*.py', 'apppy', false],
    ['pkg/*.py', 'pkg/a.py', true],
    ['pkg/*.py', 'pkg/sub/a.py', false],
    ['*/settings.py', 'conf/settings.py', true],
    ['*/settings.py', 'a/conf/settings.py', false],
    ['test_?.py', 'test_1.py', true],
    ['test_?.py', 'test_12.py', false],
    ['test_?.py', 'test_.py', false],
    ['a?b.py', 'a/b.py', false],
    ['a.py', 'axpy', false],
    ['a+b.py', 'a+b.py', true],
    ['a+b.py', 'aab.py', false],
    ['(x)|y.py', '(x)|y.py', true],
    ['(x)|y.py', 'y.py', false],
    ['[abc].py', 'a.py', true],
    ['[abc].py', 'd.py', false],
    ['[abc].py', '[abc].py', false],
    ['[a-c]x.py', 'bx.py', true],
    ['[a-c]x.py', 'dx.py', false],
    ['[!a-c]x.py', 'dx.py', true],
    ['[!a-c]x.py', 'ax.py', false],
    ['[^a-c]x.py', 'dx.py', true],
    ['a[!x]b.py', 'a/b.py', false],
    ['a[/]b.py', 'a/b.py', false],
    ['[]]x.py', ']x.py', true],
    ['[!]]x.py', 'ax.py', true],
    ['[!]]x.py', ']x.py', false],
    ['x[.py', 'x[.py', true],
    ['**/*.[jt]s', 'web/app.ts', true],
    ['**/*.[jt]s', 'web/app.cs', false],
    ['[\\]x', '\\x', true],
    ['$x^{2}.py', '$x^{2}.py', true],
    ['back\\slash.py', 'back\\slash.py', true],
    ['back\\slash.py', 'backslash.py', false],
    ['v1.2/*.py', 'v1.2/a.py', true],
    ['v1.2/*.py', 'v1x2/a.py', false]
  ])('%j against %j → %p', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected)
  })

  test('a pattern is anchored at both ends', () => {
    expect(matches('app.py', 'pkg/app.py')).toBe(false)
    expect(matches('app.py', 'app.py.bak')).toBe(false)
  })

  test('an invalid regex never results from odd names', () => {
    for (const p of ['(', ')', '[', ']', '{', '}', '\\', '+', '^', '$', '|', '.']) {
      expect(() => globToRegExp(`x${p}y.py`)).not.toThrow()
      expect(matches(`x${p}y.py`, `x${p}y.py`)).toBe(true)
    }
  })
})

describe('makeExcluder', () => {
  test('any pattern excludes; none excludes nothing', () => {
    const ex = makeExcluder(['tests/**', '**/conftest.py'])
    expect(ex('tests/test_a.py')).toBe(true)
    expect(ex('pkg/conftest.py')).toBe(true)
    expect(ex('pkg/app.py')).toBe(false)
    expect(makeExcluder([])('tests/test_a.py')).toBe(false)
  })
})

describe('namePatterns', () => {
  test.each([
    [['**/*.py'], ['*.py']],
    [['**/*.py', '**/*.html', 'templates/*.html'], ['*.py', '*.html']],
    [['templates/**'], ['*']],
    [['**/*.py', 'static/**/'], ['*']],
    [['Makefile', 'conf/settings.[ch]fg'], ['Makefile', 'settings.[ch]fg']],
    [['**'], ['*']]
  ])('%j → %j', (patterns, expected) => {
    expect(namePatterns(patterns)).toEqual(expected)
  })
})
