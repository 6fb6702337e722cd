// Builds the text sent to `bash -s` on the target: FD_* variables as single-quoted data, the
// common library, then the step's script. The scripts are real files in src/scripts (linted
// with shellcheck) and ship beside the bundle in dist/scripts.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RECORD_NONCE } from './records.js'

export type ScriptName = 'preflight' | 'lock' | 'sync' | 'snapshot' | 'purge' | 'build' | 'predeploy' | 'startfirst' | 'rebuild' | 'cutover' | 'discard' | 'verify' | 'http' | 'smoke' | 'rollback' | 'logs' | 'status' | 'image-files'

export type ScriptVars = Record<string, string | number | boolean | undefined>

// Beside the bundle (dist/scripts), or beside src/engine when run from source (tests, bench).
const here = dirname(fileURLToPath(import.meta.url))
const scriptsDir = [join(here, 'scripts'), join(here, '..', 'scripts')].find(d => existsSync(join(d, 'lib.sh'))) ?? join(here, 'scripts')
const cache = new Map<string, string>()

export function readScript(file: string): string {
  let text = cache.get(file)
  if (text === undefined) {
    text = readFileSync(join(scriptsDir, file), 'utf8')
    cache.set(file, text)
  }
  return text
}

/**
 * Quotes a value for bash as one single-quoted word. Inside single quotes nothing is special
 * but the quote itself, which is closed, escaped and reopened.
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

const NAME_RE = /^FD_[A-Z0-9_]+$/

export function preamble(vars: ScriptVars): string {
  return Object.entries(vars)
    .map(([name, value]) => {
      if (!NAME_RE.test(name)) throw new Error(`bad script variable name ${name}`)
      const text = value === undefined ? '' : String(value)
      return `${name}=${shellQuote(text)}`
    })
    .join('\n')
}

/**
 * The full text for `bash -s`: variables, library, step script. Library and script form one
 * brace group, parsed whole before anything runs; its stdin is /dev/null so that no command
 * can swallow script text from the pipe, except for the lock, which waits on that pipe.
 *
 * Several steps can go in one script (preflight then lock, snapshot then purge): one remote
 * shell start instead of two, which over ssh is a session and the user's shell start-up. Each
 * step keeps its own group and redirect; they share the shell, so a step can leave what it
 * found in variables for the next one. A "step-done NAME" result line follows each step.
 */
export function buildScript(name: ScriptName | ScriptName[], scriptVars: ScriptVars): string {
  // The result lines' nonce (records.ts): lib.sh's fd_out prints it, the transport looks for it.
  const vars = { FD_NONCE: RECORD_NONCE, ...scriptVars }
  const redirect = (n: ScriptName): string => (n === 'lock' ? '' : ' </dev/null')
  if (typeof name === 'string') {
    return `${preamble(vars)}\n{\n${readScript('lib.sh')}\n${readScript(`${name}.sh`)}\n}${redirect(name)}\n`
  }
  // After each step, a "step-done NAME" line tells the runner where the next one starts.
  // rebuild is skipped when startfirst.sh (before it) started the new container itself.
  const group = (n: ScriptName): string =>
    n === 'rebuild' ? `if [ "\${FD_SKIP_REBUILD:-}" != yes ]; then {\n${readScript(`${n}.sh`)}\n}${redirect(n)}; fi` : `{\n${readScript(`${n}.sh`)}\n}${redirect(n)}`
  const steps = name.map(n => `${group(n)}\nfd_out step-done ${n}\n`).join('')
  return `${preamble(vars)}\n{\n${readScript('lib.sh')}\n${steps}}\n`
}

/**
 * The text as sent to `bash -s`: a first line that reads the rest in one `head -c`, then
 * evaluates it. bash reads a script from a pipe one byte per read() (so that a command can
 * read the input that follows); the ~20-30 KB of a step script took ~8-13 ms that way, on
 * the target, before the first command ran. The byte count keeps head from reading past the
 * script: the lock's script reads the pipe after it. Without head, bash reads the text itself.
 */
export function forBashStdin(text: string): string {
  const bytes = Buffer.byteLength(text, 'utf8')
  return `if command -v head >/dev/null 2>&1; then FD_SCRIPT=$(head -c ${bytes}) && eval "$FD_SCRIPT"; exit; fi\n${text}`
}
