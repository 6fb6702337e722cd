// A typed wrapper around the target-side scripts: one method per step, each building the
// script's variables from the settings and turning its result lines into typed values.
import { buildScript, readScript, type ScriptName, type ScriptVars } from './scripts.js'
import type { Settings } from './settings.js'
import type { Held, RemoteRecord, RunResult, Transport } from './transport.js'

export class TargetInputError extends Error {
  constructor(
    readonly input: string,
    readonly detail: string
  ) {
    super(`${input}: ${detail}`)
    this.name = 'TargetInputError'
  }
}

export class RemoteError extends Error {
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
  previousTag: string
}

export interface Container {
  containerId: string
  imageId: string
  startedAt: string
  configImage: string
  builtImageId: string
}

export interface PurgeResult {
  host: number
  container: number
  notes: string[]
}

/**
 * A YAML double-quoted scalar: a JSON string, plus \u escapes for the characters JSON leaves raw
 * that YAML parsers reject (DEL, C1 controls, an inner BOM) or read as line breaks (NEL,
 * U+2028, U+2029 in libyaml and go-yaml, which compose uses).
 */
export function yamlString(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
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

  constructor(
    private readonly transport: Transport,
    private readonly s: Settings,
    private readonly runId: string
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

  /** The label override as YAML; JSON strings are valid YAML scalars, so values stay data. */
  overrideYaml(revision: string): string {
    const q = yamlString
    // Compose interpolates "$" in values ("$$" is a literal "$"); keys are never interpolated.
    const v = (value: string): string => yamlString(value.replace(/\$/g, '$$$$'))
    return [
      'services:',
      `  ${q(this.s.service)}:`,
      '    labels:',
      `      "io.fresh-deploy.revision": ${v(revision)}`,
      `      "io.fresh-deploy.run": ${v(this.runId)}`
    ].join('\n')
  }

  script(name: ScriptName, extra: ScriptVars = {}): string {
    return buildScript(name, { ...this.common(), ...extra })
  }

  /** Runs a step script; a non-zero exit becomes an error that says what failed and why. */
  async run(name: ScriptName, extra: ScriptVars = {}, quiet = false): Promise<RunResult> {
    const result = await this.transport.run(this.script(name, extra), { quiet })
    this.check(name, result)
    return result
  }

  check(name: string, result: RunResult): void {
    if (result.code === 0) return
    const inputError = result.records.find(r => r.key === 'input-error')
    if (inputError) {
      const space = inputError.value.indexOf(' ')
      throw new TargetInputError(inputError.value.slice(0, space), inputError.value.slice(space + 1))
    }
    const tail = result.outputTail.trim().split('\n').slice(-8).join('\n')
    if (result.code === 255 && this.transport.where.startsWith('ssh')) {
      // rebuild and rollback run compose detached (fd_detached): it goes on without us.
      const detached = name === 'rebuild' || name === 'rollback' ? ' The compose command goes on, detached, on the target, so the service may end up recreated all the same; deploy again to verify it.' : ''
      throw new RemoteError(name, result.code, `${name}: the ssh connection to ${this.transport.where.replace(/^ssh /, '')} failed (exit 255).${detached}${tail ? ` Last output: ${tail}` : ''}`)
    }
    throw new RemoteError(name, result.code, `${name} failed on the target (exit ${result.code})${tail ? `: ${tail}` : ''}`)
  }

  async preflight(checkService: boolean): Promise<Preflight> {
    const result = await this.run('preflight', { FD_SYNC: this.s.sync, FD_CHECK_SERVICE: checkService ? '1' : '0' }, true)
    const m = recordsToMap(result.records)
    this.compose = m.get('compose') as 'docker compose' | 'docker-compose'
    this.resolvedProject = m.get('project-name') ?? ''
    return {
      now: Number(m.get('now')),
      realPath: m.get('project-realpath') ?? '',
      compose: this.compose,
      composeVersion: m.get('compose-version') ?? '',
      engineVersion: m.get('engine-version') ?? '',
      flock: m.get('flock') === 'yes',
      hasBuild: m.has('service-build') ? m.get('service-build') === 'yes' : undefined,
      gitHead: m.get('git-head') ?? ''
    }
  }

  lockVars(flock: boolean): ScriptVars {
    return { FD_LOCK_TIMEOUT: this.s.lockTimeout, FD_RUN_ID: this.runId, FD_REF: this.s.ref, FD_HAVE_FLOCK: flock ? 'yes' : 'no' }
  }

  /** Takes the deploy lock; resolves once held. The lock lasts until release(). */
  async lock(flock: boolean, onWait: (holder: string) => void, onTakeover: (holder: string) => void): Promise<Held> {
    let locked!: () => void
    const lockedNow = new Promise<void>(resolve => (locked = resolve))
    const held = this.transport.hold(this.script('lock', this.lockVars(flock)), {
      quiet: true,
      onRecord: r => {
        if (r.key === 'locked') locked()
        else if (r.key === 'lock-wait') onWait(r.value)
        else if (r.key === 'lock-takeover') onTakeover(r.value)
      }
    })
    const outcome = await Promise.race([lockedNow.then(() => undefined), held.done])
    if (outcome !== undefined) {
      const timeout = outcome.records.find(r => r.key === 'lock-timeout')
      if (timeout) {
        throw new RemoteError('lock', outcome.code, `the deploy lock of ${this.s.projectDir} is held by another deploy (${timeout.value}); gave up after ${this.s.lockTimeout} s (input lock-timeout)`)
      }
      this.check('lock', outcome)
      throw new RemoteError('lock', outcome.code, 'the lock script ended before taking the lock')
    }
    return held
  }

  async sync(): Promise<{ head: string; previous: string; hasBuild: boolean }> {
    const result = await this.transport.run(this.script('sync', { FD_REF: this.s.ref, FD_DISCARD: this.s.syncDiscardChanges }))
    const dirty = result.records.filter(r => r.key === 'dirty').map(r => r.value)
    if (result.code === 5 && dirty.length > 0) {
      throw new RemoteError(
        'sync',
        5,
        `the checkout in ${this.s.projectDir} has uncommitted changes to tracked files: ${dirty.join(', ')}. Commit or revert them on the host, or set sync-discard-changes: true to discard them. Nothing was changed.`
      )
    }
    this.check('sync', result)
    const m = recordsToMap(result.records)
    this.resolvedProject = m.get('project-name') ?? ''
    return { head: m.get('head') ?? '', previous: m.get('previous-head') ?? '', hasBuild: m.get('service-build') === 'yes' }
  }

  async snapshot(): Promise<Snapshot | undefined> {
    const m = recordsToMap((await this.run('snapshot')).records)
    if (!m.get('container-id')) return undefined
    return {
      containerId: m.get('container-id') ?? '',
      imageId: m.get('image-id') ?? '',
      startedAt: m.get('started-at') ?? '',
      running: m.get('running') === 'true',
      configImage: m.get('config-image') ?? '',
      revision: m.get('revision') === '<no value>' ? '' : (m.get('revision') ?? ''),
      previousTag: m.get('previous-tag') ?? ''
    }
  }

  /** snapshotCid: the container the snapshot found ('' for none), so purge need not look again. */
  async purge(snapshotCid?: string): Promise<PurgeResult> {
    const m = recordsToMap(
      (
        await this.run('purge', {
          FD_SOURCE_DIR: this.s.sourceDir,
          FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
          FD_PURGE_SH: readScript('purge-tree.sh'),
          FD_KNOWN_CID: snapshotCid ?? '',
          FD_KNOWN_CID_SET: snapshotCid === undefined ? 'no' : 'yes'
        })
      ).records
    )
    const notes: string[] = []
    const hostValue = m.get('purged-host') === 'missing' ? `skip source-dir ${this.s.sourceDir} does not exist` : m.get('purged-host')
    return { host: parsePurgeCount(hostValue, 'host', notes), container: parsePurgeCount(m.get('purged-container'), 'container', notes), notes }
  }

  rebuildVars(noCache: boolean): ScriptVars {
    return {
      FD_REF: this.s.ref,
      FD_OVERRIDE_YAML: this.overrideYaml(this.s.ref),
      FD_NO_CACHE: noCache,
      FD_PULL: this.s.buildPull,
      FD_RENEW_ANON: this.s.renewAnonVolumes,
      FD_STOP_TIMEOUT: this.s.stopTimeout
    }
  }

  async rebuild(noCache: boolean): Promise<Container> {
    return containerOf((await this.run('rebuild', this.rebuildVars(noCache))).records)
  }

  /** cid: the container the rebuild reported; verify.sh looks the service up without it. */
  verifyVars(cid = ''): ScriptVars {
    return {
      FD_KNOWN_CID: cid,
      FD_SOURCE_DIR: this.s.sourceDir,
      FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
      FD_HEALTH_TIMEOUT: this.s.healthTimeout,
      FD_FINGERPRINT_SH: readScript('fingerprint.sh'),
      FD_BYTECODE_PY: readScript('bytecode.py'),
      FD_HTTP_PY: readScript('http-get.py'),
      FD_VERIFY_URL: this.s.verifyFrom === 'host' ? this.s.verifyUrl : '',
      FD_VERIFY_EXPECT: this.s.verifyExpect,
      FD_VERIFY_TIMEOUT: this.s.verifyTimeout,
      FD_VERIFY_INTERVAL: this.s.verifyInterval
    }
  }

  async verify(cid = ''): Promise<RemoteRecord[]> {
    return (await this.run('verify', this.verifyVars(cid), true)).records
  }

  async rollback(previousTag: string, targetImage: string, revision: string): Promise<{ container: Container; health: string }> {
    const result = await this.run('rollback', {
      FD_PREVIOUS_TAG: previousTag,
      FD_TARGET_IMAGE: targetImage,
      FD_REF: revision,
      FD_OVERRIDE_YAML: this.overrideYaml(revision),
      FD_HEALTH_TIMEOUT: this.s.healthTimeout
    })
    return { container: containerOf(result.records), health: recordsToMap(result.records).get('health') ?? '' }
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

function containerOf(records: RemoteRecord[]): Container {
  const m = recordsToMap(records)
  return {
    containerId: m.get('container-id') ?? '',
    imageId: m.get('image-id') ?? '',
    startedAt: m.get('started-at') ?? '',
    configImage: m.get('config-image') ?? '',
    builtImageId: m.get('built-image-id') ?? ''
  }
}
