// Issue 16, several hosts: a rolling deploy with a canary, through the bundle, against three
// real sshd instances on loopback ports, the Docker engine and compose.
//
// On one machine the "hosts" share the Docker engine and the filesystem. Each sshd logs in as
// its own user (fdhost1..3, in the docker group, as the README's deploy user) whose home holds its
// own copy of examples/app in ~/app, with its own COMPOSE_PROJECT_NAME and port in that copy's
// .env. So project-dir is the same input for every host ("app", relative to the home) as it
// would be on real servers, each host has its own lock (~/.cache of its user), its own compose
// project, containers and rollback tag, and nothing in the action knows these are not three
// machines. The http probe runs inside each container (verify-from: container) at the port
// the app listens on there, the same for every host, as verify-url would be on real servers.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { startAction } from './hardening-helpers.js'
import { docker, httpGet, removeProject, runAction, serviceContainer, transcript, type ActionRun, type Project } from './harness.js'
import { IT_DIR, baseImage } from './paths.js'
import { authorizeUser, freePort, startSshd, stopSshd, type SshdInfo } from './sshd.js'

useEnvironment()

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..')
const USERS = ['fdhost1', 'fdhost2', 'fdhost3']

interface Host {
  user: string
  sshd: SshdInfo
  project: Project
  /** The host input's entry: user@127.0.0.1:port. */
  entry: string
}

const hosts: Host[] = []

function userHome(user: string): string {
  return execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5]
}

beforeAll(async () => {
  const dockerGid = execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2]
  let first: SshdInfo | undefined
  for (const [i, user] of USERS.entries()) {
    try {
      execFileSync('id', [user], { stdio: 'pipe' })
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', '-G', dockerGid, user])
    }
    // No password, but not locked: sshd (UsePAM no) refuses a locked account even with a key.
    execFileSync('usermod', ['-p', '*', user])
    const home = userHome(user)
    const dir = join(home, 'app')
    execFileSync('rm', ['-rf', dir])
    cpSync(join(ROOT, 'examples/app'), dir, { recursive: true, filter: src => !src.includes('__pycache__') })
    const port = await freePort()
    const name = `fdit-hosts-${i + 1}-${process.pid}`
    writeFileSync(join(dir, '.env'), `BASE_IMAGE=${baseImage()}\nAPP_PORT=${port}\nCOMPOSE_PROJECT_NAME=${name}\n`)
    // A loaded machine: python may need more than the example's 3 s per health check.
    const compose = join(dir, 'compose.yaml')
    writeFileSync(compose, readFileSync(compose, 'utf8').replace('timeout: 3s', 'timeout: 30s'))
    execFileSync('chown', ['-R', `${user}:`, dir])
    chmodSync(home, 0o755)
    // One key for every host (the ssh-key input), each sshd with its own host key.
    const sshd = await startSshd(mkdtempSync(join(IT_DIR, `sshd-${user}-`)), first ? { userKey: first.userKey } : {})
    first ??= sshd
    authorizeUser(sshd, user)
    hosts.push({ user, sshd, project: { dir, name, port, url: `http://127.0.0.1:${port}/version` }, entry: `${user}@127.0.0.1:${sshd.port}` })
  }
}, 60_000)

afterAll(() => {
  for (const h of hosts) {
    removeProject(h.project)
    stopSshd(h.sshd)
  }
  for (const user of USERS) {
    try {
      execFileSync('userdel', ['-r', '-f', user], { stdio: 'pipe' })
    } catch {
      /* best effort: a process of the user may still be ending */
    }
  }
})

const knownHosts = (): string => hosts.map(h => h.sshd.knownHosts).join('')

function inputs(list: string[], extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: list.join('\n'),
    'ssh-key': hosts[0].sshd.userKeyText,
    'ssh-known-hosts': knownHosts(),
    'project-dir': 'app',
    'verify-from': 'container',
    'verify-url': 'http://127.0.0.1:8080/version',
    'verify-interval': '1',
    'verify-timeout': '30',
    'health-timeout': '90',
    ...extra
  }
}

interface HostOut {
  host: string
  verdict: string
  verified: boolean
  'container-id': string
  'image-id': string
  'previous-image-id': string
  'rolled-back': boolean
  purged: number
  'duration-seconds': number
}

function hostsOut(run: ActionRun): HostOut[] {
  if (!run.outputs.hosts) throw new Error(`no hosts output\n${transcript(run)}`)
  return JSON.parse(run.outputs.hosts) as HostOut[]
}

async function revisionAt(h: Host): Promise<string> {
  const res = await httpGet(h.project.url)
  return res.status === 200 ? ((JSON.parse(res.body) as { revision: string }).revision ?? '') : `(http ${res.status})`
}

const logins = (h: Host): number => readFileSync(h.sshd.log, 'utf8').split('\n').filter(l => l.includes('Accepted publickey')).length

/** The ::group:: titles a run printed. */
const groups = (run: ActionRun): string[] => run.stdout.split('\n').filter(l => l.startsWith('::group::')).map(l => l.slice(9))

describe('several hosts', () => {
  test('three hosts one by one: all fresh, one ssh handshake per host, log groups name the host, a roll-up summary', async () => {
    const before = hosts.map(logins)
    const run = await runAction(inputs(hosts.map(h => h.entry), { ref: 'rev-1', 'verify-expect': 'rev-1' }))
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(run.outputs.verified).toBe('true')
    const out = hostsOut(run)
    expect(out.map(o => [o.host, o.verdict, o['rolled-back']])).toEqual(hosts.map(h => [h.entry, 'fresh', false]))
    for (const [i, h] of hosts.entries()) {
      expect(out[i]['container-id']).toBe(serviceContainer(h.project))
      expect(await revisionAt(h)).toBe('rev-1')
    }
    // Three projects, three containers.
    expect(new Set(out.map(o => o['container-id'])).size).toBe(3)
    // The single-valued outputs describe the last host reached.
    expect(run.outputs['container-id']).toBe(out[2]['container-id'])
    expect(run.outputs['image-id']).toBe(out[2]['image-id'])
    // One handshake per host (the master connection; the post step only asks it to exit).
    expect(hosts.map((h, i) => logins(h) - before[i])).toEqual([1, 1, 1])
    // Hosts one after the other, in the order given: each host's connect group before the next's.
    const g = groups(run)
    const connects = hosts.map(h => g.findIndex(t => t.startsWith(`connect (${h.entry}): `)))
    expect(connects.every(i => i >= 0)).toBe(true)
    expect([...connects].sort((a, b) => a - b)).toEqual(connects)
    expect(g.some(t => t.startsWith(`rebuild (${hosts[1].entry}): build and recreate backend`))).toBe(true)
    expect(g.indexOf(g.find(t => t.startsWith(`verify (${hosts[0].entry})`)) ?? '')).toBeLessThan(connects[1])
    expect(run.summary).toContain('| host | verdict | time | container | image |')
    for (const h of hosts) expect(run.summary).toContain(`### ${h.entry}: ✅ fresh`)
    // The post step closed every host's connection and removed every key copy.
    expect(run.post.code).toBe(0)
    expect(run.post.stdout.split('\n').filter(l => l.startsWith('closed the ssh connection'))).toHaveLength(3)
    expect(execFileSync('ls', ['-A', run.runnerTemp], { encoding: 'utf8' })).toBe('')
  }, 300_000)

  test('parallel: 2: the canary first, then hosts 2 and 3 together; all fresh', async () => {
    const run = await runAction(inputs(hosts.map(h => h.entry), { ref: 'rev-2', 'verify-expect': 'rev-2', parallel: '2' }))
    expectExit(run, 'zero')
    const out = hostsOut(run)
    expect(out.map(o => o.verdict)).toEqual(['fresh', 'fresh', 'fresh'])
    for (const h of hosts) expect(await revisionAt(h)).toBe('rev-2')
    // Hosts 2 and 3 overlapped: the run took less than the three deploys one after another.
    const sum = out.reduce((a, o) => a + o['duration-seconds'], 0)
    const overlap = Math.min(out[1]['duration-seconds'], out[2]['duration-seconds'])
    expect(Number(run.outputs['duration-seconds'])).toBeLessThan(sum - overlap / 2)
    // Buffered groups: a host's step group holds only its own step.
    expect(groups(run).filter(t => t.startsWith('rebuild (')).length).toBe(3)
  }, 300_000)

  test('host 2\'s build broken: host 1 fresh on the new version, host 2 still serves the old one, host 3 untouched', async () => {
    const before = hosts.map(h => serviceContainer(h.project))
    const dockerfile = join(hosts[1].project.dir, 'Dockerfile')
    const original = readFileSync(dockerfile, 'utf8')
    writeFileSync(dockerfile, `${original}RUN echo "broken on purpose" && exit 3\n`)
    const logins3 = logins(hosts[2])
    let run: ActionRun
    try {
      run = await runAction(inputs(hosts.map(h => h.entry), { ref: 'rev-3', 'verify-expect': 'rev-3' }))
    } finally {
      writeFileSync(dockerfile, original)
    }
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('error')
    const out = hostsOut(run)
    expect(out.map(o => o.verdict)).toEqual(['fresh', 'error', 'skip'])
    expect(await revisionAt(hosts[0])).toBe('rev-3')
    // The build failed before the recreate: the old container still runs the old version.
    expect(serviceContainer(hosts[1].project)).toBe(before[1])
    expect(await revisionAt(hosts[1])).toBe('rev-2')
    // Host 3 not touched at all: same container, no login.
    expect(serviceContainer(hosts[2].project)).toBe(before[2])
    expect(await revisionAt(hosts[2])).toBe('rev-2')
    expect(logins(hosts[2])).toBe(logins3)
    expect(out[2]['container-id']).toBe('')
    // Single-valued outputs: the last host reached, host 2 (its build failed: no new container).
    expect(run.outputs['container-id']).toBe('')
    expect(run.outputs['previous-image-id']).toBe(docker('inspect', '--format', '{{.Image}}', before[1]))
    expect(run.outputs['rolled-back']).toBe('false')
    const annotation = errors(run).join('\n')
    expect(annotation).toContain(hosts[1].entry)
    expect(annotation).toContain(`Not reached (untouched): ${hosts[2].entry}`)
    expect(run.summary).toContain(`| ${hosts[2].entry} | ⏭️ skip: not reached: ${hosts[1].entry} ended with verdict error |`)
    expect(docker('ps', '-a', '--filter', `label=com.docker.compose.project=${hosts[1].project.name}`, '--format', '{{.State}}')).toBe('running')
  }, 300_000)

  test('an impostor host key on host 2 stops the rollout there: nothing changed on host 2, host 3 not reached', async () => {
    // Host 2's line carries host 1's key: strict checking refuses host 2 before anything runs there.
    const impostor = knownHosts().replace(hosts[1].sshd.knownHosts, hosts[1].sshd.knownHosts.replace(/ \S+ \S+\n$/, ` ${hosts[0].sshd.knownHosts.split(' ').slice(1).join(' ')}`))
    expect(impostor).not.toBe(knownHosts())
    const before = hosts.map(h => serviceContainer(h.project))
    const logins2 = logins(hosts[1])
    const run = await runAction(inputs(hosts.map(h => h.entry), { ref: 'rev-4', 'verify-expect': 'rev-4', 'ssh-known-hosts': impostor }))
    expectExit(run, 'non-zero')
    const out = hostsOut(run)
    expect(out.map(o => o.verdict)).toEqual(['fresh', 'error', 'skip'])
    expect(errors(run).join('\n')).toMatch(/host key of fdhost2@127\.0\.0\.1:\d+ is not the pinned one/)
    expect(logins(hosts[1])).toBe(logins2)
    expect(serviceContainer(hosts[1].project)).toBe(before[1])
    expect(serviceContainer(hosts[2].project)).toBe(before[2])
    expect(await revisionAt(hosts[1])).toBe('rev-2')
    expect(run.post.code).toBe(0)
  }, 300_000)

  test('cancelled (SIGINT, then SIGTERM, as the runner sends them) while host 1 rebuilds: host 1 finishes, hosts 2 and 3 are not started, no lock left, the key removed', async () => {
    const before = hosts.map(h => serviceContainer(h.project))
    const started = startAction(inputs(hosts.map(h => h.entry), { ref: 'rev-6', 'verify-expect': 'rev-6' }))
    await started.waitFor(new RegExp(`^::group::rebuild \\(${hosts[0].entry.replace(/\./g, '\\.')}\\)`), 120_000)
    started.child.kill('SIGINT')
    await new Promise(r => setTimeout(r, 1000))
    started.child.kill('SIGTERM')
    const run = await started.done
    expectExit(run, 'non-zero')
    expect(run.stdout).toMatch(/^::warning::.*SIGINT: the run is cancelled; no further host is started/m)
    const out = hostsOut(run)
    expect(out.map(o => o.verdict)).toEqual(['fresh', 'skip', 'skip'])
    expect(await revisionAt(hosts[0])).toBe('rev-6')
    expect(hosts.slice(1).map(h => serviceContainer(h.project))).toEqual(before.slice(1))
    expect(errors(run).join('\n')).toContain('the run was cancelled')
    // No lock left held on host 1 (a holder file or a mkdir lock), the key copies gone after the post step.
    const locks = join(userHome(hosts[0].user), '.cache/fresh-deploy/locks')
    expect(execFileSync('ls', ['-A', locks], { encoding: 'utf8' }).split('\n').filter(f => f.endsWith('.info') || f.endsWith('.d'))).toEqual([])
    expect(run.post.code).toBe(0)
    expect(execFileSync('ls', ['-A', run.runnerTemp], { encoding: 'utf8' })).toBe('')
  }, 300_000)

  test('an unreachable canary: nothing is touched anywhere, whatever parallel says', async () => {
    const dead = `fdhost1@127.0.0.1:${await freePort()}`
    const before = hosts.map(h => serviceContainer(h.project))
    const run = await runAction(inputs([dead, hosts[1].entry, hosts[2].entry], { ref: 'rev-5', parallel: '2', 'connect-timeout': '5' }))
    expectExit(run, 'non-zero')
    const out = hostsOut(run)
    expect(out.map(o => o.verdict)).toEqual(['error', 'skip', 'skip'])
    expect(errors(run).join('\n')).toContain(`cannot connect to ${dead}`)
    expect(hosts.map(h => serviceContainer(h.project))).toEqual(before)
    expect(run.outputs['container-id']).toBe('')
  }, 120_000)

  test('the command line: --host repeated, plan on every host (one line per step and host, the roll-up), nothing changed', async () => {
    const before = hosts.map(h => serviceContainer(h.project))
    const keyFile = join(hosts[0].sshd.dir, 'user_ed25519')
    const args = [join(ROOT, 'dist/cli.js'), 'plan', ...hosts.flatMap(h => ['--host', h.entry]), '--ssh-key-file', keyFile, '--ssh-known-hosts', knownHosts(), '--project-dir', 'app', '--parallel', '2']
    const res = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: IT_DIR, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' }, timeout: 120_000 })
    const text = `${res.stdout}\n${res.stderr}`
    expect({ code: res.status, text }).toMatchObject({ code: 0 })
    for (const h of hosts) {
      expect(res.stdout).toContain(`✓ connect (${h.entry})`)
      expect(res.stdout).toMatch(new RegExp(`^ {2}${h.entry.replace(/\./g, '\\.')} +dry-run `, 'm'))
    }
    expect(res.stdout).toMatch(/^hosts$/m)
    expect(res.stdout.trim().split('\n').pop()).toMatch(/^plan: the plan above; nothing was changed \(3 of 3 hosts\)$/)
    expect(hosts.map(h => serviceContainer(h.project))).toEqual(before)
  }, 120_000)

  test('refused before anything changes, naming the input: a host listed twice, an empty entry, a fingerprint with several hosts', async () => {
    const before = hosts.map(logins)
    const twice = await runAction(inputs([hosts[0].entry, hosts[1].entry, hosts[0].entry]))
    expectExit(twice, 'non-zero')
    expect(errors(twice).join('\n')).toMatch(/input host: .* is listed twice/)
    const empty = await runAction({ ...inputs([]), host: `${hosts[0].entry},,${hosts[1].entry}` })
    expect(errors(empty).join('\n')).toMatch(/input host: .*an entry is empty/)
    const fp = await runAction(inputs(hosts.map(h => h.entry), { 'ssh-known-hosts': '', 'ssh-host-fingerprint': hosts[0].sshd.fingerprint }))
    expect(errors(fp).join('\n')).toMatch(/input ssh-host-fingerprint: .*host lists 3 hosts/)
    expect(hosts.map(logins)).toEqual(before)
  }, 120_000)
})
