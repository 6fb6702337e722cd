// Issue 5 (hardening), part 2: hostile values in every input that reaches the target. None
// may run as code: each payload would create a marker file, on the host or in the container,
// and no marker may appear. Values that are no valid input are refused (one ::error naming the
// input); the rest are data, and a deploy into a directory whose name is made of them works.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors, expectExit } from './assert.js'
import { useEnvironment } from './environment.js'
import { docker, httpGet, makeProject, probe, projectInputs, removeProject, runAction, serviceContainer, sshd, sshInputs, transcript, type ActionRun, type Project } from './harness.js'
import { acceptedIn, existsInContainer, lockLeft } from './hardening-helpers.js'
import { IT_DIR } from './paths.js'

useEnvironment()

const MARKER = `/tmp/fd-hostile-marker-${process.pid}`
const PAYLOADS = [
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `;touch ${MARKER};`,
  `';touch ${MARKER};'`,
  `";touch ${MARKER};"`,
  `|touch ${MARKER}`,
  `&&touch ${MARKER}`,
  `\ntouch ${MARKER}\n`,
  `$'\\x3b'touch ${MARKER}`,
  `\${IFS}$(touch\${IFS}${MARKER})`
]

function markerAbsent(cid: string): void {
  expect(existsSync(MARKER)).toBe(false)
  expect(existsInContainer(cid, MARKER)).toBe(false)
}

function expectRefused(run: ActionRun, input: string): void {
  expectExit(run, 'non-zero')
  const errs = errors(run)
  if (errs.length !== 1 || !errs[0].includes(`input ${input}`)) throw new Error(`expected one ::error naming input ${input}\n${transcript(run)}`)
  expect(run.outputs.verdict).toBe('error')
}

describe('hostile values', () => {
  let p: Project
  let hostileDir: string
  let tried = 0
  beforeAll(async () => {
    rmSync(MARKER, { force: true })
    p = await makeProject('hostile')
  })
  afterAll(() => {
    removeProject(p)
    rmSync(MARKER, { force: true })
    // eslint-disable-next-line no-console
    console.log(`hostile values tried: ${tried}`)
  })

  test('refused as bad input: service, compose-project-name, proxy-jump, host, username, and any value with a newline', async () => {
    const first = await runAction({ ...sshInputs(), ...projectInputs(p, { ref: 'h-1' }) })
    expectExit(first, 'zero')
    const cid = serviceContainer(p)
    const before = acceptedIn(sshd().log)
    for (const payload of PAYLOADS) {
      for (const input of ['service', 'compose-project-name', 'proxy-jump', 'host', 'username']) {
        const run = await runAction({ ...sshInputs(), ...projectInputs(p), [input]: `x${payload}` }, { timeoutMs: 60_000 })
        expectRefused(run, input)
        tried++
      }
    }
    // A newline is refused in every path-like input and in ref / verify-expect.
    for (const input of ['project-dir', 'source-dir', 'container-source-dir', 'ref', 'verify-expect']) {
      const value = input === 'container-source-dir' ? `/app/src\ntouch ${MARKER}` : `src\ntouch ${MARKER}`
      const run = await runAction({ ...sshInputs(), ...projectInputs(p), [input]: value }, { timeoutMs: 60_000 })
      expectRefused(run, input)
      tried++
    }
    // compose-files is a list (newlines and commas separate items): a path that climbs out is refused.
    expectRefused(await runAction({ ...sshInputs(), ...projectInputs(p, { 'compose-files': `../x$(touch ${MARKER}).yaml` }) }), 'compose-files')
    tried++
    // A verify-url with spaces or quotes is no URL; sync: git refuses a ref that is an option.
    for (const value of [`http://127.0.0.1:${p.port}/$(touch ${MARKER})`, `http://127.0.0.1:${p.port}/'x'`, `http://127.0.0.1:${p.port}/\`touch${MARKER}\``]) {
      expectRefused(await runAction({ ...sshInputs(), ...projectInputs(p, { 'verify-url': value }) }), 'verify-url')
      tried++
    }
    expect(acceptedIn(sshd().log)).toBe(before)
    expect(serviceContainer(p)).toBe(cid)
    markerAbsent(cid)
  })

  test('accepted as data: a project-dir, compose file, source-dir and ref made of payloads deploy fine', async () => {
    // A directory name with spaces, both quotes, $(...), backticks and ;.
    const name = `hostile $(touch ${MARKER.replace(/\//g, '_')}) 'sq' "dq" \`id\` ;x &y |z`
    hostileDir = join(IT_DIR, `h-${process.pid}`, name)
    mkdirSync(join(hostileDir, '..'), { recursive: true })
    cpSync(p.dir, hostileDir, { recursive: true, filter: src => !src.includes('__pycache__') })
    // The compose file and the source dir get hostile names too; the image copies both.
    const composeName = `c $(touch ${MARKER.replace(/\//g, '_')}) 'q' \`id\`.yaml`
    const srcName = `s $(touch ${MARKER.replace(/\//g, '_')}) 'q' "d" \`id\``
    writeFileSync(join(hostileDir, composeName), readFileSync(join(hostileDir, 'compose.yaml')))
    rmSync(join(hostileDir, 'compose.yaml'))
    cpSync(join(hostileDir, 'src'), join(hostileDir, srcName), { recursive: true })
    writeFileSync(join(hostileDir, srcName, `f $(touch ${MARKER.replace(/\//g, '_')}).py`), 'X = 1\n')
    writeFileSync(join(hostileDir, srcName, 'excluded.py'), 'NOT_SHIPPED = 1\n')
    writeFileSync(join(hostileDir, '.dockerignore'), `**/excluded.py\n`)
    writeFileSync(
      join(hostileDir, 'Dockerfile'),
      `${readFileSync(join(hostileDir, 'Dockerfile'), 'utf8')}COPY . /app/\n`
    )
    const cwdMarker = join(hostileDir, MARKER.replace(/\//g, '_'))
    const ref = `r'1 $(touch ${MARKER}) \`touch ${MARKER}\` ;touch ${MARKER} "dq"`
    const expectText = `$(touch ${MARKER}) \`touch ${MARKER}\` ;touch ${MARKER}`
    const hp: Project = { ...p, dir: hostileDir }
    // Stop the first project's container (it holds the port): the hostile copy takes over.
    const run = await runAction({
      ...sshInputs(),
      ...projectInputs(hp, {
        'compose-files': composeName,
        'source-dir': srcName,
        'container-source-dir': `/app/${srcName}`,
        'source-exclude': `excluded.py\nnone-$(touch ${MARKER})/**`,
        ref,
        'verify-url': `http://127.0.0.1:${p.port}/version#$(touch\${IFS}${MARKER})`,
        'verify-expect': expectText
      })
    })
    tried += 9
    expectExit(run, 'zero')
    expect(run.outputs.verdict).toBe('fresh')
    expect(probe(run, 'source').verdict).toBe('pass')
    expect(probe(run, 'http').verdict).toBe('pass')
    const cid = serviceContainer(p)
    expect(cid).toBe(run.outputs['container-id'])
    expect(docker('inspect', '--format', '{{index .Config.Labels "io.fresh-deploy.revision"}}', cid)).toBe(ref)
    expect(JSON.parse((await httpGet(p.url)).body).revision).toBe(ref)
    expect(existsInContainer(cid, `/app/${srcName}/f $(touch ${MARKER.replace(/\//g, '_')}).py`)).toBe(true)
    markerAbsent(cid)
    expect(existsSync(cwdMarker)).toBe(false)
    expect(existsSync(join(process.env.HOME ?? '/root', MARKER.replace(/\//g, '_')))).toBe(false)
    expect(existsInContainer(cid, `/app/${MARKER.replace(/\//g, '_')}`)).toBe(false)
    expect(lockLeft(hp)).toEqual([])
  })

  test('sync: git with hostile refs: refused, checkout and container unchanged, nothing ran', async () => {
    const hp: Project = { ...p, dir: hostileDir }
    const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: hostileDir, encoding: 'utf8' }).trim()
    git('init', '-q')
    writeFileSync(join(hostileDir, '.gitignore'), '.env\n__pycache__/\n')
    git('add', '-A')
    git('commit', '-qm', 'v1')
    const head = git('rev-parse', 'HEAD')
    const cid = serviceContainer(p)
    const composeName = git('ls-files', '*.yaml')
    for (const payload of PAYLOADS.filter(x => !x.includes('\n'))) {
      const run = await runAction({ ...sshInputs(), ...projectInputs(hp, { 'compose-files': composeName, sync: 'git', ref: `main${payload}` }) })
      expectRefused(run, 'ref')
      tried++
      expect(git('rev-parse', 'HEAD')).toBe(head)
      expect(serviceContainer(p)).toBe(cid)
    }
    markerAbsent(cid)
    expect(lockLeft(hp)).toEqual([])
  })
})
