// Several hosts without ssh or Docker: the host list (entries, refusals), the rollout's order and
// stop decisions with a stand-in for deploy(), the per-host reporter, and what the action and the
// command line make of a rollout (outputs, summary, failure message, --json, terminal lines).
import { getSettings, InputError, parseHostList } from '../../src/engine/input-helper.js'
import type { Verdict } from '../../src/engine/probes.js'
import { Report } from '../../src/engine/report.js'
import { silentReporter, type Reporter, type StepName, type StepRecord } from '../../src/engine/reporter.js'
import { continues, HostReporter, hostsObjects, rollout, worstVerdict, type DeployOne } from '../../src/engine/rollout.js'
import type { Settings } from '../../src/engine/settings.js'
import { rolloutFailureMessage } from '../../src/action/main.js'
import { buildRolloutSummary, buildSummary } from '../../src/action/summary.js'
import { parseCommandLine } from '../../src/cli/args.js'
import { jsonRollout, rollupLines, rolloutVerdictLine } from '../../src/cli/output.js'
import { FAKE_KEY, FINGERPRINT, inputs, KNOWN_HOSTS_LINE } from './inputs.js'

const SSH = { 'ssh-key': FAKE_KEY, 'ssh-known-hosts': KNOWN_HOSTS_LINE }

function settings(over: Record<string, string>): Settings {
  return getSettings(inputs({ ...SSH, ...over }))
}

function refused(over: Record<string, string>): InputError {
  try {
    settings(over)
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    return e as InputError
  }
  throw new Error(`accepted ${JSON.stringify(over)}`)
}

describe('the host list', () => {
  test('one per line or comma-separated, [user@]host[:port], IPv6 bare or in brackets; port and username are the defaults', () => {
    const s = settings({ host: 'web1.example.com, deploy@web2.example.com:2222\n\n[2001:db8::1]:2200\n2001:db8::2\n', port: '2022', username: 'ops' })
    expect(s.hosts?.map(h => [h.label, h.ssh.username, h.ssh.host, h.ssh.port])).toEqual([
      ['web1.example.com', 'ops', 'web1.example.com', 2022],
      ['deploy@web2.example.com:2222', 'deploy', 'web2.example.com', 2222],
      ['[2001:db8::1]:2200', 'ops', '2001:db8::1', 2200],
      ['2001:db8::2', 'ops', '2001:db8::2', 2022]
    ])
    // The first host is what a single-host run uses.
    expect(s.ssh).toBe(s.hosts?.[0].ssh)
    expect(s.parallel).toBe(1)
  })

  test('one host is what it always was', () => {
    const s = settings({ host: 'deploy.example.com', port: '2222', username: 'deploy' })
    expect(s.hosts).toHaveLength(1)
    expect(s.ssh).toMatchObject({ host: 'deploy.example.com', port: 2222, username: 'deploy' })
    expect(settings({ host: '' }).hosts).toBeUndefined()
  })

  test('the command line: an entry\'s own port counts as given (~/.ssh/config\'s Port does not apply to it)', () => {
    const s = getSettings(inputs({ host: 'a\nb:2200' }), { terminal: { keyFile: '', portSet: false } })
    expect(s.hosts?.map(h => h.ssh.terminal?.portSet)).toEqual([false, true])
  })

  test.each([
    ['a,,b', 'empty'],
    ['a,', 'empty'],
    [',a', 'empty'],
    ['a\n , \nb', 'empty']
  ])('an empty entry in %j is refused, naming host', (host, word) => {
    const e = refused({ host })
    expect(e.input).toBe('host')
    expect(e.message).toContain(word)
    expect(e.message).toContain(JSON.stringify(host))
  })

  test.each([
    ['a.example.com\nb.example.com\na.example.com', '"a.example.com" is listed twice'],
    ['A.example.com, a.example.com:22', 'listed twice'],
    ['ops@a, a', 'listed twice']
  ])('a host listed twice (%j) is refused, naming host', (host, text) => {
    const e = refused({ host, username: 'ops' })
    expect(e.input).toBe('host')
    expect(e.message).toContain(text)
  })

  test('the same host as two different users, or on two ports, is two logins (not a duplicate)', () => {
    expect(settings({ host: 'one@a, two@a' }).hosts).toHaveLength(2)
    expect(settings({ host: 'a:2201, a:2202' }).hosts).toHaveLength(2)
  })

  test.each(['a:0', 'a:65536', 'a:x', 'a:', '[::1]:', 'a b', 'a@', 'b;id'])('entry %j is refused, naming host and the entry', entry => {
    const e = refused({ host: `ok.example.com\n${entry}` })
    expect(e.input).toBe('host')
    expect(e.message).toContain(JSON.stringify(entry.trim()).slice(1, -1))
  })

  test('ssh-host-fingerprint with several hosts is refused, naming ssh-host-fingerprint', () => {
    const e = refused({ host: 'a, b', 'ssh-known-hosts': '', 'ssh-host-fingerprint': FINGERPRINT })
    expect(e.input).toBe('ssh-host-fingerprint')
    expect(e.message).toContain('ssh-known-hosts')
    // With one host it stays allowed.
    expect(settings({ host: 'a', 'ssh-known-hosts': '', 'ssh-host-fingerprint': FINGERPRINT }).ssh?.hostFingerprint).toBe(FINGERPRINT)
  })

  test.each(['0', '-1', 'two', '1.5'])('parallel %j is refused', parallel => {
    const e = refused({ host: 'a, b', parallel })
    expect(e.input).toBe('parallel')
    expect(e.message).toContain(JSON.stringify(parallel))
  })

  test('parseHostList keeps the entries as given (labels)', () => {
    expect(parseHostList(' u@h:1 ,[::1]:2\n').map(e => e.label)).toEqual(['u@h:1', '[::1]:2'])
  })

  test('--host repeated on the command line is the list, in order', async () => {
    const inv = await parseCommandLine(['--host', 'a', '--host', 'b:2200', '--project-dir', 'p', '--parallel', '2'], '/nonexistent')
    expect(inv.values.get('host')).toBe('a\nb:2200')
    expect(inv.values.get('parallel')).toBe('2')
  })
})

describe('worst verdict', () => {
  test('error, unhealthy, stale, unverified, fresh', () => {
    expect(worstVerdict(['fresh', 'unverified'])).toBe('unverified')
    expect(worstVerdict(['fresh', 'stale', 'unverified'])).toBe('stale')
    expect(worstVerdict(['stale', 'unhealthy', 'fresh'])).toBe('unhealthy')
    expect(worstVerdict(['unhealthy', 'error'])).toBe('error')
    expect(worstVerdict(['fresh', 'fresh'])).toBe('fresh')
    expect(worstVerdict([])).toBe('error')
    expect(['fresh', 'unverified', 'dry-run', 'stale', 'unhealthy', 'error'].map(v => continues(v as Verdict))).toEqual([true, true, true, false, false, false])
  })
})

interface Call {
  host: string
  start: number
  end: number
}

/** A deploy() stand-in: each host ends after its delay with its verdict; records the order. */
function stub(verdicts: Record<string, Verdict>, delays: Record<string, number> = {}): { deployOne: DeployOne; calls: Call[]; inFlightMax: () => number } {
  const calls: Call[] = []
  let clock = 0
  let inFlight = 0
  let max = 0
  const deployOne: DeployOne = async (s, log) => {
    const host = s.ssh?.host ?? ''
    const call: Call = { host, start: clock++, end: -1 }
    calls.push(call)
    inFlight++
    max = Math.max(max, inFlight)
    const report = new Report(log)
    await report.step('connect', host, async note => note(host))
    await new Promise(r => setTimeout(r, delays[host] ?? 5))
    report.verdict = verdicts[host] ?? 'fresh'
    report.containerId = `${host}-container`.padEnd(64, '0')
    report.imageId = `sha256:${host}`
    if (report.verdict === 'unhealthy') {
      report.rolledBack = true
      report.rollbackNote = 'put back image sha256:old'
    }
    inFlight--
    call.end = clock++
    return report
  }
  return { deployOne, calls, inFlightMax: () => max }
}

const hostsOf = (n: number): string => Array.from({ length: n }, (_, i) => `h${i + 1}`).join('\n')

describe('rollout', () => {
  test('one by one in the order given; all fresh', async () => {
    const st = stub({})
    const r = await rollout(settings({ host: hostsOf(4) }), () => silentReporter, { deployOne: st.deployOne })
    expect(st.calls.map(c => c.host)).toEqual(['h1', 'h2', 'h3', 'h4'])
    // Strictly one after the other.
    for (let i = 1; i < st.calls.length; i++) expect(st.calls[i].start).toBeGreaterThan(st.calls[i - 1].end)
    expect(r.verdict).toBe('fresh')
    expect(r.last?.label).toBe('h4')
    expect(r.outcomes.every(o => o.report && !o.skipReason)).toBe(true)
  })

  test('parallel 2: the canary alone, then two at a time, never more', async () => {
    const st = stub({}, { h2: 30, h3: 10, h4: 10, h5: 10 })
    await rollout(settings({ host: hostsOf(5), parallel: '2' }), () => silentReporter, { deployOne: st.deployOne })
    const [canary, ...rest] = st.calls
    expect(canary.host).toBe('h1')
    for (const c of rest) expect(c.start).toBeGreaterThan(canary.end)
    expect(st.inFlightMax()).toBe(2)
    // h2 and h3 start together; h4 takes the place of the first to end (h3).
    const h4 = st.calls.find(c => c.host === 'h4') as Call
    expect(h4.start).toBeGreaterThan((st.calls.find(c => c.host === 'h3') as Call).end)
    expect(h4.start).toBeLessThan((st.calls.find(c => c.host === 'h2') as Call).end)
  })

  test('parallel larger than the hosts: the canary, then all the others at once', async () => {
    const st = stub({})
    await rollout(settings({ host: hostsOf(3), parallel: '10' }), () => silentReporter, { deployOne: st.deployOne })
    expect(st.calls.map(c => c.host)).toEqual(['h1', 'h2', 'h3'])
    expect(st.inFlightMax()).toBe(2)
  })

  test('a failed canary stops everything: no other host is touched', async () => {
    const st = stub({ h1: 'stale' })
    const r = await rollout(settings({ host: hostsOf(3), parallel: '3' }), () => silentReporter, { deployOne: st.deployOne })
    expect(st.calls.map(c => c.host)).toEqual(['h1'])
    expect(r.verdict).toBe('stale')
    expect(r.outcomes.map(o => o.skipReason)).toEqual([undefined, 'not reached: h1 ended with verdict stale', 'not reached: h1 ended with verdict stale'])
  })

  test('sequential: the second host unhealthy → the third is not reached; verdict the worst; last reached is the second', async () => {
    const st = stub({ h2: 'unhealthy' })
    const r = await rollout(settings({ host: hostsOf(3) }), () => silentReporter, { deployOne: st.deployOne })
    expect(st.calls.map(c => c.host)).toEqual(['h1', 'h2'])
    expect(r.verdict).toBe('unhealthy')
    expect(r.last?.label).toBe('h2')
    expect(r.worst?.label).toBe('h2')
    expect(r.outcomes[2].report).toBeUndefined()
  })

  test('parallel 2: a host that fails while another is in flight lets that one finish; later hosts are not started', async () => {
    const st = stub({ h2: 'error' }, { h2: 5, h3: 40 })
    const r = await rollout(settings({ host: hostsOf(5), parallel: '2' }), () => silentReporter, { deployOne: st.deployOne })
    expect(st.calls.map(c => c.host)).toEqual(['h1', 'h2', 'h3'])
    expect(r.outcomes.map(o => o.report?.verdict ?? 'skip')).toEqual(['fresh', 'error', 'fresh', 'skip', 'skip'])
    expect(r.verdict).toBe('error')
    // The single-valued outputs: the last host reached in the order given.
    expect(r.last?.label).toBe('h3')
  })

  test('unverified goes on (verify: false on every host is a choice, not a failure)', async () => {
    const st = stub({ h1: 'unverified', h2: 'unverified' })
    const r = await rollout(settings({ host: hostsOf(2) }), () => silentReporter, { deployOne: st.deployOne })
    expect(st.calls).toHaveLength(2)
    expect(r.verdict).toBe('unverified')
  })

  test('cancelled: no host starts after the cancel; the one in flight finishes', async () => {
    let cancelled = false
    const st = stub({})
    const deployOne: DeployOne = async (s, log, o) => {
      const report = await st.deployOne(s, log, o)
      if (s.ssh?.host === 'h2') cancelled = true
      return report
    }
    const r = await rollout(settings({ host: hostsOf(4) }), () => silentReporter, { deployOne, cancelled: () => cancelled })
    expect(st.calls.map(c => c.host)).toEqual(['h1', 'h2'])
    expect(r.outcomes[2].skipReason).toBe('not reached: the run was cancelled')
    // The hosts reached are fresh, but the run is no success.
    expect(r.verdict).toBe('fresh')
    expect(r.cancelled).toBe(true)
    expect(rolloutFailureMessage(r)).toBe('fresh-deploy: the run was cancelled; the hosts reached are fresh. Not reached (untouched): h3, h4.')
    expect(rolloutVerdictLine(r, 'deploy', false)).toBe('cancelled: 2 of 4 hosts reached (fresh at worst, on h1); 2 host(s) not reached (untouched)')
    expect(buildRolloutSummary(r, 'x')).toContain('> **Cancelled:**')
  })

  test('a deploy that throws (a bug) is that host\'s error and stops the rollout; it never cuts off the others', async () => {
    const deployOne: DeployOne = async s => {
      if (s.ssh?.host === 'h2') throw new Error('boom')
      const r = new Report(silentReporter)
      r.verdict = 'fresh'
      return r
    }
    const r = await rollout(settings({ host: hostsOf(3) }), () => silentReporter, { deployOne })
    expect(r.outcomes.map(o => [o.report?.verdict ?? 'skip', o.report?.error ?? ''])).toEqual([
      ['fresh', ''],
      ['error', 'boom'],
      ['skip', '']
    ])
  })

  test('every host gets its own settings (its connection) and the same run id', async () => {
    const seen: [string, number, string | undefined][] = []
    const deployOne: DeployOne = async (s, log, o) => {
      seen.push([s.ssh?.host ?? '', s.ssh?.port ?? 0, o.runId])
      const r = new Report(log)
      r.verdict = 'fresh'
      return r
    }
    await rollout(settings({ host: 'a:2201\nb:2202' }), () => silentReporter, { deployOne, runId: 'run-7' })
    expect(seen).toEqual([
      ['a', 2201, 'run-7'],
      ['b', 2202, 'run-7']
    ])
  })
})

/** Records what a front end is told. */
class Recorder implements Reporter {
  lines: string[] = []
  stepStarted(name: StepName, title: string): void {
    this.lines.push(`start ${name}: ${title}`)
  }
  stepEnded(step: StepRecord): void {
    this.lines.push(`end ${step.name} ${step.status}`)
  }
  info(text: string): void {
    this.lines.push(`info ${text}`)
  }
  warning(text: string): void {
    this.lines.push(`warning ${text}`)
  }
  debug(text: string): void {
    this.lines.push(`debug ${text}`)
  }
  untrusted(text: string): void {
    this.lines.push(`untrusted ${text}`)
  }
  block(title: string): void {
    this.lines.push(`block ${title}`)
  }
  secret(value: string): void {
    this.lines.push(`secret ${value}`)
  }
}

describe('HostReporter', () => {
  test('step names carry the host: "rebuild (web2.example.com): …"; the host\'s report keeps the plain names', async () => {
    const rec = new Recorder()
    const report = new Report(new HostReporter(rec, 'web2.example.com'))
    await report.step('rebuild', 'build and recreate backend', async () => undefined)
    expect(rec.lines).toEqual(['start rebuild (web2.example.com): build and recreate backend', 'end rebuild (web2.example.com) ok'])
    expect(report.steps[0].name).toBe('rebuild')
  })

  test('buffered (several hosts at once): a step\'s lines come out together when it ends; secrets at once', async () => {
    const rec = new Recorder()
    const a = new Report(new HostReporter(rec, 'a', true))
    const b = new Report(new HostReporter(rec, 'b', true))
    let releaseA: () => void = () => undefined
    const stepA = a.step('rebuild', 'A', async () => {
      a.log.untrusted('a1')
      a.log.secret('s3cret')
      await new Promise<void>(r => (releaseA = r))
      a.log.untrusted('a2')
    })
    await b.step('rebuild', 'B', async () => b.log.untrusted('b1'))
    releaseA()
    await stepA
    b.log.info('between steps')
    expect(rec.lines).toEqual(['secret s3cret', 'start rebuild (b): B', 'untrusted b1', 'end rebuild (b) ok', 'start rebuild (a): A', 'untrusted a1', 'untrusted a2', 'end rebuild (a) ok', 'info (b) between steps'])
  })

  test('warnings name their host', () => {
    const rec = new Recorder()
    new HostReporter(rec, 'web3').warning('purge: x')
    expect(rec.lines).toEqual(['warning web3: purge: x'])
  })
})

describe('outputs, summary and messages of a rollout', () => {
  async function sample(): Promise<Awaited<ReturnType<typeof rollout>>> {
    const st = stub({ h2: 'unhealthy' })
    return rollout(settings({ host: 'h1\nh2\nh3' }), () => silentReporter, { deployOne: st.deployOne })
  }

  test('hosts: one object per host in the order given, the contract\'s keys; a host not reached is skip', async () => {
    const objects = hostsObjects(await sample())
    expect(objects.map(o => Object.keys(o).sort())).toEqual(
      Array(3).fill(['container-id', 'duration-seconds', 'host', 'image-id', 'previous-image-id', 'purged', 'rolled-back', 'verdict', 'verified'])
    )
    expect(objects.map(o => [o.host, o.verdict, o.verified, o['rolled-back']])).toEqual([
      ['h1', 'fresh', true, false],
      ['h2', 'unhealthy', false, true],
      ['h3', 'skip', false, false]
    ])
    expect(objects[2]['container-id']).toBe('')
    expect(typeof objects[0]['duration-seconds']).toBe('number')
  })

  test('the summary: a roll-up table, then each host reached with its steps', async () => {
    const md = buildRolloutSummary(await sample(), 'rev-9')
    expect(md).toContain('## fresh-deploy ❌ unhealthy')
    expect(md).toContain('| host | verdict | time | container | image |')
    expect(md).toMatch(/\| h1 \| ✅ fresh \| [\d.]+ s \| `h1-container` \| `sha256:h1` \|/)
    expect(md).toMatch(/\| h2 \| ❌ unhealthy \(rolled back\) \|/)
    expect(md).toContain('| h3 | ⏭️ skip: not reached: h2 ended with verdict unhealthy |')
    expect(md).toContain('### h1: ✅ fresh')
    expect(md).toContain('### h2: ❌ unhealthy')
    expect(md).not.toContain('### h3')
    expect(md).toContain('#### Steps')
    expect(md.indexOf('### Hosts')).toBeLessThan(md.indexOf('### h1'))
  })

  test('the single-host summary is unchanged in shape (### Steps, no roll-up)', () => {
    const r = new Report(silentReporter)
    r.verdict = 'fresh'
    const md = buildSummary(r)
    expect(md).toContain('### Steps')
    expect(md).not.toContain('### Hosts')
  })

  test('the failure annotation names the failed host and the hosts not reached', async () => {
    const msg = rolloutFailureMessage(await sample())
    expect(msg).toMatch(/^h2: fresh-deploy verdict unhealthy/)
    expect(msg).toContain('Not reached (untouched): h3.')
  })

  test('--json: the action\'s outputs plus hosts and every host\'s steps', async () => {
    const json = jsonRollout(await sample(), 'rev-9')
    expect(json.verdict).toBe('unhealthy')
    expect(json.verified).toBe(false)
    expect(json.revision).toBe('rev-9')
    expect(json['container-id']).toBe('h2-container'.padEnd(64, '0'))
    expect((json.hosts as unknown[]).length).toBe(3)
    expect((json.steps as { host: string }[]).map(s => s.host)).toEqual(['h1', 'h2'])
  })

  test('terminal: one roll-up line per host; the verdict line names the failed host', async () => {
    const r = await sample()
    const lines = rollupLines(r, false)
    expect(lines[0]).toBe('hosts')
    expect(lines[1]).toMatch(/^ {2}h1 +fresh +[\d.]+ s {2}h1-container {2}sha256:h1$/)
    expect(lines[2]).toMatch(/^ {2}h2 +unhealthy .*rolled back$/)
    expect(lines[3]).toMatch(/^ {2}h3 +skip +not reached: h2 ended with verdict unhealthy$/)
    expect(rolloutVerdictLine(r, 'deploy', false)).toMatch(/^unhealthy: .* — on h2; 1 of 3 host\(s\) not reached \(untouched\)$/)
  })
})
