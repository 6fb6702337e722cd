// Bundles src/ into dist/ with ncc and copies the target-side shell/python scripts beside it.
import { execFileSync } from 'node:child_process'
import { cpSync, rmSync, mkdirSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })
execFileSync('npx', ['ncc', 'build', 'src/action/index.ts', '-o', 'dist', '--license', 'licenses.txt', '-q'], { stdio: 'inherit' })
mkdirSync('dist/scripts', { recursive: true })
cpSync('src/scripts', 'dist/scripts', { recursive: true })
