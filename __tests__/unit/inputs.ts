// Test helper: an input getter that behaves like core.getInput on a runner, with the defaults
// read from action.yml itself (so a changed default shows up here), plus overrides.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import type { InputGetter } from '../../src/engine/input-helper.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface ActionInput {
  default?: unknown
  required?: boolean
}

const action = YAML.parse(readFileSync(join(root, 'action.yml'), 'utf8')) as { inputs: Record<string, ActionInput> }

export const SHA = '0123456789abcdef0123456789abcdef01234567'

/** The defaults a workflow gets for the inputs it leaves out (expressions evaluated). */
export function actionDefaults(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, input] of Object.entries(action.inputs)) {
    let value = input.default === undefined ? '' : String(input.default)
    if (value === '${{ github.sha }}') value = SHA
    if (value === '${{ github.token }}') value = 'ghs_fakeTokenForUnitTests'
    out[name] = value
  }
  return out
}

export const INPUT_NAMES = Object.keys(action.inputs)

/** A getter over the defaults, a required project-dir, and the given overrides. */
export function inputs(overrides: Record<string, string> = {}): InputGetter {
  const values: Record<string, string> = { ...actionDefaults(), 'project-dir': '/srv/app', ...overrides }
  return name => {
    if (!(name in action.inputs)) throw new Error(`the code read input ${name}, which action.yml does not declare`)
    return values[name] ?? ''
  }
}

// Fake key text in the shape of an OpenSSH key (base64 of 'fake…'); it opens nothing.
export const FAKE_KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBmYWtlZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZQAAAJhmYWtlZmFr',
  'ZWZha2VmYWtlAAAAC3NzaC1lZDI1NTE5AAAAIGZha2VmYWtlZmFrZWZha2VmYWtlZmFrZW',
  '-----END OPENSSH PRIVATE KEY-----'
].join('\n')

export const KNOWN_HOSTS_LINE = 'deploy.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFr'
export const FINGERPRINT = 'SHA256:' + 'A'.repeat(20) + 'b'.repeat(20) + '+/9'
