// Each integration test file starts its own sshd (cheap) and checks the Docker engine, compose
// v1 and v2 and the base image first, failing with what to install when one is missing.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { IT_DIR, SSHD_FILE, baseImage } from './paths.js'
import { startSshd, stopSshd, type SshdInfo } from './sshd.js'

function checkEnvironment(): void {
  const need = (what: string, cmd: string, ...args: string[]): void => {
    try {
      execFileSync(cmd, args, { stdio: 'pipe' })
    } catch {
      throw new Error(`integration tests need ${what}; run 'bash .ci/setup.sh' as root first (it installs and starts everything)`)
    }
  }
  need('a running Docker engine', 'docker', 'info')
  need('compose v2 (docker compose)', 'docker', 'compose', 'version')
  need('compose v1 (docker-compose)', 'docker-compose', 'version')
  need(`the base image ${baseImage()} (FRESH_DEPLOY_BASE_IMAGE picks another)`, 'docker', 'image', 'inspect', baseImage())
  if (!existsSync('dist/index.js')) throw new Error('integration tests run the bundle: npm run build first')
}

let current: SshdInfo | undefined

/** Call at the top of a test file: environment check + a private sshd for this file. */
export function useEnvironment(): void {
  beforeAll(async () => {
    checkEnvironment()
    mkdirSync(IT_DIR, { recursive: true })
    current = await startSshd(mkdtempSync(join(IT_DIR, 'sshd-')))
    writeFileSync(SSHD_FILE(), JSON.stringify(current))
  })
  afterAll(() => {
    if (current) stopSshd(current)
  })
}
