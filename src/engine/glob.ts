// Glob patterns of source-include and source-exclude: "*" and "?" stay within one path segment,
// "**" spans segments ("tests/**" is everything under tests/, "**/conftest.py" any conftest.py),
// "[abc]", "[a-z]", "[!abc]" (or "[^abc]") match one character of a segment, as in find -name.

/** The character class that starts at p[start] ("["), as a regex, and where it ends; none if unclosed. */
function charClass(p: string, start: number): { re: string; end: number } | undefined {
  let i = start + 1
  let negate = false
  if (p[i] === '!' || p[i] === '^') {
    negate = true
    i++
  }
  const first = i
  // A "]" right after the opening (or after "!") is a member, as in fnmatch.
  while (i < p.length && (p[i] !== ']' || i === first)) i++
  if (i >= p.length) return undefined
  const members = p.slice(first, i).replace(/[\\\]^[]/g, '\\$&')
  // Never "/": a class matches within one segment, like "?".
  return { re: negate ? `[^/${members}]` : `(?:(?!/)[${members}])`, end: i }
}

export function globToRegExp(pattern: string): RegExp {
  let re = ''
  const p = pattern.replace(/^\.\//, '')
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '*') {
      if (p[i + 1] === '*') {
        if (p[i + 2] === '/') {
          re += '(?:.*/)?'
          i += 2
        } else {
          re += '.*'
          i += 1
        }
      } else {
        re += '[^/]*'
      }
    } else if (c === '?') {
      re += '[^/]'
    } else if (c === '[' && charClass(p, i)) {
      const cls = charClass(p, i) as { re: string; end: number }
      re += cls.re
      i = cls.end
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${re}$`)
}

export function makeExcluder(patterns: string[]): (path: string) => boolean {
  const res = patterns.map(globToRegExp)
  return path => res.some(r => r.test(path))
}

/**
 * The file-name patterns (`find -name`) that preselect, on the target, the files a set of
 * source-include globs can match: each glob's last segment, "*" where that segment spans
 * directories ("templates/**"). The runner then applies the full globs to the listed paths.
 */
export function namePatterns(patterns: string[]): string[] {
  const names = patterns.map(p => {
    const last = p.replace(/\/+$/, '').split('/').pop() ?? ''
    return last === '' || last.includes('**') ? '*' : last
  })
  return names.includes('*') ? ['*'] : [...new Set(names)]
}
