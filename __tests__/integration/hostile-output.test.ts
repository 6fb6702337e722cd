// Issue 11 items 5 and 15: what the build and the app print reaches the runner's stdout. A
// line that looks like a result record ("@@fd …") must not change the verdict, and no workflow
// command in build output, service logs or probe evidence may act, in either syntax ("::" or
// the legacy "##[" anywhere in a line), counted with a model of the runner's own parser.
import { jest } from '@jest/globals'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { effectiveCommands } from '../runner-commands.js'
import { expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { makeProject, probe, projectInputs, removeProject, runAction, sshInputs, transcript, type ActionRun, type Project } from './harness.js'

useEnvironment()

// The machine is shared with parallel test runs: a deploy may take minutes.
const SLOW_RUN = { timeoutMs: 900_000 }
jest.setTimeout(1_800_000)

/**
 * The example's healthcheck starts python every second; on this shared machine, loaded by
 * parallel test runs, those pile up and time out. These tests are about other things: a check
 * that costs nothing (the http probe still asks the app itself).
 */
function cheapHealthcheck(dir: string): void {
  const file = join(dir, 'compose.yaml')
  writeFileSync(file, readFileSync(file, 'utf8').replace(/test: \[.*\]/, 'test: ["CMD", "true"]').replace('interval: 1s', 'interval: 2s'))
}

// Printed by the build (compose v1 streams RUN output as bare lines) and at the app's start.
const FORGED_RECORDS = ['@@fd step-done rebuild', '@@fd http-error forged: no http client', '@@fd health fail forged', '@@fd input-error service forged']
const FORGED_COMMANDS = ['##[stop-commands]forged-stop', '::add-mask::forged-mask', '##[add-mask]forged-legacy-mask', 'x ##[error]forged-legacy-error', '  ::error::forged-error', '##[group]forged-group']

/** Only fresh-deploy's own commands acted: nothing whose text holds "forged". */
function expectNoForgedCommand(run: ActionRun): void {
  // Our own ::error quotes the evidence (the body): it is the one command that may hold "forged".
  const acted = effectiveCommands(run.stdout).filter(c => !(c.name === 'error' && c.data.startsWith('fresh-deploy verdict ')))
  const forged = acted.filter(c => `${c.name} ${c.data}`.includes('forged'))
  if (forged.length > 0) throw new Error(`forged workflow commands acted: ${JSON.stringify(forged)}\n${transcript(run)}`)
  // fresh-deploy's own: the key's masks, groups, debug, warnings; never an error of the app's.
  expect(acted.filter(c => c.name.toLowerCase() === 'error')).toEqual([])
}

describe('hostile output from the build and the app (compose v1: raw build output)', () => {
  let p: Project
  beforeAll(async () => {
    p = await makeProject('hostile-output')
    cheapHealthcheck(p.dir)
    const printf = [...FORGED_RECORDS, ...FORGED_COMMANDS].map(l => l.replace(/'/g, '')).join('\\n')
    // After ARG REVISION, so that each deploy runs it again (a cached step prints nothing).
    const dockerfile = readFileSync(join(p.dir, 'Dockerfile'), 'utf8').replace('WORKDIR /app', `WORKDIR /app\nRUN printf '${printf}\\n%s\\n' "$REVISION"`)
    writeFileSync(join(p.dir, 'Dockerfile'), dockerfile)
    const server = join(p.dir, 'src/app/server.py')
    const lines = [...FORGED_RECORDS, ...FORGED_COMMANDS].map(l => `    print(${JSON.stringify(l)}, flush=True)`).join('\n')
    writeFileSync(server, readFileSync(server, 'utf8').replace('    port = int(', `${lines}\n    port = int(`))
    // The /version body (the http probe's evidence) carries commands too.
    writeFileSync(join(p.dir, 'src/app/version.py'), `VERSION = ${JSON.stringify('v1 ##[stop-commands]forged-body ::warning::forged-body')}\n`)
  })
  afterAll(() => removeProject(p))

  test('forged records in the build output change nothing: fresh; no forged command acts', async () => {
    const run = await runAction({ ...sshInputs(), ...projectInputs(p, { 'compose-command': 'docker-compose', ref: `hostile-${Date.now()}`, 'health-timeout': '300' }) }, SLOW_RUN)
    expectExit(run, 'zero')
    // The build's lines did reach the log (as text).
    expect(run.stdout).toContain('@@fd http-error forged: no http client')
    expect(run.stdout).toContain('x ## [error]forged-legacy-error')
    expect(run.outputs.verdict).toBe('fresh')
    expect(probe(run, 'http').verdict).toBe('pass')
    expect(probe(run, 'health').verdict).toBe('pass')
    expect(run.outputs['container-id']).toMatch(/^[0-9a-f]{64}$/)
    expectNoForgedCommand(run)
  })

  test('a stale deploy prints the evidence, the annotation and the service logs: only our one ::error acts', async () => {
    const run = await runAction({
      ...sshInputs(),
      ...projectInputs(p, { 'compose-command': 'docker-compose', ref: `hostile-${Date.now()}`, 'verify-expect': 'text-not-in-the-body', 'stale-retries': '0', 'verify-timeout': '30', 'health-timeout': '300' })
    }, SLOW_RUN)
    expectExit(run, 'non-zero')
    expect(run.outputs.verdict).toBe('stale')
    expect(probe(run, 'http').found).toContain('forged-body')
    // The service's logs (the app's own forged lines) and the evidence were printed.
    expect(run.stdout).toContain('::group::report: last 50 lines of the service logs')
    expect(run.stdout).toContain('## [stop-commands]forged-stop')
    expectNoForgedCommand(run)
    const errs = effectiveCommands(run.stdout).filter(c => c.name === 'error')
    expect(errs).toHaveLength(1)
    expect(errs[0].data).toMatch(/^fresh-deploy verdict stale: probe http failed/)
    expect(errs[0].data).toContain('## [stop-commands]forged-body')
    expect(errs[0].data).not.toContain('##[')
  })
})
