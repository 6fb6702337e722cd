// The engine is shared by the action and the command line: it must not reach for the runner's
// toolkit (log groups, annotations, GITHUB_OUTPUT) or for either front end.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const ENGINE = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../src/engine')

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(m => m[1] ?? m[2])
}

describe('the engine', () => {
  const files = readdirSync(ENGINE).filter(f => f.endsWith('.ts'))

  test('has its modules', () => {
    expect(files).toEqual(expect.arrayContaining(['pipeline.ts', 'target.ts', 'transport.ts', 'reporter.ts']))
  })

  test.each(files)('%s imports neither the runner toolkit nor a front end', file => {
    const imports = importsOf(readFileSync(join(ENGINE, file), 'utf8'))
    const bad = imports.filter(i => /^@actions\//.test(i) || /actions-core/.test(i) || /^\.\.\/(action|cli)\//.test(i) || /^\.\.\//.test(i))
    expect(bad).toEqual([])
  })

  test('the import scan finds imports (so that the rule above can fail)', () => {
    expect(importsOf("import * as core from '../action/actions-core.js'\nconst x = await import('@actions/github')")).toEqual(['../action/actions-core.js', '@actions/github'])
  })
})
