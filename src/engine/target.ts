// A typed wrapper around the target-side scripts: one method per step, each building the
// script's variables from the settings and turning its result lines into typed values.
import { namePatterns } from './glob.js'
import { parseImageFiles } from './probes.js'
import { buildScript, forBashStdin, readScript, type ScriptName, type ScriptVars } from './scripts.js'
import type { Settings } from './settings.js'
import { silentReporter, type Reporter } from './reporter.js'
import { CUTOVER_DNS_SECONDS, type StartFirstFacts } from './strategy.js'
import { type Held, type RemoteRecord, type RunOptions, type RunResult, type Transport } from './transport.js'

export class TargetInputError extends Error {
  constructor(
    readonly input: string,
    readonly detail: string
  ) {
    super(`${input}: ${detail}`)
    this.name = 'TargetInputError'
  }
}

/**
 * The inputs that a target-side script may report as wrong (fd_input_error): an error names
 * the input and quotes its value, so only these names are taken from the target.
 */
export const TARGET_CHECKED_INPUTS: ReadonlySet<string> = new Set([
  'strategy',
  'project-dir',
  'compose-files',
  'compose-command',
  'service',
  'sync',
  'ref',
  'source-dir',
  'container-source-dir'
])

export class RemoteError extends Error {
  /** The result lines the failed step printed before it failed (e.g. rebuild's after-failure). */
  records: RemoteRecord[] = []
  constructor(
    readonly step: string,
    readonly code: number,
    message: string
  ) {
    super(message)
    this.name = 'RemoteError'
  }
}

export interface Preflight {
  now: number
  realPath: string
  compose: 'docker compose' | 'docker-compose'
  composeVersion: string
  engineVersion: string
  flock: boolean
  hasBuild?: boolean
  gitHead: string
}

export interface Snapshot {
  containerId: string
  imageId: string
  startedAt: string
  running: boolean
  configImage: string
  revision: string
  /** The rollback target: fresh-deploy's own tag (empty when there is none), its image, its revision. */
  previousTag: string
  previousImage: string
  previousRevision: string
  /** Why this container's image did not become the rollback target (not running, unhealthy). */
  previousKept: string
}

export interface Container {
  containerId: string
  imageId: string
  startedAt: string
  configImage: string
}

/** A script of several steps in flight (Target.runSteps). */
export interface StepRun {
  /** The step's result lines once it is done; rejects when the script failed in it or before it. */
  done(name: ScriptName): Promise<RemoteRecord[]>
  /** From now on the step's log lines go to the log; those that came before are written first. */
  attach(name: ScriptName): void
  /** The step's last log lines (HOOK_TAIL_LINES at most), kept whether attached or not. */
  tail(name: ScriptName): string[]
}

/** What a hook did: its exit status, whether hook-timeout stopped it, its last output lines. */
export interface HookResult {
  exitCode: number
  timedOut: boolean
  tail: string[]
}

/** How many of a hook's last output lines the report keeps. */
export const HOOK_TAIL_LINES = 20

/** Target.deploy in flight: each step's typed result as soon as that step is done. */
export interface DeployRun {
  attach(name: ScriptName): void
  snapshot: Promise<Snapshot | undefined>
  purge: Promise<PurgeResult | undefined>
  /** The image build before a pre-deploy hook (undefined without one). */
  build: Promise<void>
  /** The pre-deploy hook; rejects when it failed (the old container still serves). */
  preDeploy: Promise<HookResult | undefined>
  rebuild: Promise<Container>
  /** strategy: start-first: the new container started next to the old one (undefined: recreate, or nothing to keep serving). */
  startFirst: Promise<StartFirst | undefined>
  /** The verify's result lines (see probes.parseVerifyRecords); undefined without verify. */
  verify: Promise<RemoteRecord[] | undefined>
}

/** A new container started next to the running one (startfirst.sh), not under the service's name yet. */
export interface StartFirst {
  old: string
  /** "NET ALIAS..." per network: the names it takes at the cutover. */
  networks: string[]
  container: Container
}

/** What the cutover took: seconds until the new container had the name, and until the old one was gone. */
export interface Cutover {
  named: number
  stopped: number
}

/** Where source-dir lies in the service's build context, and that context's .dockerignore. */
export interface SourceFacts {
  /** Relative to the context ("." for the context itself); undefined: not inside it. */
  sourceInContext?: string
  /** The .dockerignore's text; undefined: none, or source-dir outside the context. */
  dockerignore?: string
}

export function sourceFactsOf(records: RemoteRecord[]): SourceFacts {
  const m = recordsToMap(records)
  const facts: SourceFacts = {}
  if (m.has('source-in-context')) facts.sourceInContext = m.get('source-in-context')
  if (m.has('dockerignore')) facts.dockerignore = Buffer.from(m.get('dockerignore') ?? '', 'base64').toString('utf8')
  return facts
}

/** What runs now for the service (Target.status). */
export interface ServiceStatus {
  /** docker's state (running, exited, …), or none: the service has no container. */
  state: string
  running: boolean
  /** healthy, unhealthy, starting, or none (no healthcheck). */
  health: string
  restarts: number
  containerId: string
  imageId: string
  configImage: string
  startedAt: string
  /** The io.fresh-deploy.revision and io.fresh-deploy.run labels (empty: not deployed by fresh-deploy). */
  revision: string
  runId: string
  /** What the service's image name points to now. */
  tagImageId: string
  previousTag: string
  /** What the rollback tag holds (empty: no such tag). */
  previousImageId: string
  previousCreated: string
}

export interface PurgeResult {
  host: number
  container: number
  notes: string[]
  /** What could not be deleted, with its paths: the purge never fails the deploy for it. */
  warnings: string[]
}

/**
 * A YAML double-quoted scalar: a JSON string, plus \u escapes for the characters JSON leaves raw
 * that YAML parsers reject (DEL, C1 controls, an inner BOM) or read as line breaks (NEL,
 * U+2028, U+2029 in libyaml and go-yaml, which compose uses).
 */
export function yamlString(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Seconds between the runner's keepalives to the held lock script, which also touches its
 * holder file that often; three silent periods release the lock, and a mkdir lock whose holder
 * file is three periods old is taken over. FRESH_DEPLOY_LOCK_HEARTBEAT (1-3600) is for tests.
 */
export function lockHeartbeat(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.FRESH_DEPLOY_LOCK_HEARTBEAT)
  return Number.isInteger(n) && n >= 1 && n <= 3600 ? n : 5
}

/**
 * The target's "now" (epoch seconds, fractional where its date has %N; lib.sh's fd_now already
 * falls back to whole seconds). A fraction that is not digits (BSD date prints "%N" as "N") is
 * dropped: whole seconds only move the deploy's start earlier. Without any seconds (no date on
 * the target), 0: the recreated probe still needs another container carrying this run's label,
 * which only this run's rebuild can have made. Never NaN, which made the verdict an error.
 */
export function parseTargetTime(value: string | undefined): number {
  const text = (value ?? '').trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  const seconds = /^(\d+)(?:\.|$)/.exec(text)
  return seconds ? Number(seconds[1]) : 0
}

export function recordsToMap(records: RemoteRecord[]): Map<string, string> {
  return new Map(records.map(r => [r.key, r.value]))
}

/** "DIRS FILES" → their sum; "missing"/"skip …" → 0 with a note. */
export function parsePurgeCount(value: string | undefined, where: string, notes: string[]): number {
  if (value === undefined) return 0
  const m = /^(\d+) (\d+)$/.exec(value.trim())
  if (m) return Number(m[1]) + Number(m[2])
  notes.push(`${where}: ${value.replace(/^skip /, '')}`)
  return 0
}

export class Target {
  compose: 'docker compose' | 'docker-compose' | 'auto'
  /** The compose project's name as compose config reported it (v2), for cheap container lookups. */
  resolvedProject = ''
  /** What the preflight (or, with sync: git, the sync) found about source-dir. */
  sourceFacts: SourceFacts = {}
  /** The service's depends_on as compose config reported it ("NAME:CONDITION:REQUIRED ..."); undefined: not read. */
  serviceDeps: string | undefined
  /** strategy: start-first: what compose config and docker ps said (preflight, or sync). */
  startFirstFacts: StartFirstFacts | undefined

  constructor(
    private readonly transport: Transport,
    private readonly s: Settings,
    private readonly runId: string,
    private readonly log: Reporter = silentReporter
  ) {
    this.compose = s.composeCommand
  }

  get where(): string {
    return this.transport.where
  }

  /** Ends the transport's spare session; call when no more scripts will run. */
  close(): void {
    this.transport.close()
  }

  private common(): ScriptVars {
    return {
      FD_PROJECT_DIR: this.s.projectDir,
      FD_COMPOSE_CMD: this.compose,
      FD_COMPOSE_FILES: this.s.composeFiles.join('\n'),
      FD_PROJECT_NAME: this.s.composeProjectName,
      FD_RESOLVED_PROJECT: this.resolvedProject,
      FD_SERVICE: this.s.service
    }
  }

  /**
   * The label override as YAML; JSON strings are valid YAML scalars, so values stay data.
   * image: a rollback names the previous image by id (no tag is moved).
   */
  overrideYaml(revision: string, image?: string): string {
    const q = yamlString
    // Compose interpolates "$" in values ("$$" is a literal "$"); keys are never interpolated.
    const v = (value: string): string => yamlString(value.replace(/\$/g, '$$$$'))
    return [
      'services:',
      `  ${q(this.s.service)}:`,
      ...(image ? [`    image: ${v(image)}`] : []),
      '    labels:',
      `      "io.fresh-deploy.revision": ${v(revision)}`,
      `      "io.fresh-deploy.run": ${v(this.runId)}`
    ].join('\n')
  }

  script(name: ScriptName | ScriptName[], extra: ScriptVars = {}): string {
    return forBashStdin(buildScript(name, { ...this.common(), ...extra }))
  }

  /** Runs a step script; a non-zero exit becomes an error that says what failed and why. */
  async run(name: ScriptName, extra: ScriptVars = {}, options: RunOptions = {}): Promise<RunResult> {
    const result = await this.transport.run(this.script(name, extra), options)
    this.check(name, result)
    return result
  }

  check(name: string, result: RunResult): void {
    if (result.code === 0) return
    const lost = result.records.find(r => r.key === 'lock-lost')
    if (lost) {
      throw new RemoteError('lock', result.code, `the deploy lock of ${this.s.projectDir} was lost (its holder on the target is gone); stopped before the ${lost.value} step so that two deploys cannot overlap`)
    }
    const lockError = result.records.find(r => r.key === 'lock-error')
    if (lockError) throw new RemoteError('lock', result.code, `the deploy lock of ${this.s.projectDir}: ${lockError.value}`)
    const inputError = result.records.find(r => r.key === 'input-error')
    if (inputError) {
      const space = inputError.value.indexOf(' ')
      const input = space < 0 ? inputError.value : inputError.value.slice(0, space)
      const detail = space < 0 ? '' : inputError.value.slice(space + 1)
      if (TARGET_CHECKED_INPUTS.has(input)) throw new TargetInputError(input, detail)
      throw new RemoteError(name, result.code, `${name} failed on the target (exit ${result.code}): ${inputError.value}`)
    }
    if (name === 'predeploy') {
      const m = recordsToMap(result.records)
      if (m.has('hook-exit')) {
        const how = m.has('hook-timeout') ? `ran longer than hook-timeout (${m.get('hook-timeout')} s) and was stopped` : `exited with ${m.get('hook-exit')}`
        const last = result.outputTail.trim().split('\n').slice(-HOOK_TAIL_LINES).join('\n')
        throw new RemoteError('pre-deploy', result.code, `the pre-deploy hook ${how}; the running container was not touched and still serves.${last ? ` Last output:\n${last}` : ''}`)
      }
    }
    const tail = result.outputTail.trim().split('\n').slice(-8).join('\n')
    if (result.code === 255 && this.transport.where.startsWith('ssh')) {
      // rebuild and rollback run compose detached (fd_detached): it goes on without us.
      const detached =
        name === 'rebuild' || name === 'rollback'
          ? ' The compose command goes on, detached, on the target, so the service may end up recreated all the same; deploy again to verify it.'
          : name === 'cutover'
            ? ' The cutover goes on, detached, on the target: the new container keeps the service name and the old one is stopped; deploy again to verify it.'
            : ''
      throw new RemoteError(name, result.code, `${name}: the ssh connection to ${this.transport.where.replace(/^ssh /, '')} failed (exit 255).${detached}${tail ? ` Last output: ${tail}` : ''}`)
    }
    throw new RemoteError(name, result.code, `${name} failed on the target (exit ${result.code})${tail ? `: ${tail}` : ''}`)
  }

  preflightVars(checkService: boolean): ScriptVars {
    return { FD_SYNC: this.s.sync, FD_CHECK_SERVICE: checkService ? '1' : '0', FD_SOURCE_DIR: this.s.sourceDir, FD_STRATEGY: this.s.strategy }
  }

  /** The preflight alone (a dry-run, which takes no lock). */
  async preflight(checkService: boolean): Promise<Preflight> {
    return this.preflightOf((await this.run('preflight', this.preflightVars(checkService), { quiet: true, last: true })).records)
  }

  private preflightOf(records: RemoteRecord[]): Preflight {
    const m = recordsToMap(records)
    this.compose = m.get('compose') as 'docker compose' | 'docker-compose'
    this.resolvedProject = m.get('project-name') ?? ''
    this.sourceFacts = sourceFactsOf(records)
    this.serviceDeps = m.get('service-deps')
    this.startFirstFacts = startFirstFactsOf(m)
    return {
      now: parseTargetTime(m.get('now')),
      realPath: m.get('project-realpath') ?? '',
      compose: this.compose,
      composeVersion: m.get('compose-version') ?? '',
      engineVersion: m.get('engine-version') ?? '',
      flock: m.get('flock') === 'yes',
      hasBuild: m.has('service-build') ? m.get('service-build') === 'yes' : undefined,
      gitHead: m.get('git-head') ?? ''
    }
  }

  /** flock: what the preflight found; left empty when the preflight runs in the same script. */
  lockVars(flock?: boolean): ScriptVars {
    return {
      FD_LOCK_TIMEOUT: this.s.lockTimeout,
      FD_RUN_ID: this.runId,
      FD_REF: this.s.ref,
      FD_HAVE_FLOCK: flock === undefined ? '' : flock ? 'yes' : 'no',
      FD_LOCK_HEARTBEAT: lockHeartbeat()
    }
  }

  /**
   * The preflight, then the deploy lock, in one script that stays open: one remote shell start
   * instead of two. `preflight` resolves when its checks are done, `lock` once the lock is held;
   * the lock lasts until release().
   */
  preflightAndLock(
    checkService: boolean,
    onWait: (holder: string) => void,
    onTakeover: (holder: string) => void
  ): { preflight: Promise<Preflight>; lock: Promise<Held & { pid: string }> } {
    const records: RemoteRecord[] = []
    let pid = ''
    let preflightDone!: (p: Preflight) => void
    let locked!: () => void
    const preflight = new Promise<Preflight>(resolve => (preflightDone = resolve))
    const lockedNow = new Promise<void>(resolve => (locked = resolve))
    const held = this.transport.hold(this.script(['preflight', 'lock'], { ...this.preflightVars(checkService), ...this.lockVars() }), {
      quiet: true,
      keepalive: lockHeartbeat(),
      onRecord: r => {
        records.push(r)
        if (r.key === 'step-done' && r.value === 'preflight') preflightDone(this.preflightOf(records))
        else if (r.key === 'locked') locked()
        else if (r.key === 'lock-pid') pid = r.value
        // Deferred until the caller has moved on from the preflight to the lock step (promise
        // continuations run first), so that the message lands in the lock's log group.
        else if (r.key === 'lock-wait') setImmediate(onWait, r.value)
        else if (r.key === 'lock-takeover') setImmediate(onTakeover, r.value)
      }
    })
    const ended = held.done.then(outcome => {
      if (!records.some(r => r.key === 'step-done' && r.value === 'preflight')) {
        this.check('preflight', outcome)
        throw new RemoteError('preflight', outcome.code, 'the preflight script ended before its checks were done')
      }
      const timeout = outcome.records.find(r => r.key === 'lock-timeout')
      if (timeout) {
        throw new RemoteError('lock', outcome.code, `the deploy lock of ${this.s.projectDir} is held by another deploy (${timeout.value}); gave up after ${this.s.lockTimeout} s (input lock-timeout)`)
      }
      this.check('lock', outcome)
      throw new RemoteError('lock', outcome.code, 'the lock script ended before taking the lock')
    })
    const lock = Promise.race([lockedNow.then(() => ({ ...held, pid })), ended])
    // Whichever of the two the caller does not await must not become an unhandled rejection.
    lock.catch(() => undefined)
    const pre = Promise.race([preflight, ended])
    pre.catch(() => undefined)
    return { preflight: pre, lock }
  }

  async sync(): Promise<{ head: string; previous: string; hasBuild: boolean }> {
    const result = await this.transport.run(this.script('sync', { FD_REF: this.s.ref, FD_DISCARD: this.s.syncDiscardChanges, FD_SOURCE_DIR: this.s.sourceDir, FD_STRATEGY: this.s.strategy }))
    const dirty = result.records.filter(r => r.key === 'dirty').map(r => r.value)
    if (result.code === 5 && dirty.length > 0) {
      throw new RemoteError(
        'sync',
        5,
        `the checkout in ${this.s.projectDir} has uncommitted changes to tracked files: ${dirty.join(', ')}. Commit or revert them on the host, or set sync-discard-changes: true to discard them. Nothing was changed.`
      )
    }
    const untracked = result.records.filter(r => r.key === 'untracked').map(r => r.value)
    if (result.code === 7 && untracked.length > 0) {
      throw new RemoteError(
        'sync',
        7,
        `checking out ${this.s.ref} in ${this.s.projectDir} would overwrite untracked files: ${untracked.join(', ')}. fresh-deploy never deletes untracked files (sync-discard-changes only discards changes to tracked files): move or delete them on the host, then deploy again. Nothing was changed.`
      )
    }
    this.check('sync', result)
    const m = recordsToMap(result.records)
    this.resolvedProject = m.get('project-name') ?? ''
    this.sourceFacts = sourceFactsOf(result.records)
    this.serviceDeps = m.get('service-deps')
    this.startFirstFacts = startFirstFactsOf(m)
    return { head: m.get('head') ?? '', previous: m.get('previous-head') ?? '', hasBuild: m.get('service-build') === 'yes' }
  }

  /**
   * Runs several steps as one script (one remote shell start, no round trip between them) and
   * hands each step's result lines over as soon as its "step-done" line arrives. A step's log
   * lines wait until attach(step), so that they land in that step's log group. When the script
   * fails, the step it failed in (and every later one) rejects with the error.
   */
  runSteps(names: ScriptName[], vars: ScriptVars, options: { quiet?: ScriptName[]; last?: boolean } = {}): StepRun {
    const records: RemoteRecord[][] = names.map(() => [])
    const lines: string[][] = names.map(() => [])
    const tails: string[][] = names.map(() => [])
    const attached = names.map(() => false)
    const settle = names.map(() => {
      let resolve!: (r: RemoteRecord[]) => void
      let reject!: (e: unknown) => void
      const promise = new Promise<RemoteRecord[]>((res, rej) => ((resolve = res), (reject = rej)))
      return { promise: settled(promise), resolve, reject }
    })
    let current = 0
    const at = (): number => Math.min(current, names.length - 1)
    const done = this.transport.run(this.script(names, vars), {
      last: options.last,
      onRecord: r => {
        if (r.key === 'step-done' && r.value === names[current]) settle[current].resolve(records[current++])
        else records[at()].push(r)
      },
      onLine: line => {
        const i = at()
        tails[i].push(line)
        if (tails[i].length > HOOK_TAIL_LINES) tails[i].shift()
        if (options.quiet?.includes(names[i])) return
        if (attached[i]) this.log.untrusted(line)
        else lines[i].push(line)
      }
    })
    done.then(
      result => {
        if (result.code === 0) {
          // A last step may end the script with exit 0 before its step-done line (verify does).
          for (let i = current; i < names.length; i++) settle[i].resolve(records[i])
          return
        }
        let error: unknown
        try {
          this.check(names[at()], result)
          error = new RemoteError(names[at()], result.code, `${names[at()]} failed on the target (exit ${result.code})`)
        } catch (e) {
          error = e
        }
        if (error instanceof RemoteError) error.records = records[at()]
        for (let i = current; i < names.length; i++) settle[i].reject(error)
      },
      (e: unknown) => settle.slice(current).forEach(s => s.reject(e))
    )
    return {
      done: name => settle[names.indexOf(name)].promise,
      attach: name => {
        const i = names.indexOf(name)
        attached[i] = true
        for (const line of lines[i].splice(0)) this.log.untrusted(line)
      },
      tail: name => tails[names.indexOf(name)] ?? []
    }
  }

  /**
   * What a deploy does after the lock, as one script: snapshot, purge, rebuild, verify (each when
   * asked for). Every step first checks that the lock holder (lockPid) still lives. A heal is
   * the same without the snapshot.
   */
  deploy(o: { snapshot: boolean; purge: boolean; noCache: boolean; verify: boolean; lockPid: string; preDeploy?: boolean; oldCid?: string }): DeployRun {
    const hook = o.preDeploy === true && this.s.preDeploy !== ''
    // start-first: build first (the old container keeps serving), then a new container next to it;
    // rebuild.sh recreates only when no container runs (startfirst.sh decides).
    const startFirst = this.s.strategy === 'start-first'
    const names: ScriptName[] = [
      ...(o.snapshot ? ['snapshot' as const] : []),
      ...(o.purge ? ['purge' as const] : []),
      // With a pre-deploy hook: build, run the hook in the new image, then recreate without building.
      ...(hook || startFirst ? ['build' as const] : []),
      ...(hook ? ['predeploy' as const] : []),
      ...(startFirst ? ['startfirst' as const] : []),
      'rebuild',
      ...(o.verify ? ['verify' as const] : [])
    ]
    const vars: ScriptVars = {
      ...(o.purge ? { FD_SOURCE_DIR: this.s.sourceDir, FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir, FD_PURGE_SH: readScript('purge-tree.sh') } : {}),
      ...(o.snapshot ? this.snapshotVars(o.verify) : {}),
      ...this.rebuildVars(o.noCache),
      ...(hook ? this.hookVars(this.s.preDeploy) : {}),
      ...(hook || startFirst ? { FD_NO_BUILD: true } : {}),
      ...(o.verify ? this.verifyVars() : {}),
      // A heal under start-first: the container that serves (no snapshot ran in this script).
      ...(o.oldCid !== undefined ? { FD_KNOWN_CID: o.oldCid, FD_KNOWN_CID_SET: 'yes' } : {}),
      FD_LOCK_PID: o.lockPid
    }
    // The verify is the last script of a deploy that goes well: no spare session after it.
    const run = this.runSteps(names, vars, { quiet: ['verify'], last: true })
    return {
      attach: name => run.attach(name),
      snapshot: o.snapshot ? settled(run.done('snapshot').then(snapshotOf)) : Promise.resolve(undefined),
      purge: o.purge ? settled(run.done('purge').then(r => this.purgeOf(r))) : Promise.resolve(undefined),
      build: hook || startFirst ? settled(run.done('build').then(() => undefined)) : Promise.resolve(undefined),
      preDeploy: hook ? settled(run.done('predeploy').then(r => hookOf(r, run.tail('predeploy')))) : Promise.resolve(undefined),
      startFirst: startFirst ? settled(run.done('startfirst').then(startFirstOf)) : Promise.resolve(undefined),
      rebuild: settled(
        startFirst
          ? Promise.all([run.done('startfirst'), run.done('rebuild')]).then(([sf, rb]) => startFirstOf(sf)?.container ?? containerOf(rb))
          : run.done('rebuild').then(containerOf)
      ),
      verify: o.verify ? run.done('verify') : Promise.resolve(undefined)
    }
  }

  private purgeOf(records: RemoteRecord[]): PurgeResult {
    const m = recordsToMap(records)
    const notes: string[] = []
    const hostValue = m.get('purged-host') === 'missing' ? (this.s.sourceDir ? `skip source-dir ${this.s.sourceDir} does not exist` : 'skip source-dir empty') : m.get('purged-host')
    const warnings = records.filter(r => r.key === 'purge-warning').map(r => r.value)
    return { host: parsePurgeCount(hostValue, 'host', notes), container: parsePurgeCount(m.get('purged-container'), 'container', notes), notes, warnings }
  }

  /** verify: the source probe will run, so the snapshot checks container-source-dir first. */
  snapshotVars(verify: boolean): ScriptVars {
    return {
      FD_CHECK_CSD: verify && this.s.sourceDir !== '' ? 'yes' : 'no',
      FD_SOURCE_DIR: this.s.sourceDir,
      FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
      FD_SOURCE_IN_CONTEXT: this.sourceFacts.sourceInContext ?? ''
    }
  }

  rebuildVars(noCache: boolean): ScriptVars {
    return {
      FD_REF: this.s.ref,
      FD_OVERRIDE_YAML: this.overrideYaml(this.s.ref),
      FD_NO_CACHE: noCache,
      FD_PULL: this.s.buildPull,
      FD_RENEW_ANON: this.s.renewAnonVolumes,
      FD_STOP_TIMEOUT: this.s.stopTimeout,
      // The dependencies to start first; rebuild.sh reads compose config itself when not known.
      FD_SERVICE_DEPS: this.serviceDeps ?? '',
      FD_SERVICE_DEPS_KNOWN: this.serviceDeps === undefined ? '' : 'yes',
      FD_HEALTH_TIMEOUT: this.s.healthTimeout
    }
  }

  /** A hook's command and environment: data for predeploy.sh / smoke.sh, never code. */
  hookVars(command: string, previousImage = ''): ScriptVars {
    return { FD_HOOK: command, FD_HOOK_TIMEOUT: this.s.hookTimeout, FD_RUN_ID: this.runId, FD_REF: this.s.ref, FD_PREVIOUS_IMAGE: previousImage }
  }

  /** The post-deploy hook in the container cid, its output streamed as it comes (the smoke probe). */
  async postDeploy(cid: string, lockPid: string, previousImage: string): Promise<HookResult> {
    const tail: string[] = []
    const result = await this.transport.run(this.script('smoke', { ...this.hookVars(this.s.postDeploy, previousImage), FD_KNOWN_CID: cid, FD_LOCK_PID: lockPid }), {
      onLine: line => {
        tail.push(line)
        if (tail.length > HOOK_TAIL_LINES) tail.shift()
        this.log.untrusted(line)
      }
    })
    this.check('smoke', result)
    return hookOf(result.records, tail)
  }

  /** cid: the container the rebuild reported; verify.sh looks the service up without it. */
  verifyVars(cid = ''): ScriptVars {
    return {
      FD_KNOWN_CID: cid,
      FD_SOURCE_DIR: this.s.sourceDir,
      FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
      FD_SOURCE_NAMES: namePatterns(this.s.sourceInclude).join('\n'),
      FD_SOURCE_IN_CONTEXT: this.sourceFacts.sourceInContext ?? '',
      FD_HEALTH_TIMEOUT: this.s.healthTimeout,
      FD_FINGERPRINT_SH: readScript('fingerprint.sh'),
      FD_BYTECODE_PY: readScript('bytecode.py'),
      ...this.httpVars(),
      // The runner fetches verify-url itself with verify-from: runner.
      FD_VERIFY_URL: this.s.verifyFrom === 'runner' ? '' : this.s.verifyUrl,
      FD_VERIFY_FROM: this.s.verifyFrom
    }
  }

  private httpVars(): ScriptVars {
    return {
      FD_HTTP_POLL_SH: readScript('http-poll.sh'),
      FD_HTTP_CLIENT_SH: readScript('http-client.sh'),
      FD_HTTP_PY: readScript('http-get.py'),
      FD_VERIFY_URL: this.s.verifyUrl,
      FD_VERIFY_EXPECT: this.s.verifyExpect,
      FD_VERIFY_TIMEOUT: this.s.verifyTimeout,
      FD_VERIFY_INTERVAL: this.s.verifyInterval
    }
  }

  /**
   * The rest of the http probe's polling on the target (host, or inside container `cid`), after
   * verify.sh's first attempt: until the deadline that attempt set (target clock).
   */
  async httpPoll(cid: string, first: { deadline: number; attempts: number }, lockPid: string): Promise<RemoteRecord[]> {
    const vars: ScriptVars = {
      ...this.httpVars(),
      FD_HTTP_MODE: this.s.verifyFrom === 'container' ? 'container' : 'host',
      FD_HTTP_CID: cid,
      FD_HTTP_DEADLINE: first.deadline || '',
      FD_HTTP_ATTEMPTS: first.attempts,
      FD_LOCK_PID: lockPid
    }
    return (await this.run('http', vars, { quiet: true, last: true })).records
  }

  /** The verify step alone (a deploy runs it inside deploy(); the bench times it this way). */
  async verify(cid = ''): Promise<RemoteRecord[]> {
    return (await this.run('verify', this.verifyVars(cid), { quiet: true, last: true })).records
  }

  /** The source files as image imageId holds them, without the service's mounts (the heal's check). */
  async imageFiles(imageId: string): Promise<{ dir: string; files: Map<string, string> }> {
    const vars: ScriptVars = {
      FD_IMAGE: imageId,
      FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
      FD_SOURCE_NAMES: namePatterns(this.s.sourceInclude).join('\n'),
      FD_FINGERPRINT_SH: readScript('fingerprint.sh')
    }
    return parseImageFiles((await this.run('image-files', vars, { quiet: true })).records)
  }

  /** Recreates the service from the snapshot's rollback target, stamped with its revision. */
  async rollback(previous: Pick<Snapshot, 'previousTag' | 'previousImage'>, revision: string): Promise<{ container: Container; health: string }> {
    const result = await this.run('rollback', {
      FD_PREVIOUS_TAG: previous.previousTag,
      FD_PREVIOUS_IMAGE: previous.previousImage,
      FD_REF: revision,
      FD_OVERRIDE_YAML: this.overrideYaml(revision, previous.previousImage),
      FD_HEALTH_TIMEOUT: this.s.healthTimeout
    })
    return { container: containerOf(result.records), health: recordsToMap(result.records).get('health') ?? '' }
  }

  /** start-first, proven: the new container takes the service's name, the old one is stopped and removed. */
  async cutover(sf: StartFirst, lockPid: string): Promise<Cutover> {
    const result = await this.run('cutover', {
      FD_SF_OLD: sf.old,
      FD_SF_NEW: sf.container.containerId,
      FD_SF_NETWORKS: sf.networks.join('\n'),
      FD_CUTOVER_WAIT: CUTOVER_DNS_SECONDS,
      FD_STOP_TIMEOUT: this.s.stopTimeout,
      FD_RENEW_ANON: this.s.renewAnonVolumes,
      FD_LOCK_PID: lockPid
    })
    const m = recordsToMap(result.records)
    return { named: Number(m.get('cutover-named') ?? 0), stopped: Number(m.get('cutover-stopped') ?? 0) }
  }

  /**
   * start-first, not proven: the new container's last log lines, then it is removed (the old one
   * serves on). After a cutover that failed or lost its connection (`afterCutover`: the old
   * container), the detached cutover may still run or may have finished: the script waits for it,
   * and removes the new container only if the old one still runs; else the new one serves and is
   * kept (removed: false).
   */
  async discard(cid: string, afterCutover?: string): Promise<{ logs: string; removed: boolean }> {
    const vars: ScriptVars = { FD_SF_NEW: cid }
    if (afterCutover) {
      vars.FD_SF_OLD = afterCutover
      // The cutover's DNS wait, the old container's stop-timeout (compose's default: 10 s), and a margin.
      vars.FD_SF_WAIT = String(Number(CUTOVER_DNS_SECONDS) + Number(this.s.stopTimeout || 10) + 60)
    }
    const result = await this.run('discard', vars, { quiet: true })
    const kept = result.records.some(r => r.key === 'kept')
    return { logs: result.records.filter(r => r.key === 'log').map(r => r.value).join('\n'), removed: !kept }
  }

  /** What runs now (status.sh): read-only. */
  async status(): Promise<ServiceStatus> {
    const m = recordsToMap((await this.run('status', {}, { quiet: true })).records)
    const label = (key: string): string => (m.get(key) === '<no value>' ? '' : (m.get(key) ?? ''))
    return {
      state: m.get('state') ?? 'none',
      running: m.get('running') === 'true',
      health: m.get('health') ?? '',
      restarts: Number(m.get('restarts') ?? 0),
      containerId: m.get('container-id') ?? '',
      imageId: m.get('image-id') ?? '',
      configImage: m.get('config-image') ?? '',
      startedAt: m.get('started-at') ?? '',
      revision: label('revision-label'),
      runId: label('run-label'),
      tagImageId: m.get('tag-image-id') ?? '',
      previousTag: m.get('previous-tag') ?? '',
      previousImageId: m.get('previous-image-id') ?? '',
      previousCreated: m.get('previous-created') ?? ''
    }
  }

  /** The service's last 50 log lines, for the failure report. Never throws. */
  async logs(): Promise<string> {
    try {
      const result = await this.transport.run(this.script('logs'), { quiet: true })
      return result.records.filter(r => r.key === 'log').map(r => r.value).join('\n')
    } catch (e) {
      return `(could not read the logs: ${(e as Error).message})`
    }
  }
}

/** A promise that the caller may never await (the run failed in an earlier step): no unhandled rejection. */
function settled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined)
  return promise
}

function snapshotOf(records: RemoteRecord[]): Snapshot | undefined {
  const m = recordsToMap(records)
  if (!m.get('container-id')) return undefined
  return {
    containerId: m.get('container-id') ?? '',
    imageId: m.get('image-id') ?? '',
    startedAt: m.get('started-at') ?? '',
    running: m.get('running') === 'true',
    configImage: m.get('config-image') ?? '',
    revision: m.get('revision') === '<no value>' ? '' : (m.get('revision') ?? ''),
    previousTag: m.get('previous-tag') ?? '',
    previousImage: m.get('previous-image') ?? '',
    previousRevision: m.get('previous-revision') ?? '',
    previousKept: m.get('previous-kept') ?? ''
  }
}

function startFirstFactsOf(m: Map<string, string>): StartFirstFacts | undefined {
  if (!m.has('service-config')) return undefined
  return { config: Buffer.from(m.get('service-config') ?? '', 'base64').toString('utf8'), running: Number(m.get('service-running') ?? 0) || 0 }
}

/** startfirst.sh's result lines; undefined when it found nothing to keep serving (rebuild.sh recreated). */
export function startFirstOf(records: RemoteRecord[]): StartFirst | undefined {
  const m = recordsToMap(records)
  if (!m.get('old-container-id') || !m.get('container-id')) return undefined
  return { old: m.get('old-container-id') ?? '', networks: records.filter(r => r.key === 'sf-network').map(r => r.value), container: containerOf(records) }
}

function hookOf(records: RemoteRecord[], tail: string[]): HookResult {
  const m = recordsToMap(records)
  // The hook's own lines, without the script's "+ command" line before them.
  const lines = tail.filter(l => !/^\+ .* <(pre|post)-deploy> \(hook-timeout \d+ s\)$/.test(l))
  return { exitCode: Number(m.get('hook-exit') ?? '-1'), timedOut: m.has('hook-timeout'), tail: lines }
}

function containerOf(records: RemoteRecord[]): Container {
  const m = recordsToMap(records)
  return {
    containerId: m.get('container-id') ?? '',
    imageId: m.get('image-id') ?? '',
    startedAt: m.get('started-at') ?? '',
    configImage: m.get('config-image') ?? ''
  }
}
