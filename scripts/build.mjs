// Bundles the action (dist/index.js) and the command line (dist/cli.js) with ncc, and copies the
// target-side shell/python scripts beside them (both bundles find them in dist/scripts).
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The command line's options are action.yml's inputs.
execFileSync('node', ['scripts/cli-inputs.mjs'], { stdio: 'inherit' })

rmSync('dist', { recursive: true, force: true })
execFileSync('npx', ['ncc', 'build', 'src/action/index.ts', '-o', 'dist', '--license', 'licenses.txt', '-q'], { stdio: 'inherit' })

// The CLI: one file (its one import() is webpackMode eager: no chunk), minified (less to parse
// at each start), with a shebang.
const out = mkdtempSync(join(tmpdir(), 'fresh-deploy-cli-'))
try {
  execFileSync('npx', ['ncc', 'build', 'src/cli/index.ts', '-o', out, '--minify', '--license', 'licenses.txt', '-q'], { stdio: 'inherit' })
  const emitted = readdirSync(out).filter(f => f !== 'index.js' && f !== 'licenses.txt' && f !== 'package.json')
  if (emitted.length > 0) throw new Error(`the CLI bundle must be one file, but ncc also emitted ${emitted.join(', ')}`)
  const code = readFileSync(join(out, 'index.js'), 'utf8')
  writeFileSync('dist/cli.js', code.startsWith('#!') ? code : `#!/usr/bin/env node\n${code}`)
  chmodSync('dist/cli.js', 0o755)
  cpSync(join(out, 'licenses.txt'), 'dist/cli-licenses.txt')
} finally {
  rmSync(out, { recursive: true, force: true })
}

mkdirSync('dist/scripts', { recursive: true })
cpSync('src/scripts', 'dist/scripts', { recursive: true })
