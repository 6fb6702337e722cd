// The pipeline's decisions without Docker: deploy() from pipeline.ts driven through a scripted
// stand-in transport (DeployOptions.transport) that answers each target script with canned
// result lines. Heal on stale (at most stale-retries), never heal on unhealthy, rollback on
// unhealthy or after a failed up that left no running container, which verdict, which notes,
// and the lock released and the transport closed whatever happens.
import { getSettings } from '../../src/engine/input-helper.js'
import { deploy } from '../../src/engine/pipeline.js'
import { silentReporter } from '../../src/engine/reporter.js'
import type { Settings } from '../../src/engine/settings.js'
import type { Held, RemoteRecord, RunOptions, RunResult, Transport } from '../../src/engine/transport.js'
import { failureMessage } from '../../src/action/main.js'
import { inputs } from './inputs.js'

type Kind = 'deploy' | 'heal' | 'rollback' | 'logs' | 'image-files' | 'cutover' | 'discard' | 'http' | 'smoke'
type Answer = RunResult | (() => RunResult) | Error

const RUN_ID = 'run-1'
const rec = (key: string, value: string): RemoteRecord => ({ key, value })
const ok = (records: RemoteRecord[]): RunResult => ({ code: 0, records, outputTail: '' })

/** Answers each script by its kind, in order; records what was sent. */
class ScriptedTransport implements Transport {
  readonly where = 'local'
  sent: { kind: Kind; script: string }[] = []
  released = false
  closed = false
  constructor(
    private readonly answers: Partial<Record<Kind, Answer[]>>,
    /** More preflight result lines (strategy: start-first's facts). */
    private readonly preflight: RemoteRecord[] = []
  ) {}

  kinds(): Kind[] {
    return this.sent.map(x => x.kind)
  }

  private kind(script: string): Kind {
    if (script.includes('# cutover (strategy: start-first')) return 'cutover'
    if (script.includes('# discard (strategy: start-first')) return 'discard'
    if (script.includes("# http: the rest of the http probe's polling")) return 'http'
    if (script.includes("# post-deploy: runs the user's smoke test")) return 'smoke'
    if (script.includes('fd_out step-done snapshot')) return 'deploy'
    if (script.includes('fd_out step-done rebuild')) return 'heal'
    if (script.includes('\nFD_PREVIOUS_IMAGE=')) return 'rollback'
    if (script.includes('# report: the last 50 lines')) return 'logs'
    if (script.includes('# image-files: ')) return 'image-files'
    throw new Error(`an unexpected script:\n${script.slice(0, 300)}`)
  }

  async run(script: string, options: RunOptions = {}): Promise<RunResult> {
    const kind = this.kind(script)
    this.sent.push({ kind, script })
    const next = this.answers[kind]?.shift()
    if (next === undefined) throw new Error(`no canned answer left for a ${kind} script`)
    if (next instanceof Error) throw next
    const r = typeof next === 'function' ? next() : next
    for (const x of r.records) options.onRecord?.(x)
    return r
  }

  /** The preflight and the lock: always granted. */
  hold(_script: string, options: RunOptions = {}): Held {
    const records = [
      rec('now', '1000'),
      rec('project-realpath', '/srv/app'),
      rec('compose', 'docker compose'),
      rec('compose-version', '2.26.1'),
      rec('engine-version', '20.10.24'),
      rec('flock', 'yes'),
      rec('service-build', 'yes'),
      ...this.preflight,
      rec('step-done', 'preflight'),
      rec('lock-pid', '4242'),
      rec('locked', '')
    ]
    for (const x of records) options.onRecord?.(x)
    let release!: (r: RunResult) => void
    const done = new Promise<RunResult>(resolve => (release = resolve))
    return {
      done,
      release: async () => {
        this.released = true
        release(ok(records))
        return done
      }
    }
  }

  close(): void {
    this.closed = true
  }
}

// What the target answers, step by step.
const snapshot = (over: Record<string, string> = {}): RemoteRecord[] => {
  const v: Record<string, string> = {
    'container-id': 'c1'.padEnd(64, '1'),
    'image-id': 'sha256:1111',
    'started-at': '1970-01-01T00:00:01Z',
    running: 'true',
    'config-image': 'app-web',
    revision: 'rev-1',
    'previous-tag': 'fresh-deploy/previous:app.web',
    'previous-image': 'sha256:1111',
    'previous-revision': 'rev-1',
    ...over
  }
  return [...Object.entries(v).filter(([, x]) => x !== '-').map(([k, x]) => rec(k, x)), rec('step-done', 'snapshot')]
}
const FIRST = snapshot({ 'container-id': '' })
const purged = [rec('purged-host', '0 0'), rec('purged-container', '0 0'), rec('step-done', 'purge')]
const rebuilt = (n: number): RemoteRecord[] => [
  rec('container-id', `c${n + 1}`.padEnd(64, String(n + 1))),
  rec('image-id', `sha256:${n + 1}${n + 1}`),
  rec('started-at', '2026-01-01T00:00:00Z'),
  rec('config-image', 'app-web'),
  rec('step-done', 'rebuild')
]
type Outcome = 'fresh' | 'stale' | 'unhealthy'
const verified = (n: number, outcome: Outcome): RemoteRecord[] => [
  rec('health', outcome === 'unhealthy' ? 'fail container is exited (exit code 1, restarts 0)' : 'pass healthy'),
  rec('container-id', `c${n + 1}`.padEnd(64, String(n + 1))),
  rec('image-id', `sha256:${n + 1}${n + 1}`),
  rec('started-at', '2026-01-01T00:00:00Z'),
  rec('running', outcome === 'unhealthy' ? 'false' : 'true'),
  rec('config-image', 'app-web'),
  rec('run-label', RUN_ID),
  // The same source on both sides; no python: bytecode skips.
  rec('host-dir', 'yes'),
  rec('hf', `${'a'.repeat(64)}  ./app/main.py`),
  rec('container-dir', 'yes'),
  rec('cf', `${'a'.repeat(64)}  ./app/main.py`),
  rec('python', 'none'),
  // stale: the container does not run the image this deploy built.
  rec('built-image-id', outcome === 'stale' ? 'sha256:99' : `sha256:${n + 1}${n + 1}`)
]
const deployed = (outcome: Outcome, snap = snapshot()): RunResult => ok([...snap, ...purged, ...rebuilt(1), ...verified(1, outcome)])
// A heal purges first (contract, step 8), then a no-cache rebuild and a verify.
const healed = (n: number, outcome: Outcome): RunResult => ok([...purged, ...rebuilt(n), ...verified(n, outcome)])
const rolledBack = (health = 'pass healthy'): RunResult =>
  ok([rec('container-id', 'cb'.padEnd(64, 'b')), rec('image-id', 'sha256:1111'), rec('started-at', '2026-01-01T00:00:09Z'), rec('config-image', 'sha256:1111'), rec('health', health)])
const logs = (): RunResult => ok([rec('log', 'Traceback: boom')])
/** The rebuild failed (compose exit 1 → fd_die exit 3); after-failure says what is left. */
const upFailed = (after: string | undefined, snap = snapshot()): RunResult => ({
  code: 3,
  records: [...snap, ...purged, ...(after ? [rec('after-failure', after)] : [])],
  outputTail: "Error response from daemon: failed to create task: exec: \"/nope\": no such file or directory\nfresh-deploy: the rebuild of service web failed (compose exit 1)"
})

function settings(over: Record<string, string> = {}): Settings {
  // No verify-url: http skips; the canned facts decide the rest.
  return getSettings(inputs({ service: 'web', 'verify-url': '', ...over }))
}

async function run(answers: Partial<Record<Kind, Answer[]>>, over: Record<string, string> = {}) {
  const transport = new ScriptedTransport({ logs: [logs, logs, logs], ...answers })
  const report = await deploy(settings(over), silentReporter, { runId: RUN_ID, transport })
  return { report, transport }
}

describe('deploy() decisions', () => {
  test('fresh: one script, no heal, no rollback, the lock released and the transport closed', async () => {
    const { report, transport } = await run({ deploy: [deployed('fresh')] })
    expect(report.verdict).toBe('fresh')
    expect(report.error).toBe('')
    expect(transport.kinds()).toEqual(['deploy'])
    expect(report.rolledBack).toBe(false)
    expect(report.healAttempts).toBe(0)
    expect(report.previousImageId).toBe('sha256:1111')
    expect(report.containerId).toBe('c2'.padEnd(64, '2'))
    expect(transport.released).toBe(true)
    expect(transport.closed).toBe(true)
  })

  test('stale heals, and a heal that makes it fresh ends fresh', async () => {
    const { report, transport } = await run({ deploy: [deployed('stale')], heal: [healed(2, 'fresh')] })
    expect(transport.kinds()).toEqual(['deploy', 'heal'])
    expect(report.verdict).toBe('fresh')
    expect(report.healAttempts).toBe(1)
    // A heal is a purge and a no-cache rebuild, without a snapshot.
    expect(transport.sent[1].script).toContain("FD_NO_CACHE='true'")
    expect(transport.sent[1].script).toContain('fd_out step-done purge')
    expect(transport.sent[1].script).not.toContain('fd_out step-done snapshot')
  })

  test('stale heals at most stale-retries times, then stays stale, never rolls back', async () => {
    const { report, transport } = await run({ deploy: [deployed('stale')], heal: [healed(2, 'stale'), healed(3, 'stale'), healed(4, 'fresh')] }, { 'stale-retries': '2' })
    expect(transport.kinds()).toEqual(['deploy', 'heal', 'heal', 'logs'])
    expect(report.verdict).toBe('stale')
    expect(report.healAttempts).toBe(2)
    expect(report.rolledBack).toBe(false)
  })

  // Issue 12, 3d: the container's differing files all lie in a mount and the image holds the
  // host's version: no rebuild can help, so none is tried and the source probe says why.
  const maskedDeploy = (): RunResult =>
    ok([...snapshot(), ...purged, ...rebuilt(1), ...verified(1, 'fresh').map(r => (r.key === 'cf' ? rec('cf', `${'b'.repeat(64)}  ./app/main.py`) : r)), rec('mount', '/app/src/app')])
  const imageHolds = (sha: string): RunResult => ok([rec('image-dir', 'yes'), rec('if', `${sha}  ./app/main.py`)])
  test('stale behind a mount that masks the image: no heal, the source probe names the mount', async () => {
    const { report, transport } = await run({ deploy: [maskedDeploy()], 'image-files': [imageHolds('a'.repeat(64))] })
    expect(transport.kinds()).toEqual(['deploy', 'image-files', 'logs'])
    expect(transport.sent[1].script).toContain("FD_IMAGE='sha256:22'")
    expect(report.verdict).toBe('stale')
    expect(report.healAttempts).toBe(0)
    const source = report.probes.find(p => p.name === 'source')!
    expect(source.reason).toContain("a mount masks the image's files")
    expect(source.reason).toContain('sees /app/src/app over them')
    expect(report.notes.join('\n')).toContain('no heal was tried')
  })

  test('stale in a mount, but the image holds the old file too: the heal runs', async () => {
    const { report, transport } = await run({ deploy: [maskedDeploy()], 'image-files': [imageHolds('b'.repeat(64))], heal: [healed(2, 'fresh')] })
    expect(transport.kinds()).toEqual(['deploy', 'image-files', 'heal'])
    expect(report.verdict).toBe('fresh')
    expect(report.healAttempts).toBe(1)
  })

  test('stale-retries 0: no heal', async () => {
    const { report, transport } = await run({ deploy: [deployed('stale')] }, { 'stale-retries': '0' })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.verdict).toBe('stale')
  })

  test('unhealthy: never healed; rolled back to the snapshot target, named by image id and revision; verdict stays unhealthy', async () => {
    const { report, transport } = await run({ deploy: [deployed('unhealthy')], rollback: [rolledBack()] })
    expect(transport.kinds()).toEqual(['deploy', 'logs', 'rollback', 'logs'])
    expect(report.verdict).toBe('unhealthy')
    expect(report.rolledBack).toBe(true)
    expect(report.rollbackNote).toMatch(/^put back image sha256:1111 \(revision rev-1\) as container cbbbbbbbbbbb; it runs$/)
    expect(report.failedLogs).toBe('Traceback: boom')
    expect(report.imageId).toBe('sha256:1111')
    const script = transport.sent.find(x => x.kind === 'rollback')!.script
    expect(script).toContain("\nFD_PREVIOUS_IMAGE='sha256:1111'")
    expect(script).toContain("\nFD_PREVIOUS_TAG='fresh-deploy/previous:app.web'")
    // The override names the image by id and stamps the restored revision.
    expect(script).toMatch(/FD_OVERRIDE_YAML='services:\n {2}"web":\n {4}image: "sha256:1111"\n {4}labels:\n {6}"io.fresh-deploy.revision": "rev-1"/)
    expect(script).not.toContain('FD_TARGET_IMAGE')
  })

  test('unhealthy with rollback: false: left in place, said so', async () => {
    const { report, transport } = await run({ deploy: [deployed('unhealthy')] }, { rollback: 'false' })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.verdict).toBe('unhealthy')
    expect(report.rolledBack).toBe(false)
    expect(report.rollbackNote).toBe('rollback: false — the unhealthy container was left in place')
  })

  test('unhealthy on a first deploy: no rollback possible, said so', async () => {
    const { report, transport } = await run({ deploy: [deployed('unhealthy', FIRST)] })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.rolledBack).toBe(false)
    expect(report.previousImageId).toBe('')
    expect(report.rollbackNote).toContain('first deploy')
  })

  test('unhealthy after a snapshot that kept no target (the running container was broken, no earlier one): no rollback, said why', async () => {
    const snap = snapshot({ running: 'false', 'previous-tag': '-', 'previous-image': '-', 'previous-revision': '-', 'previous-kept': 'container c11111111111 is exited (exit code 1): its image is no rollback target, and there is no earlier one' })
    const { report, transport } = await run({ deploy: [deployed('unhealthy', snap)] })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.rolledBack).toBe(false)
    expect(report.rollbackNote).toBe('no rollback target (container c11111111111 is exited (exit code 1): its image is no rollback target, and there is no earlier one), so no rollback was possible')
    expect(report.steps.find(x => x.name === 'snapshot')?.note).toContain('its image is no rollback target')
  })

  test('a kept earlier target is what the rollback restores, with its own revision', async () => {
    const snap = snapshot({ running: 'false', 'previous-image': 'sha256:0000', 'previous-revision': 'rev-0', 'previous-kept': 'container c11111111111 is exited (exit code 1): its image is no rollback target; the earlier target fresh-deploy/previous:app.web stays' })
    const { report, transport } = await run({ deploy: [deployed('unhealthy', snap)], rollback: [rolledBack()] })
    expect(report.rolledBack).toBe(true)
    expect(report.rollbackNote).toContain('(revision rev-0)')
    expect(transport.sent.find(x => x.kind === 'rollback')!.script).toContain("\nFD_PREVIOUS_IMAGE='sha256:0000'")
    expect(report.steps.find(x => x.name === 'snapshot')?.note).toContain('the earlier target fresh-deploy/previous:app.web stays: rollback target fresh-deploy/previous:app.web (image sha256:0000, revision rev-0)')
  })

  test('a failed up that left no running container rolls back; the verdict stays error and says both', async () => {
    const { report, transport } = await run({ deploy: [upFailed('stopped c2'.padEnd(74, '2'))], rollback: [rolledBack()] })
    expect(transport.kinds()).toEqual(['deploy', 'logs', 'rollback', 'logs'])
    expect(report.verdict).toBe('error')
    expect(report.rolledBack).toBe(true)
    expect(report.error).toContain('the rebuild of service web failed (compose exit 1)')
    expect(report.rollbackNote).toMatch(/^the failed rebuild left no running container of web \(container c22222222222 of web is not running\); put back image sha256:1111 \(revision rev-1\)/)
    expect(report.containerId).toBe('cb'.padEnd(64, 'b'))
    const message = failureMessage(report)
    expect(message).toMatch(/^rebuild failed on the target \(exit 3\): .*compose exit 1\). Rolled back: the failed rebuild left no running container/s)
  })

  test('a failed up that removed the container (none left) rolls back too', async () => {
    const { report } = await run({ deploy: [upFailed('none')], rollback: [rolledBack()] })
    expect(report.verdict).toBe('error')
    expect(report.rolledBack).toBe(true)
    expect(report.rollbackNote).toContain('no container of web is left')
  })

  test('a failed up with rollback: false: nothing put back, said so', async () => {
    const { report, transport } = await run({ deploy: [upFailed('none')] }, { rollback: 'false' })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.rolledBack).toBe(false)
    expect(report.rollbackNote).toBe('the failed rebuild left no running container of web (no container of web is left); rollback: false — nothing was put back')
  })

  test('a failed build before the recreate: the old container still runs, no rollback, said so', async () => {
    const { report, transport } = await run({ deploy: [upFailed(`running ${'c1'.padEnd(64, '1')}`)] })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.verdict).toBe('error')
    expect(report.rolledBack).toBe(false)
    expect(report.notes).toEqual(['the old container c11111111111 was not replaced and still runs: nothing to roll back'])
    expect(failureMessage(report)).toContain('compose exit 1). the old container c11111111111 was not replaced and still runs')
  })

  test('a failed rebuild that could not say what is left (connection lost): no rollback', async () => {
    const { report, transport } = await run({ deploy: [upFailed(undefined)] })
    expect(transport.kinds()).toEqual(['deploy', 'logs'])
    expect(report.rolledBack).toBe(false)
    expect(report.rollbackNote).toBe('')
  })

  test('a failed up on a first deploy: no rollback possible, said so', async () => {
    const { report } = await run({ deploy: [upFailed('none', FIRST)] })
    expect(report.verdict).toBe('error')
    expect(report.rolledBack).toBe(false)
    expect(report.rollbackNote).toContain('first deploy')
  })

  test('a failed heal keeps the stale verdict and adds a note', async () => {
    const { report } = await run({ deploy: [deployed('stale')], heal: [{ code: 3, records: [...purged], outputTail: 'fresh-deploy: the rebuild of service web failed (compose exit 2)' }] })
    expect(report.verdict).toBe('stale')
    expect(report.error).toBe('')
    expect(report.notes).toEqual([expect.stringMatching(/^heal 1 failed: rebuild failed on the target \(exit 3\)/)])
    expect(failureMessage(report)).toMatch(/^fresh-deploy verdict stale: probe image failed.* heal 1 failed/)
  })

  test('a failed heal whose up left no running container rolls back; the verdict stays stale', async () => {
    const { report, transport } = await run({ deploy: [deployed('stale')], heal: [{ code: 3, records: [...purged, rec('after-failure', 'none')], outputTail: 'fresh-deploy: the rebuild of service web failed (compose exit 1)' }], rollback: [rolledBack()] })
    expect(transport.kinds()).toEqual(['deploy', 'heal', 'logs', 'rollback', 'logs'])
    expect(report.verdict).toBe('stale')
    expect(report.rolledBack).toBe(true)
    expect(report.notes[0]).toMatch(/^heal 1 failed/)
    expect(report.rollbackNote).toMatch(/^the failed rebuild left no running container of web \(no container of web is left\); put back image sha256:1111/)
  })

  test('a failed rollback keeps the unhealthy verdict and adds a note', async () => {
    const { report } = await run({ deploy: [deployed('unhealthy')], rollback: [{ code: 3, records: [], outputTail: 'fresh-deploy: the previous image sha256:1111 is gone' }] })
    expect(report.verdict).toBe('unhealthy')
    expect(report.rolledBack).toBe(false)
    expect(report.rollbackNote).toMatch(/^the rollback failed: rollback failed on the target \(exit 3\): .*is gone/)
    expect(report.notes).toEqual([report.rollbackNote])
    expect(failureMessage(report)).toMatch(/^fresh-deploy verdict unhealthy: probe health failed.* the rollback failed/)
  })

  test('verify: false: no verify step sent, every probe skipped, verdict unverified', async () => {
    const { report, transport } = await run({ deploy: [ok([...snapshot(), ...purged, ...rebuilt(1)])] }, { verify: 'false' })
    expect(report.verdict).toBe('unverified')
    expect(report.verified).toBe(false)
    expect(report.failed).toBe(false)
    expect(report.probes.every(p => p.verdict === 'skip' && p.reason === 'verify: false')).toBe(true)
    expect(transport.sent[0].script).not.toContain('fd_out step-done verify')
    expect(transport.kinds()).toEqual(['deploy'])
  })

  test('a step that throws: verdict error, the lock still released and the transport closed', async () => {
    const { report, transport } = await run({ deploy: [new Error('the ssh master went away')] })
    expect(report.verdict).toBe('error')
    expect(report.error).toBe('the ssh master went away')
    expect(transport.released).toBe(true)
    expect(transport.closed).toBe(true)
  })

  test('a rollback that throws, and logs that throw: the unhealthy verdict, the lock released, the transport closed', async () => {
    const { report, transport } = await run({ deploy: [deployed('unhealthy')], rollback: [new Error('connection reset')], logs: [new Error('no logs'), new Error('no logs')] })
    expect(report.verdict).toBe('unhealthy')
    expect(report.rollbackNote).toBe('the rollback failed: connection reset')
    expect(transport.released).toBe(true)
    expect(transport.closed).toBe(true)
  })
})

// strategy: start-first. The canned facts: compose config's output and how many containers run.
const config = (service: string): string => Buffer.from(`name: app\nservices:\n  web:\n${service}`).toString('base64')
const SERVICE_OK = '    build:\n      context: /srv/app\n    expose:\n      - "8080"\n'
const sfFacts = (service = SERVICE_OK, running = '1'): RemoteRecord[] => [rec('service-config', config(service)), rec('service-running', running)]
const OLD = 'c1'.padEnd(64, '1')
const NEW = (n: number): string => `c${n + 1}`.padEnd(64, String(n + 1))
/** startfirst.sh started container n+1 next to the old one; rebuild.sh was skipped (no records). */
const startedNext = (n: number): RemoteRecord[] => [
  rec('sf-network', 'app_default web api'),
  rec('old-container-id', OLD),
  ...rebuilt(n).filter(r => r.key !== 'step-done'),
  rec('step-done', 'startfirst'),
  rec('step-done', 'rebuild')
]
const built = [rec('step-done', 'build')]
const sfDeployed = (outcome: Outcome): RunResult => ok([...snapshot(), ...purged, ...built, ...startedNext(1), ...verified(1, outcome)])
const sfHealed = (n: number, outcome: Outcome): RunResult => ok([...purged, ...built, ...startedNext(n), ...verified(n, outcome)])
const cutOver = (): RunResult => ok([rec('cutover-named', '0.4'), rec('cutover-stopped', '3.9')])
const discarded = (): RunResult => ok([rec('log', 'Traceback: the new one failed'), rec('discarded', NEW(1))])

async function runStartFirst(answers: Partial<Record<Kind, Answer[]>>, over: Record<string, string> = {}, preflight = sfFacts()) {
  const transport = new ScriptedTransport({ logs: [logs, logs, logs], ...answers }, preflight)
  const report = await deploy(settings({ strategy: 'start-first', ...over }), silentReporter, { runId: RUN_ID, transport })
  return { report, transport }
}

describe('deploy() decisions with strategy: start-first', () => {
  test('fresh: build, a new container next to the old one, probes on it, then the cutover; the new one is the service', async () => {
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('fresh')], cutover: [cutOver()] })
    expect(report.verdict).toBe('fresh')
    expect(transport.kinds()).toEqual(['deploy', 'cutover'])
    const script = transport.sent[0].script
    // build.sh, then startfirst.sh; rebuild.sh only when startfirst.sh found nothing running.
    expect(script.indexOf('fd_out step-done build')).toBeLessThan(script.indexOf('fd_out step-done startfirst'))
    expect(script).toContain('if [ "${FD_SKIP_REBUILD:-}" != yes ]; then {')
    expect(script).toContain("FD_NO_BUILD='true'")
    const cut = transport.sent[1].script
    expect(cut).toContain(`FD_SF_OLD='${OLD}'`)
    expect(cut).toContain(`FD_SF_NEW='${NEW(1)}'`)
    expect(cut).toContain("FD_SF_NETWORKS='app_default web api'")
    expect(report.containerId).toBe(NEW(1))
    expect(report.rolledBack).toBe(false)
    expect(report.steps.find(x => x.name === 'cutover')?.note).toBe(`old ${OLD.slice(0, 12)} → new ${NEW(1).slice(0, 12)}; named in 0.4 s, old drained, stopped and removed in 3.9 s`)
  })

  test('the cutover cut short (connection lost): the clean-up waits for the detached cutover and keeps the new container once the old one stopped', async () => {
    const lost: RunResult = { code: 255, records: [], outputTail: 'waiting 3 s for proxies to see it' }
    const kept = ok([rec('kept', NEW(1))])
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('fresh')], cutover: [lost], discard: [kept] }, { 'stop-timeout': '8' })
    expect(transport.kinds()).toEqual(['deploy', 'cutover', 'discard', 'logs'])
    expect(report.verdict).toBe('error')
    // The clean-up names the old container (it removes the new one only if the old one still runs) and waits long enough.
    expect(transport.sent[2].script).toContain(`FD_SF_OLD='${OLD}'`)
    expect(transport.sent[2].script).toContain("FD_SF_WAIT='71'")
    expect(report.rolledBack).toBe(false)
    expect(report.keptPrevious).toBe(false)
    expect(report.containerId).toBe(NEW(1))
    expect(failureMessage(report)).toContain(`the cutover finished on the target: the new container ${NEW(1).slice(0, 12)} took the name`)
  })

  test('the cutover failed with the old container still running: the new one is removed, the old one serves on', async () => {
    const failed: RunResult = { code: 3, records: [], outputTail: 'the new container could not take the service name' }
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('fresh')], cutover: [failed], discard: [discarded()] })
    expect(transport.kinds()).toEqual(['deploy', 'cutover', 'discard', 'logs'])
    expect(transport.sent[2].script).toContain(`FD_SF_OLD='${OLD}'`)
    expect(report.verdict).toBe('error')
    expect(report.rolledBack).toBe(true)
    expect(report.containerId).toBe(OLD)
  })

  test('a new container removed before any cutover (unhealthy, stale): the clean-up does not wait for one', async () => {
    const { transport } = await runStartFirst({ deploy: [sfDeployed('unhealthy')], discard: [discarded()] })
    expect(transport.sent[1].script).not.toContain('FD_SF_OLD=')
  })

  test('unhealthy before the cutover: the new container is removed with its logs kept, no rollback script, the old one serves on', async () => {
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('unhealthy')], discard: [discarded()] })
    expect(report.verdict).toBe('unhealthy')
    expect(transport.kinds()).toEqual(['deploy', 'discard', 'logs'])
    expect(transport.sent[1].script).toContain(`FD_SF_NEW='${NEW(1)}'`)
    expect(report.rolledBack).toBe(true)
    expect(report.keptPrevious).toBe(true)
    expect(report.rollbackNote).toContain('the previous container kept serving')
    expect(report.failedLogs).toBe('Traceback: the new one failed')
    // The service's container after the deploy: the old one.
    expect(report.containerId).toBe(OLD)
    expect(report.imageId).toBe('sha256:1111')
    expect(failureMessage(report)).toContain('Rolled back: the previous container kept serving')
  })

  test('stale: the new container is removed before the heal, which starts another next to the same old one; fresh then cuts over', async () => {
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('stale')], discard: [discarded()], heal: [sfHealed(2, 'fresh')], cutover: [cutOver()] })
    expect(transport.kinds()).toEqual(['deploy', 'discard', 'heal', 'cutover'])
    expect(report.verdict).toBe('fresh')
    expect(report.rolledBack).toBe(false)
    expect(transport.sent[2].script).toContain(`FD_KNOWN_CID='${OLD}'`)
    expect(transport.sent[2].script).toContain('fd_out step-done startfirst')
    expect(transport.sent[3].script).toContain(`FD_SF_NEW='${NEW(2)}'`)
    expect(report.containerId).toBe(NEW(2))
  })

  test('still stale at the end: the new container is removed, the old one never stopped, verdict stale', async () => {
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('stale')], discard: [discarded()] }, { 'stale-retries': '0' })
    expect(transport.kinds()).toEqual(['deploy', 'discard', 'logs'])
    expect(report.verdict).toBe('stale')
    expect(report.rolledBack).toBe(true)
    expect(report.failedLogs).toBeUndefined()
    expect(report.containerId).toBe(OLD)
  })

  test('verify-from host: the http probe waits for the cutover; failing there is unhealthy and rolls back as recreate does', async () => {
    const noAnswer = ok([rec('http-deadline', '9'), rec('http-attempts', '3'), rec('http-status', '000'), rec('http-match', 'none'), rec('http-client', 'curl')])
    const { report, transport } = await runStartFirst(
      { deploy: [sfDeployed('fresh')], cutover: [cutOver()], http: [noAnswer], rollback: [rolledBack()] },
      { 'verify-url': 'http://127.0.0.1:8080/version', 'verify-timeout': '1' }
    )
    expect(transport.kinds()).toEqual(['deploy', 'cutover', 'http', 'logs', 'rollback', 'logs'])
    expect(report.verdict).toBe('unhealthy')
    expect(report.rolledBack).toBe(true)
    expect(report.keptPrevious).toBe(false)
    expect(report.probes.find(p => p.name === 'http')?.verdict).toBe('fail')
  })

  test('verify-from host before the cutover: http is skipped with the reason, never judged on the old container', async () => {
    const answer = ok([rec('http-deadline', '9'), rec('http-attempts', '1'), rec('http-status', '200'), rec('http-match', 'none'), rec('http-client', 'curl')])
    const { report } = await runStartFirst({ deploy: [sfDeployed('stale')], discard: [discarded()], http: [answer] }, { 'verify-url': 'http://127.0.0.1:8080/version', 'stale-retries': '0' })
    expect(report.probes.find(p => p.name === 'http')).toMatchObject({ verdict: 'skip', reason: expect.stringContaining('runs after the cutover') })
  })

  test('post-deploy runs in the new container before the cutover; failing there removes it, the old one serves on', async () => {
    const smokeFailed = ok([rec('hook-exit', '1')])
    const { report, transport } = await runStartFirst({ deploy: [sfDeployed('fresh')], smoke: [smokeFailed], discard: [discarded()] }, { 'post-deploy': 'python3 -m app.smoke' })
    expect(transport.kinds()).toEqual(['deploy', 'smoke', 'discard', 'logs'])
    expect(transport.sent[1].script).toContain(`FD_KNOWN_CID='${NEW(1)}'`)
    expect(report.verdict).toBe('unhealthy')
    expect(report.probes.find(p => p.name === 'smoke')?.verdict).toBe('fail')
    expect(report.keptPrevious).toBe(true)
    expect(report.containerId).toBe(OLD)
  })

  test('a first deploy (nothing running): recreated as with recreate, no cutover', async () => {
    const first = ok([...FIRST, ...purged, ...built, rec('start-first-skipped', 'no running container'), rec('step-done', 'startfirst'), ...rebuilt(1), ...verified(1, 'fresh')])
    const { report, transport } = await runStartFirst({ deploy: [first] })
    expect(report.verdict).toBe('fresh')
    expect(transport.kinds()).toEqual(['deploy'])
    expect(report.containerId).toBe(NEW(1))
  })

  test('a deploy that fails after the new container started removes it (never two containers left)', async () => {
    const broken: RunResult = { code: 3, records: [...snapshot(), ...purged, ...built, ...startedNext(1)], outputTail: 'fresh-deploy: the Docker engine went away' }
    const { report, transport } = await runStartFirst({ deploy: [broken], discard: [discarded()] })
    expect(report.verdict).toBe('error')
    expect(transport.kinds()).toEqual(['deploy', 'discard', 'logs'])
    expect(report.rolledBack).toBe(true)
  })

  test.each([
    ['container_name', '    container_name: web-1\n', '1', /sets container_name \("web-1"\): a second container cannot have the same name/],
    ['a fixed host port (v2 long form)', '    ports:\n      - mode: ingress\n        host_ip: 127.0.0.1\n        target: 8080\n        published: "8081"\n        protocol: tcp\n', '1', /publishes the fixed host port 127\.0\.0\.1:8081->8080: two containers cannot share it\. Put a reverse proxy in front/],
    ['a fixed host port (v1 short form)', '    ports:\n      - 8081:8080/tcp\n', '1', /fixed host port 8081->8080/],
    ['network_mode: host', '    network_mode: host\n', '1', /sets network_mode: host/],
    ['two running containers', SERVICE_OK, '2', /2 containers of service web run: start-first replaces exactly one/]
  ])('refused before anything changes: %s (verdict error, naming strategy, nothing sent)', async (_what, service, running, why) => {
    const { report, transport } = await runStartFirst({}, {}, sfFacts(service, running))
    expect(report.verdict).toBe('error')
    expect(report.error).toMatch(/^input strategy: /)
    expect(report.error).toMatch(why)
    expect(report.error).toMatch(/use strategy: recreate/)
    // Nothing but the read-only logs of the failed run.
    expect(transport.kinds()).toEqual(['logs'])
    expect(transport.released).toBe(true)
  })

  test('an ephemeral host port (container port only) is no refusal', async () => {
    const service = '    ports:\n      - mode: ingress\n        target: 8080\n        protocol: tcp\n'
    const { report } = await runStartFirst({ deploy: [sfDeployed('fresh')], cutover: [cutOver()] }, {}, sfFacts(service))
    expect(report.verdict).toBe('fresh')
  })

  test('recreate never sends the start-first scripts', async () => {
    const { transport } = await run({ deploy: [deployed('fresh')] })
    expect(transport.sent[0].script).not.toContain('fd_out step-done startfirst')
    expect(transport.sent[0].script).not.toContain('fd_out step-done build')
  })
})
