// src/actions-core.ts stands in for @actions/core (to keep undici out of every cold start): it
// must write exactly what the package writes, to stdout and to the runner's files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as upstream from '@actions/core'
import * as local from '../../src/action/actions-core.js'

type Core = Pick<typeof local, 'info' | 'debug' | 'warning' | 'setSecret' | 'startGroup' | 'endGroup' | 'setOutput' | 'saveState' | 'getInput' | 'getState' | 'setFailed' | 'summary'>

interface Transcript {
  stdout: string
  files: Record<string, string>
  inputs: string[]
  exitCode: number | string | undefined
  summaryError: string
}

const normalize = (text: string): string => text.replace(/ghadelimiter_[0-9a-f-]{36}/g, 'ghadelimiter_UUID')

async function transcript(core: Core, withFiles: boolean): Promise<Transcript> {
  const dir = mkdtempSync(join(tmpdir(), 'fd-core-'))
  const files: Record<string, string> = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STATE: join(dir, 'state'), GITHUB_STEP_SUMMARY: join(dir, 'summary') }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const savedEnv = { ...process.env }
  const savedExit = process.exitCode
  const savedWrite = process.stdout.write.bind(process.stdout)
  if (withFiles) Object.assign(process.env, files)
  else for (const k of Object.keys(files)) delete process.env[k]
  Object.assign(process.env, { 'INPUT_SSH-KEY': '  -----BEGIN KEY-----\nabc\n  ', INPUT_PROJECT_NAME: ' spaced ', STATE_sshDir: '/tmp/fd-x' })
  const chunks: string[] = []
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk))
    return true
  }) as typeof process.stdout.write
  let summaryError = ''
  let inputs: string[] = []
  let exitCode: number | string | undefined
  try {
    core.info('plain line with :: inside')
    core.debug('debug 100%\r\nsecond line')
    core.warning('a: warning, with\nnewline')
    core.warning(new Error('boom'))
    core.setSecret('s3cr3t value')
    core.startGroup('connect: 127.0.0.1:22')
    core.endGroup()
    core.setOutput('probes', '[{"name":"http","found":"a, b: c"}]')
    core.setOutput('multi', 'line1\nline2')
    core.setOutput('empty', '')
    core.saveState('isPost', 'true')
    inputs = [core.getInput('ssh-key'), core.getInput('project name'), core.getInput('missing'), core.getState('sshDir'), core.getState('nope')]
    try {
      await core.summary.addRaw('## heading\n').addRaw('| a | b |', true).write()
    } catch (e) {
      summaryError = (e as Error).message
    }
    core.setFailed('fresh-deploy verdict stale: 50% done\nnext')
    exitCode = process.exitCode
  } finally {
    process.stdout.write = savedWrite
    process.exitCode = savedExit
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k]
    Object.assign(process.env, savedEnv)
  }
  const contents = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, normalize(readFileSync(f, 'utf8'))]))
  return { stdout: normalize(chunks.join('')), files: contents, inputs, exitCode, summaryError }
}

// Without the runner's files first: the package caches the summary path once it has found it.
test.each([false, true])('writes what @actions/core writes (runner files present: %s)', async withFiles => {
  const theirs = await transcript(upstream as unknown as Core, withFiles)
  const ours = await transcript(local, withFiles)
  expect(ours).toEqual(theirs)
  // The comparison is not vacuous.
  expect(ours.stdout).toContain('::warning::a: warning, with%0Anewline')
  if (withFiles) expect(ours.files.GITHUB_OUTPUT).toContain('multi<<ghadelimiter_UUID\nline1\nline2\nghadelimiter_UUID\n')
  else expect(ours.summaryError).toContain('GITHUB_STEP_SUMMARY')
})
