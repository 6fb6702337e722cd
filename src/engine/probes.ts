// The six probes and the verdict, as pure functions of the facts that verify.sh (and the
// runner-side http probe) collected. No I/O here, so every rule is unit-tested.
import dockerignore from '@balena/dockerignore'
import { createHash } from 'node:crypto'
import { globToRegExp, makeExcluder } from './glob.js'
import type { RemoteRecord } from './transport.js'

// A CommonJS module whose module.exports is the factory: that is the default import at run
// time (node, and ncc's bundle), while its typings declare it as exports.default.
const ignore = dockerignore as unknown as typeof dockerignore.default

export type ProbeName = 'recreated' | 'image' | 'source' | 'bytecode' | 'health' | 'http' | 'smoke'
export type ProbeVerdict = 'pass' | 'fail' | 'skip'
export type Verdict = 'fresh' | 'stale' | 'unhealthy' | 'error' | 'dry-run' | 'unverified'

export type LeadsTo = 'stale' | 'unhealthy' | 'error'

export interface Probe {
  name: ProbeName
  verdict: ProbeVerdict
  expected: string
  found: string
  reason: string
  /** For a failed probe: which verdict it leads to ('error': the probe could not run, e.g. a
   * wrong configuration). Not part of the output. */
  leadsTo?: LeadsTo
}

export type HttpFrom = 'host' | 'runner' | 'container'

/**
 * The http probe's outcome, judged once, where the body was (the target, the container or the
 * runner): whether the body holds verify-expect, and a snippet to show.
 */
export interface HttpResult {
  attempts: number
  /** The last answer's status ("000": no answer). */
  status: string
  /** yes/no: the body holds verify-expect or not; none: no verify-expect. */
  match: 'yes' | 'no' | 'none'
  /** Around the match (it starts at byte `at` of the body's `size`), else the body's start. */
  snippet: string
  at: number
  size: number
  /** The client that fetched (curl, wget, python3, busybox wget, fetch). */
  client: string
  /** The probe could not run (no http client, no shell in the container): verdict error. */
  error?: string
  from: HttpFrom
  /** One attempt only, not passed, time left: the runner decides whether to poll further. */
  pending: boolean
  /** Target clock (epoch s) when verify-timeout ends, for the rest of the polling. */
  deadline: number
  /** Set when the polling stopped early: the probes that failed, which waiting cannot change. */
  stoppedBy?: string
}

export interface VerifyFacts {
  health?: { pass: boolean; detail: string }
  containerId: string
  imageId: string
  startedAt: string
  running: boolean
  configImage: string
  runLabel: string
  revisionLabel: string
  builtImageId: string
  hostDir: boolean
  hostFiles: Map<string, string>
  containerDir: string
  containerFiles: Map<string, string>
  python: string
  pyc: { status: string; path: string; detail: string }[]
  /** The .pyc checker did not finish (crashed, cut off): how it ended, with its output. */
  pycError?: string
  /** The container's mount destinations (volumes, bind mounts, tmpfs). */
  mounts: string[]
  /** Where the source may be in the container, when container-source-dir is missing there. */
  csdHint: string
  http?: HttpResult
}

export interface ProbeContext {
  /** The container recorded by the snapshot (empty on a first deploy). */
  previousContainerId: string
  /** Target clock (epoch seconds) when the deploy started. */
  deployStartedAt: number
  runId: string
  hasBuild: boolean
  /** '' turns the source and bytecode probes off. */
  sourceDir: string
  containerSourceDir: string
  sourceInclude: string[]
  sourceExclude: string[]
  /** The build context's .dockerignore rules, when source-dir lies inside the context. */
  dockerignore?: string
  /** Where source-dir lies in the build context ("." for the context itself); undefined: outside it. */
  sourceInContext?: string
  verifyUrl: string
  verifyExpect: string
  verifyTimeout: number
}

/** "./a/b.py" → "a/b.py"; sha256sum escapes odd names with a leading backslash. */
function normalizePath(path: string): string {
  return path.replace(/^\\/, '').replace(/^\.\//, '')
}

function parseFingerprintLine(value: string, into: Map<string, string>): void {
  const m = /^\\?([0-9a-f]{64}) [ *](.*)$/.exec(value)
  if (m) into.set(normalizePath(m[2]), m[1])
}

const CLIENT_NAMES: Record<string, string> = { 'busybox-wget': 'busybox wget' }

/** The http-* result lines of verify.sh / http.sh (see http-poll.sh). */
export function parseHttpRecords(records: RemoteRecord[], from: HttpFrom): HttpResult | undefined {
  const h: HttpResult = { attempts: 0, status: '', match: 'none', snippet: '', at: 0, size: 0, client: '', from, pending: false, deadline: 0 }
  let seen = false
  for (const { key, value } of records) {
    if (!key.startsWith('http-')) continue
    seen = true
    switch (key) {
      case 'http-attempts': h.attempts = Number(value) || 0; break
      case 'http-status': h.status = value; break
      case 'http-match': h.match = value === 'yes' ? 'yes' : value === 'no' ? 'no' : 'none'; break
      case 'http-snippet': h.snippet = Buffer.from(value, 'base64').toString('utf8'); break
      case 'http-at': h.at = Number(value) || 0; break
      case 'http-size': h.size = Number(value) || 0; break
      case 'http-client': h.client = value; break
      case 'http-pending': h.pending = value === 'yes'; break
      case 'http-deadline': h.deadline = Number(value) || 0; break
      case 'http-error': h.error = value; break
      case 'http-no-client': {
        const looked = value.split(/\s+/).filter(Boolean).map(c => CLIENT_NAMES[c] ?? c).join(', ')
        h.error =
          from === 'container'
            ? `no http client in the container (looked for ${looked}): add one to the image, or set verify-from: host (the target host fetches verify-url) or verify-from: runner`
            : `no http client on the target host (looked for ${looked}): install curl there, or set verify-from: runner (the runner fetches verify-url) or verify-from: container (the service's container fetches it, e.g. http://127.0.0.1:PORT/...)`
        break
      }
    }
  }
  return seen ? h : undefined
}

export function parseVerifyRecords(records: RemoteRecord[], from: HttpFrom = 'host'): VerifyFacts {
  const facts: VerifyFacts = {
    containerId: '',
    imageId: '',
    startedAt: '',
    running: false,
    configImage: '',
    runLabel: '',
    revisionLabel: '',
    builtImageId: '',
    hostDir: false,
    hostFiles: new Map(),
    containerDir: '',
    containerFiles: new Map(),
    python: '',
    pyc: [],
    mounts: [],
    csdHint: ''
  }
  for (const { key, value } of records) {
    switch (key) {
      case 'health': {
        const [verdict, ...rest] = value.split(' ')
        facts.health = { pass: verdict === 'pass', detail: rest.join(' ') }
        break
      }
      case 'container-id': facts.containerId = value; break
      case 'image-id': facts.imageId = value; break
      case 'started-at': facts.startedAt = value; break
      case 'running': facts.running = value === 'true'; break
      case 'config-image': facts.configImage = value; break
      case 'run-label': facts.runLabel = value === '<no value>' ? '' : value; break
      case 'revision-label': facts.revisionLabel = value === '<no value>' ? '' : value; break
      case 'built-image-id': facts.builtImageId = value; break
      case 'host-dir': facts.hostDir = value === 'yes'; break
      case 'hf': parseFingerprintLine(value, facts.hostFiles); break
      case 'container-dir': facts.containerDir = value; break
      case 'cf': parseFingerprintLine(value, facts.containerFiles); break
      case 'python': facts.python = value; break
      case 'pyc': {
        const [status, path, ...detail] = value.split(' ')
        if (status && path) facts.pyc.push({ status, path, detail: detail.join(' ') })
        break
      }
      case 'pyc-error': facts.pycError = value; break
      case 'mount': facts.mounts.push(value); break
      case 'csd-hint': facts.csdHint = value; break
    }
  }
  facts.http = parseHttpRecords(records, from)
  return facts
}

/** sha256 over the sorted "path\0sha256\n" entries: one value for a whole tree. */
export function treeFingerprint(files: Map<string, string>): string {
  const h = createHash('sha256')
  for (const path of [...files.keys()].sort()) h.update(`${path}\0${files.get(path)}\n`)
  return `sha256:${h.digest('hex')}`
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12)

function pass(name: ProbeName, expected: string, found: string, reason = ''): Probe {
  return { name, verdict: 'pass', expected, found, reason }
}
function skip(name: ProbeName, reason: string): Probe {
  return { name, verdict: 'skip', expected: '', found: '', reason }
}
function fail(name: ProbeName, expected: string, found: string, reason: string, leadsTo: LeadsTo): Probe {
  return { name, verdict: 'fail', expected, found, reason, leadsTo }
}

export function probeRecreated(f: VerifyFacts, c: ProbeContext): Probe {
  if (!f.containerId) return fail('recreated', 'a new container', 'no container', 'the service has no container after the rebuild', 'stale')
  const started = Date.parse(f.startedAt) / 1000
  const expected = `a container other than ${c.previousContainerId ? short(c.previousContainerId) : '(none)'}, started after ${new Date(c.deployStartedAt * 1000).toISOString()}, label io.fresh-deploy.run=${c.runId}`
  const found = `container ${short(f.containerId)}, started ${f.startedAt}, label io.fresh-deploy.run=${f.runLabel || '(none)'}`
  if (c.previousContainerId && f.containerId === c.previousContainerId) {
    return fail('recreated', expected, found, 'the container was not recreated: it is the one that ran before the deploy', 'stale')
  }
  // Docker records StartedAt with nanoseconds; the deploy start comes from the same clock.
  if (!(started >= c.deployStartedAt)) {
    return fail('recreated', expected, found, 'the container started before this deploy began', 'stale')
  }
  if (f.runLabel !== c.runId) {
    return fail('recreated', expected, found, 'the container does not carry this run\'s label: it was not created by this deploy', 'stale')
  }
  return pass('recreated', expected, found)
}

export function probeImage(f: VerifyFacts, c: ProbeContext): Probe {
  if (!c.hasBuild) return skip('image', 'the service has no build: section (it runs a prebuilt image)')
  if (!f.builtImageId) return fail('image', `the image tagged ${f.configImage}`, f.imageId, `no image is tagged ${f.configImage} after the build`, 'stale')
  if (f.imageId !== f.builtImageId) {
    return fail('image', f.builtImageId, f.imageId, `the container runs image ${short(f.imageId)}, not ${short(f.builtImageId)} that this deploy built as ${f.configImage}`, 'stale')
  }
  return pass('image', f.builtImageId, f.imageId)
}

/** Whether a path in the build context is left out of it by the .dockerignore rules. */
function dockerignored(c: ProbeContext): (path: string) => boolean {
  if (c.dockerignore === undefined || c.sourceInContext === undefined) return () => false
  // Case-sensitive, as Docker matches (the library's default is not).
  const ig = ignore({ ignorecase: false }).add(c.dockerignore)
  const prefix = c.sourceInContext === '.' ? '' : `${c.sourceInContext.replace(/\/+$/, '')}/`
  return path => ig.ignores(`${prefix}${path}`)
}

/** A source-exclude pattern for a path: its top directory's tree, or the file itself. */
function excludeExample(path: string): string {
  const slash = path.indexOf('/')
  return slash > 0 ? `${path.slice(0, slash)}/**` : path
}

function containerSourceDirMissing(name: ProbeName, f: VerifyFacts, c: ProbeContext): Probe {
  return fail(name, `directory ${c.containerSourceDir} in the container`, 'no such directory', `container-source-dir ${c.containerSourceDir} does not exist in the container (a configuration error)${f.csdHint ? `: ${f.csdHint}` : ''}`, 'error')
}

/** Whether the source probe compares a path (relative to source-dir): source-include, minus source-exclude and .dockerignore. */
function comparedBy(c: ProbeContext): (path: string) => boolean {
  const included = c.sourceInclude.map(globToRegExp)
  const excluded = makeExcluder(c.sourceExclude)
  const ignored = dockerignored(c)
  return p => included.some(r => r.test(p)) && !excluded(p) && !ignored(p)
}

/** The container's mount that holds path (relative to container-source-dir), if any. */
function mountOf(f: VerifyFacts, c: ProbeContext, path: string): string | undefined {
  const abs = `${c.containerSourceDir.replace(/\/+$/, '')}/${path}`
  return f.mounts.find(m => {
    const dest = m.replace(/\/+$/, '')
    return dest === '' || abs === dest || abs.startsWith(`${dest}/`)
  })
}

/**
 * builtHere: the service has build: and the image probe passed, so the container's own layers
 * are this deploy's build: a file only in the container that lies in none of its mounts was made
 * by that build (a generated _version.py), not left over.
 */
export function probeSource(f: VerifyFacts, c: ProbeContext, builtHere = false): Probe {
  if (!c.sourceDir) return skip('source', 'source-dir empty')
  if (!f.running) return skip('source', 'container not running')
  if (!f.hostDir) return fail('source', `directory ${c.sourceDir} on the host`, 'no such directory', `source-dir ${c.sourceDir} does not exist on the target`, 'error')
  if (f.containerDir === 'no') return containerSourceDirMissing('source', f, c)
  if (f.containerDir.startsWith('error')) return skip('source', `could not list ${c.containerSourceDir} in the container: ${f.containerDir.slice(6)}`)
  const included = c.sourceInclude.map(globToRegExp)
  const compared = comparedBy(c)
  const host = new Map([...f.hostFiles].filter(([p]) => compared(p)))
  const ctr = new Map([...f.containerFiles].filter(([p]) => compared(p)))
  const notes: string[] = []
  const unmatched = c.sourceInclude.filter((_, i) => ![...f.hostFiles.keys()].some(p => included[i].test(p)))
  const warnings = unmatched.map(p => `warning: source-include pattern ${JSON.stringify(p)} matches no file under ${c.sourceDir} on the host`)

  const inMount = (p: string): boolean => mountOf(f, c, p) !== undefined
  const madeByBuild: string[] = []
  const diffs: string[] = []
  const oneSided: string[] = []
  const paths = [...new Set([...host.keys(), ...ctr.keys()])].sort()
  let count = 0
  for (const p of paths) {
    const h = host.get(p)
    const k = ctr.get(p)
    if (h === k) continue
    if (h === undefined && builtHere && !inMount(p)) {
      madeByBuild.push(p)
      ctr.delete(p)
      continue
    }
    count++
    if (h === undefined || k === undefined) oneSided.push(p)
    if (diffs.length < 10) diffs.push(h === undefined ? `only in container: ${p}` : k === undefined ? `only on host: ${p}` : `content differs: ${p}`)
  }
  if (madeByBuild.length > 0) {
    const listed = madeByBuild.slice(0, 10).join(', ')
    notes.push(`made by the build (only in the container, in the image's own layers, not in a mount): ${listed}${madeByBuild.length > 10 ? ` and ${madeByBuild.length - 10} more` : ''}`)
  }
  const expected = `${treeFingerprint(host)} (${host.size} files on the host)`
  const found = `${treeFingerprint(ctr)} (${ctr.size} files in the container${madeByBuild.length ? `, and ${madeByBuild.length} made by the build` : ''})`
  if (count === 0) return pass('source', expected, found, [...notes, ...warnings].join('; '))
  const more = count > diffs.length ? `; and ${count - diffs.length} more` : ''
  const hint = oneSided.length
    ? `. Files deliberately on one side only (not shipped in the image, or made in the container) can be left out with source-exclude (globs, one per line, relative to source-dir), e.g. ${JSON.stringify(excludeExample(oneSided[0]))}`
    : ''
  const tail = [...notes, ...warnings].map(n => `; ${n}`).join('')
  return fail('source', expected, found, `${count} file(s) differ between ${c.sourceDir} on the host and ${c.containerSourceDir} in the container: ${diffs.join('; ')}${more}${hint}${tail}`, 'stale')
}

/**
 * The mounts that mask the image's files: every file where the container differs from the host
 * lies in one of the container's mounts, and the image itself (imageFiles, listed without any
 * mount) holds the host's version. Then no rebuild can help (a volume or bind mount outlives it):
 * the heal says so instead of rebuilding. Empty: not that case. Files only in the container and
 * in none of its mounts are the build's own (see probeSource) and do not count.
 */
export function maskingMounts(f: VerifyFacts, c: ProbeContext, imageFiles: Map<string, string>): string[] {
  if (!c.sourceDir || f.mounts.length === 0) return []
  const compared = comparedBy(c)
  const masks = new Set<string>()
  const paths = new Set([...f.hostFiles.keys(), ...f.containerFiles.keys()].filter(compared))
  for (const p of paths) {
    const h = f.hostFiles.get(p)
    if (h === f.containerFiles.get(p)) continue
    const mount = mountOf(f, c, p)
    if (mount === undefined) {
      if (h === undefined) continue
      return []
    }
    if (imageFiles.get(p) !== h) return []
    masks.add(mount)
  }
  return [...masks]
}

/** The image-files script's records: whether the image has container-source-dir, and its files. */
export function parseImageFiles(records: RemoteRecord[]): { dir: string; files: Map<string, string> } {
  const files = new Map<string, string>()
  let dir = ''
  for (const { key, value } of records) {
    if (key === 'image-dir') dir = value
    else if (key === 'if') parseFingerprintLine(value, files)
  }
  return { dir, files }
}

export function probeBytecode(f: VerifyFacts, c: ProbeContext): Probe {
  if (!c.sourceDir) return skip('bytecode', 'source-dir empty')
  if (!f.running) return skip('bytecode', 'container not running')
  if (!f.python || f.python === 'none') return skip('bytecode', 'no python in the container')
  if (f.pyc.some(p => p.status === 'missing')) return containerSourceDirMissing('bytecode', f, c)
  const expected = 'no stale or orphan .pyc'
  if (f.pycError !== undefined) {
    // A checker that did not finish checked nothing for sure: never a pass.
    return fail('bytecode', expected, `the .pyc checker did not finish (${f.pyc.length} .pyc checked before it ended)`, `the .pyc checker (${f.python} -I -B) did not finish in the container: ${f.pycError}`, 'error')
  }
  const bad = f.pyc.filter(p => p.status === 'stale' || p.status === 'orphan')
  const okCount = f.pyc.filter(p => p.status === 'ok').length
  if (bad.length === 0) return pass('bytecode', expected, `${okCount} .pyc checked, all match their source`)
  const listed = bad.slice(0, 10).map(p => `${p.status}: ${p.path}${p.detail ? ` (${p.detail})` : ''}`)
  const more = bad.length > 10 ? `; and ${bad.length - 10} more` : ''
  return fail('bytecode', expected, `${bad.length} bad .pyc of ${bad.length + okCount}`, `${listed.join('; ')}${more}`, 'stale')
}

export function probeHealth(f: VerifyFacts): Probe {
  if (!f.health) return fail('health', 'healthy or steadily running', 'no answer', 'the health of the container could not be read', 'unhealthy')
  const expected = 'healthy, or running with a steady restart count'
  return f.health.pass ? pass('health', expected, f.health.detail) : fail('health', expected, f.health.detail, f.health.detail, 'unhealthy')
}

const WHERE: Record<HttpFrom, string> = { host: 'the host', runner: 'the runner', container: 'inside the container' }

/** What the probe saw, for `found`: status, attempts, where, and the body around the match. */
function httpFound(h: HttpResult, expect: string): string {
  let text = h.snippet
  let lead = ''
  if (h.match === 'yes') {
    const i = text.indexOf(expect)
    if (i >= 0) text = text.slice(Math.max(0, i - 60), i + expect.length + 60)
    lead = `${JSON.stringify(expect)} at byte ${h.at} of ${h.size}: `
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200)
  const client = h.client ? ` (${h.client})` : ''
  return `HTTP ${h.status === '000' || h.status === '' ? 'no answer' : h.status} after ${h.attempts} attempt(s) from ${WHERE[h.from]}${client}${snippet ? `: ${lead}${snippet}` : ''}`
}

export function probeHttp(f: VerifyFacts, c: ProbeContext): Probe {
  if (!c.verifyUrl) return skip('http', 'verify-url is not set')
  if (!f.running) return skip('http', 'container not running')
  const h = f.http
  const expected = `2xx from ${c.verifyUrl}${c.verifyExpect ? ` with a body containing ${JSON.stringify(c.verifyExpect)}` : ''}`
  if (!h) return skip('http', 'the probe did not run')
  // The probe could not run: neither healthy nor not, and no rollback or heal can help.
  if (h.error) return fail('http', expected, h.error, h.error, 'error')
  const found = httpFound(h, c.verifyExpect)
  const answered = /^2\d\d$/.test(h.status)
  if (!answered && h.pending) {
    // One attempt, then not polled further: another probe already decided the verdict.
    return { ...skip('http', `not polled further: ${h.stoppedBy || 'another probe'} failed, which waiting cannot change`), expected, found }
  }
  if (!answered) {
    return fail('http', expected, found, `${c.verifyUrl} gave no 2xx answer within ${c.verifyTimeout} s`, 'unhealthy')
  }
  // Judged where the body was (the whole body, up to 1 MiB), never again on a snippet here.
  if (c.verifyExpect && h.match !== 'yes') {
    return fail('http', expected, found, `${c.verifyUrl} answers, but its body lacks ${JSON.stringify(c.verifyExpect)}: the app reports other code`, 'stale')
  }
  return pass('http', expected, found)
}

/** The post-deploy hook's result: pass on exit 0 within hook-timeout; evidence its last lines. */
export function probeSmoke(hook: { exitCode: number; timedOut: boolean; tail: string[] } | undefined, c: { postDeploy: string; hookTimeout: number }, skipReason = ''): Probe {
  if (!c.postDeploy) return skip('smoke', 'post-deploy is not set')
  if (!hook) return skip('smoke', skipReason || 'post-deploy did not run')
  const expected = `post-deploy exits 0 within ${c.hookTimeout} s`
  const last = hook.tail.join('\n')
  const found = `${hook.timedOut ? `stopped after hook-timeout (${c.hookTimeout} s)` : `exit ${hook.exitCode}`}${last ? `; last lines:\n${last}` : ''}`
  if (!hook.timedOut && hook.exitCode === 0) return pass('smoke', expected, found)
  const why = hook.timedOut ? `the smoke test (post-deploy) ran longer than hook-timeout (${c.hookTimeout} s) and was stopped` : `the smoke test (post-deploy) failed with exit ${hook.exitCode}`
  return fail('smoke', expected, found, why, 'unhealthy')
}

/**
 * The probes other than http that failed: the verdict is not fresh whatever http answers, and
 * waiting cannot change them (the container, its image and its files are what they are), so
 * the http probe is not polled further.
 */
export function failedBesidesHttp(f: VerifyFacts, c: ProbeContext): string[] {
  return runProbes({ ...f, http: undefined }, c)
    .filter(p => p.name !== 'http' && p.verdict === 'fail')
    .map(p => p.name)
}

export function runProbes(f: VerifyFacts, c: ProbeContext): Probe[] {
  const image = probeImage(f, c)
  return [probeRecreated(f, c), image, probeSource(f, c, c.hasBuild && image.verdict === 'pass'), probeBytecode(f, c), probeHealth(f), probeHttp(f, c)]
}

/** error (a probe that could not run) > unhealthy > stale; fresh only when nothing failed. */
export function verdictOf(probes: Probe[]): Verdict {
  if (probes.some(p => p.verdict === 'fail' && p.leadsTo === 'error')) return 'error'
  if (probes.some(p => p.verdict === 'fail' && p.leadsTo === 'unhealthy')) return 'unhealthy'
  if (probes.some(p => p.verdict === 'fail')) return 'stale'
  return 'fresh'
}

/** The probes output: {name, verdict, expected, found, reason}, strings only. */
export function probesJson(probes: Probe[]): string {
  return JSON.stringify(probes.map(p => ({ name: p.name, verdict: p.verdict, expected: p.expected, found: p.found, reason: p.reason })))
}
