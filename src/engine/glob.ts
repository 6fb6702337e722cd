// Glob patterns of source-exclude: "*" and "?" stay within one path segment, "**" spans
// segments ("tests/**" is everything under tests/, "**/conftest.py" any conftest.py).

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
