// Reads the action's inputs into Settings. Pure: it takes a getter, so unit tests need no runner.
// Every check here runs before anything touches the target; an error names the input and the
// value (never the value of a secret) and says what is expected.
import type { ComposeCommand, Settings, SshSettings, Strategy, SyncMode, TerminalSsh, VerifyFrom } from './settings.js'

export type InputGetter = (name: string) => string

export class InputError extends Error {
  constructor(
    readonly input: string,
    message: string
  ) {
    super(message)
    this.name = 'InputError'
  }
}

/** Quote a value for an error message; long values are shortened, control characters shown. */
export function quoteValue(value: string): string {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value
  return JSON.stringify(shown)
}

function fail(input: string, value: string | undefined, expected: string): never {
  const shown = value === undefined ? '' : ` ${quoteValue(value)}`
  throw new InputError(input, `input ${input}:${shown} is not valid: ${expected}`)
}

export function parseBoolean(get: InputGetter, name: string): boolean {
  const raw = get(name).trim()
  if (/^true$/i.test(raw)) return true
  if (/^false$/i.test(raw)) return false
  return fail(name, raw, 'expected true or false')
}

/** why: said after the range, when the minimum is not the obvious one. */
export function parseInteger(get: InputGetter, name: string, min: number, max = Number.MAX_SAFE_INTEGER, why = ''): number {
  const raw = get(name).trim()
  const expected = `expected a whole number from ${min} to ${max}${why ? ` (${why})` : ''}`
  if (!/^\d+$/.test(raw)) return fail(name, raw, expected)
  const value = Number(raw)
  if (value < min || value > max) return fail(name, raw, expected)
  return value
}

/** A service without a healthcheck passes the health probe after running steadily this long. */
export const STEADY_SECONDS = 5

function parseEnum<T extends string>(get: InputGetter, name: string, allowed: readonly T[]): T {
  const raw = get(name).trim()
  const found = allowed.find(a => a.toLowerCase() === raw.toLowerCase())
  if (found === undefined) return fail(name, raw, `expected one of ${allowed.map(a => `"${a}"`).join(', ')}`)
  return found
}

/** Splits a list input: one item per line or comma-separated; blanks dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(/[\n,]/)
    .map(s => s.trim())
    .filter(s => s !== '')
}

/** Lines of a multi-line input; blanks and # comments dropped. */
export function parseLines(raw: string): string[] {
  return raw
    .split('\n')
    .map(s => s.trim())
    .filter(s => s !== '' && !s.startsWith('#'))
}

// A value that becomes a path argument or a host name must not be taken for an option and
// must be one line: we pass it as data, but a newline in a path is never what a user meant.
function checkNoControl(name: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) fail(name, value, 'it contains a newline or control character')
}

function checkRelativePath(name: string, value: string): void {
  checkNoControl(name, value)
  if (value.startsWith('/')) fail(name, value, 'expected a path relative to project-dir')
  if (value.split('/').includes('..')) fail(name, value, 'a path relative to project-dir must not contain ".."')
}

/** Glob patterns, one per line, relative to source-dir (see glob.ts). */
function parseGlobs(get: InputGetter, name: string): string[] {
  const patterns = parseLines(get(name))
  for (const p of patterns) {
    if (p.startsWith('/')) fail(name, p, 'patterns are relative to source-dir')
    if (p.split('/').includes('..')) fail(name, p, 'a pattern relative to source-dir must not contain ".."')
  }
  return patterns
}

/** A relative path that begins with "-" as "./-…": find, cd and their kind never take it for an option. */
export function notAnOption(path: string): string {
  return path.startsWith('-') ? `./${path}` : path
}

/**
 * Why a ref cannot be what sync: git checks out, or undefined when it can: a full commit SHA,
 * or a name by git check-ref-format's rules (a branch, a tag, refs/…, an abbreviated SHA).
 * Revision expressions (a~1, a^{tree}, a@{1}) and refspecs (a:b, +a) are no refs: git fetch
 * would take "a:b" as "fetch a into the local ref b".
 */
export function gitRefProblem(ref: string): string | undefined {
  if (/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref)) return undefined
  if (ref.startsWith('-')) return 'a ref cannot start with "-" (git would read it as an option)'
  if (ref.startsWith('+')) return 'a ref cannot start with "+" (a refspec, not a ref)'
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0020\u007f~^:?*[\\]/.exec(ref)
  if (bad) {
    const shown = bad[0] === ' ' ? 'a space' : /[\u0000-\u001f\u007f]/.test(bad[0]) ? 'a control character' : `"${bad[0]}"`
    return `a ref cannot contain ${shown} (git check-ref-format; "a:b" is a refspec and "a~1" a revision expression, not refs)`
  }
  if (ref === '@' || ref.includes('@{')) return 'a ref cannot be "@" or contain "@{" (a reflog expression, not a ref)'
  if (ref.includes('..')) return 'a ref cannot contain ".." (a range, not a ref)'
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) return 'a ref cannot begin or end with "/" or contain "//"'
  if (ref.endsWith('.')) return 'a ref cannot end with "."'
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) return 'no part of a ref can begin with "."'
    if (part.endsWith('.lock')) return 'no part of a ref can end with ".lock"'
  }
  return undefined
}

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)$/
const USER_RE = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/
// Compose itself restricts service names to this set.
const SERVICE_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/
const PROJECT_RE = /^[a-z0-9][a-z0-9_-]*$/
const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}=?$/

function parseHost(name: string, raw: string): string {
  const host = raw.trim()
  if (!HOST_RE.test(host)) fail(name, raw, 'expected a host name or IP address')
  return host.replace(/^\[(.*)\]$/, '$1')
}

function parseProxyJump(raw: string): string {
  const value = raw.trim()
  if (value === '') return ''
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(value)
  if (!m) return fail('proxy-jump', raw, 'expected [user@]host[:port]')
  if (m[1] !== undefined && !USER_RE.test(m[1])) fail('proxy-jump', raw, 'the user part is not a valid user name')
  parseHost('proxy-jump', m[2])
  if (m[3] !== undefined) {
    const port = Number(m[3])
    if (port < 1 || port > 65535) fail('proxy-jump', raw, 'the port must be from 1 to 65535')
  }
  return value
}

function parseKnownHosts(raw: string): string {
  const lines = parseLines(raw)
  for (const line of lines) {
    // <hosts> [marker] <keytype> <base64>, optionally with a comment; markers start with @.
    const fields = line.split(/\s+/)
    const offset = fields[0]?.startsWith('@') ? 1 : 0
    const type = fields[offset + 1]
    const key = fields[offset + 2]
    if (type === undefined || key === undefined || !/^(ssh-|ecdsa-|sk-)/.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(key)) {
      fail('ssh-known-hosts', line, 'expected known_hosts lines like "host ssh-ed25519 AAAA…" (ssh-keyscan HOST prints them)')
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

function parseKey(raw: string): string {
  if (raw.trim() === '') return ''
  const key = raw.replace(/\r\n/g, '\n').trim()
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z ]*PRIVATE KEY-----$/.test(key)) {
    // The value is a secret: say what is wrong without quoting it.
    throw new InputError('ssh-key', 'input ssh-key is not valid: expected a private key in OpenSSH or PEM format (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----)')
  }
  return `${key}\n`
}

/** One entry of the host input, split: [user@]host[:port], an IPv6 address bare or in brackets. */
export interface HostSpec {
  user?: string
  host: string
  port?: number
}

/** Splits one host entry; raw is the whole input (quoted in errors), entry the item. */
export function parseHostEntry(raw: string, entry: string): HostSpec {
  const at = entry.lastIndexOf('@')
  const user = at >= 0 ? entry.slice(0, at) : undefined
  const rest = at >= 0 ? entry.slice(at + 1) : entry
  if (user !== undefined && !USER_RE.test(user)) fail('host', raw, `in ${quoteValue(entry)}, the part before "@" is not a user name (letters, digits, ".", "_", "-")`)
  let host = rest
  let portText: string | undefined
  const bracketed = /^(\[[^\]]*\])(?::(.*))?$/.exec(rest)
  if (bracketed) {
    host = bracketed[1]
    portText = bracketed[2]
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    // One colon: host:port. Two or more: a bare IPv6 address (brackets give it a port).
    ;[host, portText] = rest.split(':')
  }
  if (!HOST_RE.test(host)) fail('host', raw, `${quoteValue(entry)} is not [user@]host[:port] with a host name or IP address (an IPv6 address with a port in brackets: [2001:db8::1]:2222)`)
  let port: number | undefined
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0
    if (port < 1 || port > 65535) fail('host', raw, `in ${quoteValue(entry)}, the port must be a whole number from 1 to 65535`)
  }
  return { ...(user !== undefined ? { user } : {}), host: host.replace(/^\[(.*)\]$/, '$1'), ...(port !== undefined ? { port } : {}) }
}

/**
 * The host input's entries: one per line or comma-separated. Blank lines are dropped (a YAML
 * block ends with one); an empty item between commas is refused, as is a host listed twice
 * (its lock would be taken twice by one run).
 */
export function parseHostList(raw: string): { label: string; spec: HostSpec }[] {
  const entries: string[] = []
  for (const line of raw.split('\n')) {
    if (line.trim() === '') continue
    const items = line.split(',').map(s => s.trim())
    if (items.some(s => s === '')) fail('host', raw, 'an entry is empty (two commas in a row, or a comma at the start or end of a line); list one host per line or separate hosts with single commas')
    entries.push(...items)
  }
  return entries.map(label => ({ label, spec: parseHostEntry(raw, label) }))
}

function parseSsh(get: InputGetter, connectTimeout: number, terminal?: TerminalSsh): { label: string; ssh: SshSettings }[] | undefined {
  const rawHost = get('host')
  if (rawHost.trim() === '') return undefined
  const list = parseHostList(rawHost)
  const port = parseInteger(get, 'port', 1, 65535)
  const username = get('username').trim()
  if (username !== '' && !USER_RE.test(username)) fail('username', username, 'expected a user name (letters, digits, ".", "_", "-")')
  const seen = new Map<string, string>()
  for (const { label, spec } of list) {
    const key = `${spec.user ?? username}@${spec.host.toLowerCase()}:${spec.port ?? port}`
    const first = seen.get(key)
    if (first !== undefined) fail('host', rawHost, `${quoteValue(label)} is listed twice (it is the same login as ${quoteValue(first)}); list each host once`)
    seen.set(key, label)
  }
  const host = list[0].spec.host
  const key = terminal ? '' : parseKey(get('ssh-key'))
  if (key === '' && !terminal) {
    throw new InputError('ssh-key', `input ssh-key: empty, but host ${quoteValue(host)} is set; give the private key of the deploy user (a secret), or leave host empty to deploy on this runner`)
  }
  const strict = parseBoolean(get, 'ssh-strict')
  const knownHosts = parseKnownHosts(get('ssh-known-hosts'))
  const fingerprintRaw = get('ssh-host-fingerprint').trim()
  if (fingerprintRaw !== '' && !FINGERPRINT_RE.test(fingerprintRaw)) {
    fail('ssh-host-fingerprint', fingerprintRaw, 'expected SHA256:<43 base64 characters> as printed by ssh-keygen -lf')
  }
  const hostFingerprint = fingerprintRaw.replace(/=$/, '')
  if (hostFingerprint !== '' && list.length > 1) {
    fail('ssh-host-fingerprint', hostFingerprint, `a fingerprint pins one host key, but host lists ${list.length} hosts; give ssh-known-hosts lines for every host instead (ssh-keyscan -p PORT HOST prints them)`)
  }
  const proxyJump = parseProxyJump(get('proxy-jump'))
  if (!strict && (knownHosts !== '' || hostFingerprint !== '')) {
    fail('ssh-strict', get('ssh-strict').trim(), 'ssh-strict: false conflicts with ssh-known-hosts/ssh-host-fingerprint; pin the host key or disable checking, not both')
  }
  if (knownHosts !== '' && hostFingerprint !== '') {
    fail('ssh-host-fingerprint', hostFingerprint, 'give either ssh-known-hosts or ssh-host-fingerprint, not both')
  }
  if (hostFingerprint !== '' && proxyJump !== '') {
    fail('ssh-host-fingerprint', hostFingerprint, 'a fingerprint cannot be checked through proxy-jump (ssh-keyscan cannot use a jump host); give ssh-known-hosts lines for the host and the jump host instead')
  }
  return list.map(({ label, spec }) => {
    // An entry's own port counts as given (the command line: ~/.ssh/config's Port does not apply).
    const own = terminal && spec.port !== undefined ? { terminal: { ...terminal, portSet: true } } : terminal ? { terminal } : {}
    const ssh: SshSettings = { host: spec.host, port: spec.port ?? port, username: spec.user ?? username, key, knownHosts, hostFingerprint, strict, proxyJump, connectTimeout, ...own }
    return { label, ssh }
  })
}

export interface SettingsOptions {
  /** The command line: no ssh-key input; ssh follows the user's own OpenSSH configuration. */
  terminal?: TerminalSsh
}

export function getSettings(get: InputGetter, options: SettingsOptions = {}): Settings {
  const connectTimeout = parseInteger(get, 'connect-timeout', 1)
  const hosts = parseSsh(get, connectTimeout, options.terminal)
  const ssh = hosts?.[0].ssh
  const parallel = parseInteger(get, 'parallel', 1)

  const projectDir = get('project-dir').trim()
  if (projectDir === '') fail('project-dir', projectDir, 'a directory on the target is required')
  checkNoControl('project-dir', projectDir)

  const composeFiles = parseList(get('compose-files'))
  for (const f of composeFiles) checkRelativePath('compose-files', f)

  const composeProjectName = get('compose-project-name').trim()
  if (composeProjectName !== '' && !PROJECT_RE.test(composeProjectName)) {
    fail('compose-project-name', composeProjectName, 'expected lowercase letters, digits, "_" and "-", starting with a letter or digit')
  }
  const composeCommand = parseEnum<ComposeCommand>(get, 'compose-command', ['auto', 'docker compose', 'docker-compose'])

  const service = get('service').trim()
  if (!SERVICE_RE.test(service)) fail('service', service, 'expected a compose service name (letters, digits, ".", "_", "-")')

  const sync = parseEnum<SyncMode>(get, 'sync', ['none', 'git'])
  const syncDiscardChanges = parseBoolean(get, 'sync-discard-changes')
  const ref = get('ref').trim()
  checkNoControl('ref', ref)
  if (sync === 'git') {
    if (ref === '') fail('ref', ref, 'sync: git needs a ref to check out')
    const problem = gitRefProblem(ref)
    if (problem) fail('ref', ref, `with sync: git, expected a branch, tag or commit SHA: ${problem}`)
  }

  // Empty: the source and bytecode probes are off, on purpose (they skip with "source-dir empty").
  const sourceDir = get('source-dir').trim()
  if (sourceDir !== '') checkRelativePath('source-dir', sourceDir)
  const containerSourceDir = get('container-source-dir').trim()
  checkNoControl('container-source-dir', containerSourceDir)
  if (!containerSourceDir.startsWith('/')) fail('container-source-dir', containerSourceDir, 'expected an absolute path inside the container')
  const sourceInclude = parseGlobs(get, 'source-include')
  if (sourceInclude.length === 0) fail('source-include', get('source-include'), 'expected at least one glob pattern (the default is **/*.py); to turn the source probe off, set source-dir to \'\'')
  const sourceExclude = parseGlobs(get, 'source-exclude')

  const stopRaw = get('stop-timeout').trim()
  const stopTimeout = stopRaw === '' ? undefined : parseInteger(get, 'stop-timeout', 1)

  const verifyUrl = get('verify-url').trim()
  if (verifyUrl !== '') {
    let url: URL | undefined
    try {
      url = new URL(verifyUrl)
    } catch {
      url = undefined
    }
    if (!url || !/^https?:$/.test(url.protocol) || /[\s'"`\\]/.test(verifyUrl)) fail('verify-url', verifyUrl, 'expected an http:// or https:// URL')
  }

  const verifyExpect = get('verify-expect')
  checkNoControl('verify-expect', verifyExpect)

  // Hooks are shell text run by sh -c in a container: any text, passed as data. A NUL byte cannot
  // travel in an argument.
  const preDeploy = get('pre-deploy').replace(/\r\n/g, '\n').trim()
  const postDeploy = get('post-deploy').replace(/\r\n/g, '\n').trim()
  for (const [name, value] of [['pre-deploy', preDeploy], ['post-deploy', postDeploy]]) {
    if (value.includes('\u0000')) fail(name, value, 'a hook command cannot contain a NUL byte')
  }

  const environment = get('environment').trim()
  const environmentUrl = get('environment-url').trim()

  return {
    ssh,
    hosts,
    parallel,
    connectTimeout,
    projectDir,
    composeFiles,
    composeProjectName,
    composeCommand,
    service,
    sync,
    syncDiscardChanges,
    ref,
    purge: parseBoolean(get, 'purge'),
    sourceDir: sourceDir === '' ? '' : notAnOption(sourceDir.replace(/\/+$/, '') || '.'),
    containerSourceDir: containerSourceDir.replace(/\/+$/, '') || '/',
    sourceInclude,
    sourceExclude,
    buildNoCache: parseBoolean(get, 'build-no-cache'),
    buildPull: parseBoolean(get, 'build-pull'),
    renewAnonVolumes: parseBoolean(get, 'renew-anon-volumes'),
    stopTimeout,
    // Below the steady window, a service without a healthcheck could never pass: refused here
    // rather than rolled back after the deploy.
    healthTimeout: parseInteger(get, 'health-timeout', STEADY_SECONDS, Number.MAX_SAFE_INTEGER, `a service without a healthcheck must keep running for ${STEADY_SECONDS} s to pass the health probe`),
    verify: parseBoolean(get, 'verify'),
    verifyUrl,
    verifyFrom: parseEnum<VerifyFrom>(get, 'verify-from', ['host', 'runner', 'container']),
    verifyExpect,
    verifyTimeout: parseInteger(get, 'verify-timeout', 1),
    verifyInterval: parseInteger(get, 'verify-interval', 1),
    staleRetries: parseInteger(get, 'stale-retries', 0),
    strategy: parseEnum<Strategy>(get, 'strategy', ['recreate', 'start-first']),
    preDeploy,
    postDeploy,
    hookTimeout: parseInteger(get, 'hook-timeout', 1),
    rollback: parseBoolean(get, 'rollback'),
    lockTimeout: parseInteger(get, 'lock-timeout', 1),
    dryRun: parseBoolean(get, 'dry-run'),
    githubToken: get('github-token'),
    environment,
    environmentUrl
  }
}
