// The package's version, read from package.json beside the bundle's directory.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function version(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  // dist/cli.js → ../package.json; src/cli/version.ts → ../../package.json
  for (const p of [join(here, '..', 'package.json'), join(here, '..', '..', 'package.json')]) {
    if (existsSync(p)) return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version
  }
  return 'unknown'
}
