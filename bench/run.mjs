// npm run bench: what a deploy costs beyond compose itself, measured on this machine (issue 6).
// Not part of the test suite. Needs Docker, compose v2, sshd and the base image (.ci/setup.sh).
//
//   node bench/run.mjs [section...]    sections: ssh local coldstart coldstart-cli tree tree-disk probes (the default), and
//                                      ssh-fast-stop local-fast-stop hosts start-first
//   BENCH_PAIRS=5       alternating fresh-deploy/raw pairs per transport (BENCH_FAST_PAIRS=3 for
//                       the -fast-stop variants: stop timeout 1 s on both sides, see RESULTS.md)
//   BENCH_HOSTS_ROUNDS=3  hosts (issue 16): rounds of 8 rotating arms: the action on 1, 2 and 4 hosts
//                       (parallel 1 and N) and the raw compose command on 1, 2, 4 hosts at once. Root:
//                       creates users fdbench1..4 (docker group; kept), each with ~/app (removed)
//   BENCH_SF_ROUNDS=3   start-first (issue 15): rounds of recreate, start-first, raw recreate under load
//   BENCH_SF_RATE=20    requests/s through nginx (loopback, 120 s' worth at most per deploy)
//   BENCH_SF_STOP_TIMEOUT=  stop-timeout / --timeout of all three start-first arms (empty: compose's 10 s)
//   BENCH_ROOT=DIR      measure the src/ and dist/ in DIR (an older commit) instead of this one
//   BENCH_BEFORE=DIR    ssh/local: DIR's dist/ as a third arm in the same rotation (before/after)
//   BENCH_OUT=bench/out/results.json  raw figures (bench/out/ is not committed)
//
// Every loop is bounded; runs alternate (fresh-deploy first on even pairs, raw first on odd;
// with BENCH_BEFORE the three arms rotate)
// so that the noise of other work on the engine falls on both sides; medians and min–max.
import { execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import http from 'node:http'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  BASE_IMAGE, DIST, HERE, ROOT, authorizeUser, fmtS, fmtStats, freePort, makeProject, median, now, rawSshArgs, removeProject, runAction, setVersion, sh, sshdConnections,
  startSshd, stats, timed
} from './lib.mjs'

const PAIRS = Number(process.env.BENCH_PAIRS ?? 5)
const FAST_PAIRS = Number(process.env.BENCH_FAST_PAIRS ?? 3)
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15)
const TREE_RUNS = Number(process.env.BENCH_TREE_RUNS ?? 2)
const PROBE_RUNS = Number(process.env.BENCH_PROBE_RUNS ?? 10)
const HOSTS_ROUNDS = Number(process.env.BENCH_HOSTS_ROUNDS ?? 3)
const SF_ROUNDS = Number(process.env.BENCH_SF_ROUNDS ?? 3)
const SF_RATE = Number(process.env.BENCH_SF_RATE ?? 20)
// The -fast-stop variants, hosts and start-first are not in the default run (it is to stay under
// 10 minutes here; hosts also creates users).
const DEFAULT = ['ssh', 'local', 'coldstart', 'coldstart-cli', 'tree', 'tree-disk', 'probes']
const sections = process.argv.slice(2).length ? process.argv.slice(2) : DEFAULT
const OUT = process.env.BENCH_OUT ?? join(HERE, 'bench/out/results.json')

mkdirSync(join(HERE, 'bench/out'), { recursive: true })
const work = mkdtempSync('/tmp/fd-bench-')
const results = { date: new Date().toISOString(), root: ROOT, commit: commitOf(ROOT), machine: machine(), sections: {} }
const cleanups = []
const log = (...a) => console.log(...a)

function commitOf(dir) {
  try {
    return sh('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'])
  } catch {
    return process.env.BENCH_ROOT_COMMIT ?? 'n/a'
  }
}

function machine() {
  const v = (cmd, args) => {
    try {
      return sh(cmd, args)
    } catch {
      return 'n/a'
    }
  }
  const mem = readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)
  return {
    nproc: v('nproc', []),
    memory: mem ? `${(Number(mem[1]) / 1024 / 1024).toFixed(1)} GiB` : 'n/a',
    cpu: (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? 'n/a',
    kernel: v('uname', ['-r']),
    docker: v('docker', ['version', '--format', '{{.Server.Version}}']),
    composeV2: v('docker', ['compose', 'version', '--short']),
    composeV1: v('docker-compose', ['version', '--short']),
    openssh: spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim(),
    node: process.version,
    baseImage: BASE_IMAGE,
    disk: diskOf('/var/lib/docker')
  }
}

/** The filesystem under a path: mount options, and whether ext4 keeps a journal on it. */
function diskOf(path) {
  try {
    const dev = execFileSync('df', ['--output=source', path], { encoding: 'utf8' }).trim().split('\n').pop()
    const mount = readFileSync('/proc/mounts', 'utf8').split('\n').find(l => l.startsWith(`${dev} `))?.split(' ') ?? []
    const name = dev.replace('/dev/', '')
    const journal = mount[2] === 'ext4' ? readdirSync('/proc/fs/jbd2').some(d => d.startsWith(`${name}-`)) : undefined
    return { path, device: dev, type: mount[2], options: mount[3], journal }
  } catch {
    return 'n/a'
  }
}

// The probe-cost and tree sections call the action's own Target/probes code: compile src/ with
// tsc into bench/out/lib (plain ESM), with the target-side scripts beside it as in dist/.
let libCache
async function lib() {
  if (libCache) return libCache
  const out = join(HERE, 'bench/out/lib')
  rmSync(out, { recursive: true, force: true })
  // src/engine since the engine split; an older checkout (BENCH_ROOT) has the files in src/.
  const srcDir = existsSync(join(ROOT, 'src/engine')) ? join(ROOT, 'src/engine') : join(ROOT, 'src')
  execFileSync(join(HERE, 'node_modules/.bin/tsc'), [
    '--outDir', out, '--rootDir', srcDir, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--skipLibCheck', '--esModuleInterop', '--types', 'node',
    ...['target', 'probes', 'transport', 'scripts', 'glob'].map(f => join(srcDir, `${f}.ts`))
  ], { stdio: 'inherit' })
  cpSync(join(ROOT, 'src/scripts'), join(out, 'scripts'), { recursive: true })
  libCache = {
    target: await import(join(out, 'target.js')),
    probes: await import(join(out, 'probes.js')),
    transport: await import(join(out, 'transport.js'))
  }
  return libCache
}

/** Settings as getSettings() would return them for the inputs the bench uses. */
function settingsFor(p, extra = {}) {
  return {
    projectDir: p.dir, composeFiles: [], composeProjectName: p.name, composeCommand: 'docker compose', service: 'backend', sync: 'none',
    syncDiscardChanges: false, ref: 'bench', purge: true, sourceDir: 'src', containerSourceDir: '/app/src', sourceExclude: [],
    buildNoCache: false, buildPull: false, renewAnonVolumes: true, healthTimeout: 120, verify: true, verifyUrl: p.url, verifyFrom: 'host',
    verifyExpect: '', verifyTimeout: 60, verifyInterval: 2, staleRetries: 1, preDeploy: '', postDeploy: '', hookTimeout: 600, rollback: true, lockTimeout: 600, dryRun: false,
    githubToken: '', environment: '', environmentUrl: '', connectTimeout: 15, ...extra
  }
}

let sshdInfo
async function sshd() {
  if (!sshdInfo) {
    sshdInfo = await startSshd(join(work, 'sshd'))
    cleanups.push(() => {
      try {
        process.kill(sshdInfo.pid, 'SIGTERM')
      } catch {
        /* gone */
      }
    })
  }
  return sshdInfo
}

function sshInputs(s) {
  return { host: '127.0.0.1', port: String(s.port), username: 'root', 'ssh-key': s.userKeyText, 'ssh-known-hosts': s.knownHosts }
}

/**
 * The raw equivalent of a redeploy: one compose command, waiting for health like the probes do.
 * FRESH_DEPLOY_REVISION as fresh-deploy sets it, so that both build the same layers.
 */
function rawCompose(p, ref, stopTimeout) {
  const timeout = stopTimeout ? ` --timeout ${stopTimeout}` : ''
  return `cd '${p.dir}' && FRESH_DEPLOY_REVISION='${ref}' docker compose -p '${p.name}' -f compose.yaml up -d --build --force-recreate --no-deps${timeout} --wait backend`
}

/** Time (ms after start) of the first stdout line matching re. */
function lineAt(run, re) {
  return run.lines.find(l => re.test(l.line))?.t
}

async function redeployPairs(kind, pairs, stopTimeout) {
  const s = kind === 'ssh' ? await sshd() : undefined
  const p = await makeProject(work, kind)
  cleanups.push(() => removeProject(p))
  const fdInputs = ref => ({
    ...(s ? sshInputs(s) : {}),
    'project-dir': p.dir,
    'compose-project-name': p.name,
    'verify-url': p.url,
    'verify-expect': ref,
    'stop-timeout': stopTimeout ?? '',
    ref
  })
  const rawRun = ref =>
    s ? timed('ssh', [...rawSshArgs(s), rawCompose(p, ref, stopTimeout)]) : timed('bash', ['-c', rawCompose(p, ref, stopTimeout)])

  log(`\n== ${kind}${stopTimeout ? ` (stop timeout ${stopTimeout} s on both sides)` : ''}: first deploy of ${p.name} (not timed), then ${pairs} alternating pairs`)
  setVersion(p, 'warm-0')
  const first = await runAction(work, fdInputs('warm-0'))
  if (first.outputs.verdict !== 'fresh') throw new Error(`first deploy failed:\n${first.stdout}\n${first.stderr}`)
  const warm = await rawRun('warm-1')
  if (warm.code !== 0) throw new Error(`raw compose failed:\n${warm.stdout}\n${warm.stderr}`)

  // BENCH_BEFORE=DIR: a third arm, DIR's dist/ (an older commit), in the same rotation, so that
  // before and after see the same moments of this machine (runs minutes apart differ by more
  // than the change being measured).
  const beforeRoot = process.env.BENCH_BEFORE
  const fd = []
  const raw = []
  const before = []
  const handshakes = []
  const stepRows = []
  const probeCost = []
  const post = []
  for (let i = 0; i < pairs; i++) {
    const arms = beforeRoot ? ['fd', 'raw', 'before'] : ['fd', 'raw']
    const order = beforeRoot ? arms.map((_, k) => arms[(i + k) % 3]) : i % 2 === 0 ? arms : [...arms].reverse()
    for (const which of order) {
      const ref = `bench-${kind}-${i}-${which}`
      setVersion(p, ref) // the one-line code change
      if (which === 'before') {
        const r = await runAction(work, fdInputs(ref), { root: beforeRoot })
        if (r.code !== 0 || r.outputs.verdict !== 'fresh') throw new Error(`before: fresh-deploy verdict ${r.outputs.verdict}:\n${r.stdout}\n${r.stderr}`)
        before.push(r.ms)
        log(`  pair ${i} before ${fmtS(r.ms)} s`)
      } else if (which === 'raw') {
        const r = await rawRun(ref)
        if (r.code !== 0) throw new Error(`raw compose failed:\n${r.stdout}\n${r.stderr}`)
        raw.push(r.ms)
        log(`  pair ${i} raw  ${fmtS(r.ms)} s`)
      } else {
        const before = s ? sshdConnections(s) : undefined
        const r = await runAction(work, fdInputs(ref))
        if (r.code !== 0 || r.outputs.verdict !== 'fresh') throw new Error(`fresh-deploy verdict ${r.outputs.verdict}:\n${r.stdout}\n${r.stderr}`)
        fd.push(r.ms)
        post.push(r.post.ms)
        stepRows.push(r.steps)
        const rebuilt = lineAt(r, /^rebuild done in/)
        const verified = lineAt(r, /^verify done in/)
        if (rebuilt !== undefined && verified !== undefined) probeCost.push(verified - rebuilt)
        let hs = ''
        if (s) {
          const after = sshdConnections(s)
          handshakes.push(after.connections - before.connections)
          hs = `, ${after.connections - before.connections} connection(s) at sshd (${after.accepted - before.accepted} accepted key)`
        }
        log(`  pair ${i} fd   ${fmtS(r.ms)} s (post step ${fmtS(r.post.ms)} s${hs}) steps ${JSON.stringify(r.steps)}`)
      }
    }
  }
  const steps = {}
  for (const name of Object.keys(stepRows[0] ?? {})) steps[name] = median(stepRows.map(r => r[name] ?? 0))
  const out = {
    freshDeploy: stats(fd),
    raw: stats(raw),
    ratio: median(fd) / median(raw),
    overhead: median(fd) - median(raw),
    pairRatios: fd.map((v, i) => v / raw[i]),
    postStep: stats(post),
    stepsMedian: steps,
    rebuildDoneToVerdict: stats(probeCost),
    ...(s ? { handshakes: stats(handshakes) } : {}),
    ...(before.length ? { before: { root: beforeRoot, freshDeploy: stats(before), ratio: median(before) / median(raw), overhead: median(before) - median(raw) } } : {}),
    rawCommand: s ? `ssh ${rawSshArgs(s).join(' ')} "${rawCompose(p, 'REF', stopTimeout)}"` : `bash -c "${rawCompose(p, 'REF', stopTimeout)}"`
  }
  log(`  fresh-deploy ${fmtStats(out.freshDeploy)}; raw ${fmtStats(out.raw)}; ratio ${out.ratio.toFixed(3)} (+${fmtS(out.overhead)} s)`)
  if (out.before) log(`  before (${beforeRoot}): ${fmtStats(out.before.freshDeploy)}; ratio ${out.before.ratio.toFixed(3)} (+${fmtS(out.before.overhead)} s)`)
  log(`  median step times: ${JSON.stringify(steps)}; rebuild done → verdict ${fmtStats(out.rebuildDoneToVerdict)}`)
  if (s) log(`  ssh connections per deploy: ${fmtStats(out.handshakes, '', 0)}`)
  return out
}

async function coldStart() {
  log('\n== coldstart: node dist/index.js → first ssh exec (ssh wrapper first in PATH)')
  const s = await sshd()
  const bin = join(work, 'ssh-wrapper')
  mkdirSync(bin, { recursive: true })
  const stamps = join(work, 'ssh-stamps')
  // Records when ssh was started, then fails like an unreachable host: the run ends at once.
  writeFileSync(join(bin, 'ssh'), '#!/bin/bash\nprintf \'%s\\n\' "$EPOCHREALTIME" >>"$FD_BENCH_SSH_STAMPS"\nexit 255\n')
  chmodSync(join(bin, 'ssh'), 0o755)
  const p = { dir: '/nonexistent-bench', name: 'fdbench-cold', url: '' }
  const firstSsh = []
  const total = []
  // Baselines, interleaved with the runs so that both see the same load: an empty Node process,
  // and bash printing $EPOCHREALTIME (the wrapper's own start-up, counted in the figure).
  const nodeEmpty = []
  const bashEmpty = []
  for (let i = 0; i < COLD_RUNS; i++) {
    writeFileSync(stamps, '')
    const r = await runAction(work, { ...sshInputs(s), 'project-dir': p.dir, 'verify-url': '' }, {
      env: { PATH: `${bin}:${process.env.PATH}`, FD_BENCH_SSH_STAMPS: stamps },
      skipPost: true
    })
    const first = readFileSync(stamps, 'utf8').split('\n').filter(Boolean)[0]
    if (!first) throw new Error(`no ssh call recorded:\n${r.stdout}\n${r.stderr}`)
    firstSsh.push(Number(first) * 1000 - r.wall0)
    total.push(r.ms)
    nodeEmpty.push((await timed(process.execPath, ['-e', '0'])).ms)
    bashEmpty.push((await timed('/bin/bash', ['-c', 'printf %s "$EPOCHREALTIME" >/dev/null'])).ms)
  }
  const files = readdirSync(join(ROOT, 'dist')).filter(f => f.endsWith('.js'))
  const bundle = Object.fromEntries(files.map(f => [f, statSync(join(ROOT, 'dist', f)).size]))
  const mainBytes = readFileSync(DIST)
  const out = {
    toFirstSsh: stats(firstSsh),
    wholeFailingRun: stats(total),
    nodeEmpty: stats(nodeEmpty),
    bashWrapperStart: stats(bashEmpty),
    bundleBytes: bundle,
    indexGzipBytes: gzipSync(mainBytes).length
  }
  log(`  to first ssh: ${fmtStats(out.toFirstSsh, 's', 3)}; empty node: ${fmtStats(out.nodeEmpty, 's', 3)}; bundle ${JSON.stringify(bundle)}`)
  return out
}

/**
 * The command line's cold start, as a user runs it: `node dist/cli.js --version`, and a deploy
 * (no --ref: it asks git for HEAD in a git work tree, then ssh) until its first ssh exec.
 */
async function coldStartCli() {
  log('\n== coldstart-cli: node dist/cli.js --version; node dist/cli.js --host … → first ssh exec (ssh wrapper first in PATH)')
  const s = await sshd()
  const cli = join(ROOT, 'dist/cli.js')
  const bin = join(work, 'ssh-wrapper-cli')
  mkdirSync(bin, { recursive: true })
  const stamps = join(work, 'ssh-stamps-cli')
  writeFileSync(join(bin, 'ssh'), '#!/bin/bash\nprintf \'%s\\n\' "$EPOCHREALTIME" >>"$FD_BENCH_SSH_STAMPS"\nexit 255\n')
  chmodSync(join(bin, 'ssh'), 0o755)
  const version = []
  const firstSsh = []
  const nodeEmpty = []
  for (let i = 0; i < COLD_RUNS; i++) {
    const v = await timed(process.execPath, [cli, '--version'])
    if (v.code !== 0) throw new Error(`--version failed: ${v.stderr}`)
    version.push(v.ms)
    writeFileSync(stamps, '')
    const r = await timed(process.execPath, [cli, '--config', '/dev/null', '--host', '127.0.0.1', '--port', String(s.port), '--project-dir', '/nonexistent-bench', '--quiet'], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FD_BENCH_SSH_STAMPS: stamps }
    })
    const first = readFileSync(stamps, 'utf8').split('\n').filter(Boolean)[0]
    if (!first) throw new Error(`no ssh call recorded:\n${r.stdout}\n${r.stderr}`)
    firstSsh.push(Number(first) * 1000 - r.wall0)
    nodeEmpty.push((await timed(process.execPath, ['-e', '0'])).ms)
  }
  const out = { version: stats(version), toFirstSsh: stats(firstSsh), nodeEmpty: stats(nodeEmpty), bundleBytes: statSync(cli).size }
  log(`  --version: ${fmtStats(out.version, 's', 3)}; to first ssh: ${fmtStats(out.toFirstSsh, 's', 3)}; empty node: ${fmtStats(out.nodeEmpty, 's', 3)}; dist/cli.js ${out.bundleBytes} bytes`)
  return out
}

/** 2,000 package dirs × (5 *.py + __pycache__ with 5 *.pyc) = 20,000 files, 2,000 __pycache__. */
function makeTree(dir) {
  for (let a = 0; a < 1000; a++) {
    for (const b of ['x', 'y']) {
      const pkg = join(dir, `p${String(a).padStart(4, '0')}`, b)
      mkdirSync(join(pkg, '__pycache__'), { recursive: true })
      for (let f = 0; f < 5; f++) {
        writeFileSync(join(pkg, `m${f}.py`), `# module ${a}/${b}/${f}\nVALUE = ${a * 10 + f}\n${'x = 1\n'.repeat(f * 20)}`)
        writeFileSync(join(pkg, '__pycache__', `m${f}.cpython-311.pyc`), Buffer.alloc(200 + f, 7))
      }
    }
  }
}

async function treeBench() {
  log('\n== tree: purge-tree.sh and fingerprint.sh on 20,000 files (2,000 __pycache__), host and container')
  const { probes } = await lib()
  const ctx = join(work, 'tree-image')
  const tmpl = join(ctx, 'tree')
  makeTree(tmpl)
  const purgeSh = readFileSync(join(ROOT, 'src/scripts/purge-tree.sh'), 'utf8')
  const fpSh = readFileSync(join(ROOT, 'src/scripts/fingerprint.sh'), 'utf8')
  // In the container the tree is part of the image, as an app's source is: the purge then
  // deletes through the overlay filesystem, as it does in a deployed service.
  const image = `fdbench-tree-${process.pid}:1`
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${BASE_IMAGE}\nCOPY tree/ /t/\n`)
  execFileSync('docker', ['build', '-q', '-t', image, ctx], { stdio: 'pipe' })
  cleanups.push(() => execFileSync('docker', ['rmi', '-f', image], { stdio: 'pipe' }))

  const r = { hostPurge: [], hostPurgeCpu: [], hostFingerprint: [], containerPurge: [], containerFingerprint: [], dockerExecNoop: [], tsCompare: [] }
  let hostFp = ''
  let ctrFp = ''
  let purgedHost = ''
  let purgedCtr = ''
  for (let i = 0; i < TREE_RUNS; i++) {
    const hostDir = join(work, `tree-${i}`)
    execFileSync('cp', ['-a', tmpl, hostDir])
    const name = `fdbench-tree-${process.pid}-${i}`
    sh('docker', ['run', '-d', '--name', name, image, 'sleep', '3600'])
    // On disk first, as a deployed app's bytecode is: a file still in the page cache without
    // blocks (delayed allocation) is deleted without freeing, or discarding, anything.
    execFileSync('sync')
    try {
      // As purge.sh runs it: sh -c "$FD_PURGE_SH" purge DIR; in the container, docker exec -i … sh -s.
      // /usr/bin/time: user+sys CPU next to the wall time tells script work from disk waits.
      let t = await timed('/usr/bin/time', ['-f', '@@cpu %U %S', 'sh', '-c', purgeSh, 'purge', hostDir])
      r.hostPurge.push(t.ms)
      const cpu = /@@cpu ([\d.]+) ([\d.]+)/.exec(t.stderr)
      if (cpu) r.hostPurgeCpu.push((Number(cpu[1]) + Number(cpu[2])) * 1000)
      purgedHost = t.stdout.trim()
      t = await timed('bash', ['-c', `docker exec -i ${name} sh -s -- /t <<<"$1"`, 'x', purgeSh])
      r.containerPurge.push(t.ms)
      purgedCtr = t.stdout.trim()
      // As verify.sh runs it (the template still has its bytecode: find passes over it).
      t = await timed('sh', ['-c', fpSh, 'fingerprint', tmpl])
      r.hostFingerprint.push(t.ms)
      hostFp = t.stdout
      t = await timed('bash', ['-c', `docker exec -i ${name} sh -s -- /t <<<"$1"`, 'x', fpSh])
      r.containerFingerprint.push(t.ms)
      ctrFp = t.stdout
      r.dockerExecNoop.push((await timed('docker', ['exec', name, 'true'])).ms)
    } finally {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'pipe' })
      rmSync(hostDir, { recursive: true, force: true })
    }
    // The runner side: records → facts → the source probe (2 × 10,000 lines).
    const records = [
      ...hostFp.split('\n').filter(Boolean).map(v => ({ key: 'hf', value: v })),
      ...ctrFp.split('\n').filter(Boolean).map(v => ({ key: 'cf', value: v })),
      { key: 'running', value: 'true' }, { key: 'host-dir', value: 'yes' }, { key: 'container-dir', value: 'yes' }
    ]
    const t0 = now()
    const facts = probes.parseVerifyRecords(records)
    // With a .dockerignore to apply (source-dir inside the build context), as most apps have.
    const probe = probes.probeSource(facts, { sourceDir: 'src', containerSourceDir: '/t', sourceInclude: ['**/*.py'], sourceExclude: ['nothing/**'], dockerignore: '**/tests\n*.md\n.git\n', sourceInContext: 'src' })
    r.tsCompare.push(now() - t0)
    if (probe.verdict !== 'pass') throw new Error(`source probe on identical trees: ${probe.verdict} ${probe.reason}`)
  }
  const out = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, stats(v)]))
  out.purged = { host: purgedHost, container: purgedCtr }
  out.fingerprintLines = { host: hostFp.split('\n').filter(Boolean).length, container: ctrFp.split('\n').filter(Boolean).length }
  for (const [k, v] of Object.entries(out)) if (v.median !== undefined) log(`  ${k}: ${fmtStats(v, 's', 3)}`)
  log(`  purged ${JSON.stringify(out.purged)}; fingerprint lines ${JSON.stringify(out.fingerprintLines)}`)
  return out
}

/**
 * The same purge on a filesystem of the usual kind: ext4 with a journal, mounted without
 * `discard`, in a file on a loop device. This VM's root filesystem has no journal and is
 * mounted with `discard`, so ext4 discards every freed block at once, synchronously, in the
 * unlink that frees it (perf: blkdev_issue_discard under ext4_evict_inode); with a journal,
 * frees are discarded in batches at commit, or not at all without `discard` (fstrim).
 * In the "container" case the tree is an overlay mount's lower layer, as an image layer is
 * under overlay2 (lowerdir = image, upperdir = the container's layer), mounted by hand so that
 * Docker's own data root stays as it is. Needs root, losetup and mkfs.ext4; skipped otherwise.
 */
async function treeDiskBench() {
  log('\n== tree-disk: purge-tree.sh on 20,000 files on a journaled ext4 without discard (loop device)')
  if (process.getuid?.() !== 0 || spawnSync('mkfs.ext4', ['-V']).status !== 0) {
    log('  skipped: needs root and mkfs.ext4')
    return { skipped: 'needs root and mkfs.ext4' }
  }
  const purgeSh = readFileSync(join(ROOT, 'src/scripts/purge-tree.sh'), 'utf8')
  const img = join(work, 'ext4.img')
  const fs = join(work, 'ext4')
  const tmpl = join(work, 'tree-disk-template')
  makeTree(tmpl)
  execFileSync('truncate', ['-s', '2G', img])
  execFileSync('mkfs.ext4', ['-q', '-F', img])
  mkdirSync(fs)
  execFileSync('mount', ['-o', 'loop,nodiscard', img, fs])
  cleanups.push(() => execFileSync('umount', [fs], { stdio: 'pipe' }))
  const opts = readFileSync('/proc/mounts', 'utf8').split('\n').find(l => l.split(' ')[1] === fs)?.split(' ')[3] ?? 'n/a'
  const lower = join(fs, 'lower')
  execFileSync('cp', ['-a', tmpl, lower])
  const r = { hostPurge: [], overlayPurge: [] }
  for (let i = 0; i < TREE_RUNS; i++) {
    const hostDir = join(fs, `tree-${i}`)
    execFileSync('cp', ['-a', tmpl, hostDir])
    const [upper, wd, merged] = ['upper', 'work', 'merged'].map(d => join(fs, `${d}-${i}`))
    for (const d of [upper, wd, merged]) mkdirSync(d)
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${wd}`, merged])
    execFileSync('sync')
    try {
      let t = await timed('sh', ['-c', purgeSh, 'purge', hostDir])
      if (t.stdout.trim() !== '2000 0') throw new Error(`host purge on ext4: ${t.stdout} ${t.stderr}`)
      r.hostPurge.push(t.ms)
      t = await timed('sh', ['-c', purgeSh, 'purge', merged])
      if (t.stdout.trim() !== '2000 0') throw new Error(`overlay purge on ext4: ${t.stdout} ${t.stderr}`)
      r.overlayPurge.push(t.ms)
    } finally {
      execFileSync('umount', [merged])
      for (const d of [hostDir, upper, wd, merged]) rmSync(d, { recursive: true, force: true })
    }
  }
  const out = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, stats(v)]))
  out.mountOptions = opts
  for (const [k, v] of Object.entries(out)) if (v.median !== undefined) log(`  ${k}: ${fmtStats(v, 's', 3)}`)
  log(`  mount options: ${opts}`)
  return out
}

/**
 * The probes' own cost: the whole verify step (verify.sh + records → verdict, as the pipeline
 * runs it) against a container that is already healthy, so no health wait is in the figure.
 */
async function probeBench() {
  log('\n== probes: verify step against an already healthy container (ssh and local)')
  const { target, probes, transport } = await lib()
  const s = await sshd()
  const p = await makeProject(work, 'probes')
  cleanups.push(() => removeProject(p))
  setVersion(p, 'probes-1')
  const first = await runAction(work, { ...sshInputs(s), 'project-dir': p.dir, 'compose-project-name': p.name, 'verify-url': p.url, ref: 'probes-1' })
  if (first.outputs.verdict !== 'fresh') throw new Error(`deploy failed:\n${first.stdout}`)
  const control = join(work, 'cm-probes')
  const args = ['-F', '/dev/null', '-i', s.userKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${s.knownHostsFile}`, '-o', `ControlPath=${control}`, '-p', String(s.port), '-l', 'root']
  execFileSync('ssh', [...args, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=120', '-f', '-N', '127.0.0.1'])
  cleanups.push(() => execFileSync('ssh', [...args, '-O', 'exit', '127.0.0.1'], { stdio: 'pipe' }))
  const transports = { ssh: new transport.SshTransport('ssh bench', args, '127.0.0.1'), local: new transport.LocalTransport() }
  const settings = settingsFor(p, { ref: 'probes-1', verifyExpect: 'probes-1' })
  const ctx = {
    previousContainerId: '', deployStartedAt: 0, runId: '', hasBuild: true, sourceDir: 'src',
    containerSourceDir: '/app/src', sourceExclude: [], verifyUrl: p.url, verifyExpect: 'probes-1', verifyTimeout: 60
  }
  const out = {}
  const times = { ssh: [], local: [] }
  const sessionOnly = { ssh: [], local: [] }
  for (let i = 0; i < PROBE_RUNS; i++) {
    for (const kind of i % 2 ? ['local', 'ssh'] : ['ssh', 'local']) {
      const t = new target.Target(transports[kind], settings, 'bench')
      t.resolvedProject = p.name
      // In a deploy, verify runs in the script that ran the rebuild: no session or remote shell
      // start before it. Here it runs in a spare session that is already up (a script that
      // prints opens one), so that the figure is the verify's own cost.
      await transports[kind].run('echo warm\n', { quiet: true })
      await sleep(400)
      const t0 = now()
      // As the pipeline runs it: with the container the rebuild reported.
      const facts = probes.parseVerifyRecords(await t.verify(first.outputs['container-id']))
      const list = probes.runProbes(facts, { ...ctx, runId: facts.runLabel })
      times[kind].push(now() - t0)
      const bad = list.filter(x => x.verdict === 'fail' && x.name !== 'recreated')
      if (bad.length) throw new Error(`probes failed on a healthy container: ${JSON.stringify(bad)}`)
      // The bare cost of one script round trip on this transport (in a spare session), for reference.
      await transports[kind].run('echo warm\n', { quiet: true })
      await sleep(400)
      const t1 = now()
      await transports[kind].run('true\n', { quiet: true, last: true })
      sessionOnly[kind].push(now() - t1)
    }
  }
  for (const kind of ['ssh', 'local']) {
    out[kind] = stats(times[kind])
    out[`${kind}EmptyScript`] = stats(sessionOnly[kind])
    log(`  verify (healthy) over ${kind}: ${fmtStats(out[kind], 's', 3)}; empty script round trip ${fmtStats(out[`${kind}EmptyScript`], 's', 3)}`)
  }
  return out
}

// ---------- several hosts (issue 16) ----------

// The bench's own deploy users (as the tests' fdhost1..3): created once, kept between runs.
const HOST_USERS = ['fdbench1', 'fdbench2', 'fdbench3', 'fdbench4']

/**
 * N "hosts" on this machine, as __tests__/integration/hosts.test.ts makes them: one sshd per host
 * on a loopback port, each logging in as its own user (in the docker group) whose home holds its
 * own copy of examples/app in ~/app, with its own COMPOSE_PROJECT_NAME and port in .env. The
 * action sees N machines; they share the Docker engine, its build cache and the 2 cores.
 */
async function makeHosts() {
  const dockerGid = sh('getent', ['group', 'docker']).split(':')[2]
  // sshd reads a user's authorized_keys with that user's rights: the work dir must be traversable.
  chmodSync(work, 0o711)
  const hosts = []
  for (const [i, user] of HOST_USERS.entries()) {
    if (spawnSync('id', [user], { stdio: 'ignore' }).status !== 0) execFileSync('useradd', ['-m', '-s', '/bin/bash', '-G', dockerGid, user])
    // No password, but not locked: sshd (UsePAM no) refuses a locked account even with a key.
    execFileSync('usermod', ['-p', '*', user])
    const home = sh('getent', ['passwd', user]).split(':')[5]
    const dir = join(home, 'app')
    rmSync(dir, { recursive: true, force: true })
    cpSync(join(ROOT, 'examples/app'), dir, { recursive: true, filter: src => !src.includes('__pycache__') })
    const port = await freePort()
    const name = `fdbench-hosts-${i + 1}-${process.pid}`
    writeFileSync(join(dir, '.env'), `BASE_IMAGE=${BASE_IMAGE}\nAPP_PORT=${port}\nCOMPOSE_PROJECT_NAME=${name}\n`)
    execFileSync('chown', ['-R', `${user}:`, dir])
    chmodSync(home, 0o755)
    const s = await startSshd(join(work, `sshd-${user}`), hosts[0] ? { userKey: hosts[0].sshd.userKey } : {})
    authorizeUser(s, user)
    const h = { user, sshd: s, p: { dir, name, port, url: `http://127.0.0.1:${port}/version` }, entry: `${user}@127.0.0.1:${s.port}` }
    hosts.push(h)
    cleanups.push(() => {
      removeProject(h.p)
      try {
        process.kill(s.pid, 'SIGTERM')
      } catch {
        /* gone */
      }
      rmSync(dir, { recursive: true, force: true })
    })
  }
  return hosts
}

/** "Accepted publickey" lines in a host's sshd log: one per handshake (a login). */
const logins = h => sshdConnections(h.sshd).accepted

/**
 * Issue 16's benchmark: a rollout over N = 1, 2, 4 hosts, one by one (parallel: 1) and all at
 * once (parallel: N), against N × the single-host deploy of the same run; and, for what the
 * machine allows, the raw compose command on 1, 2 and 4 hosts at once (N ssh commands started
 * together). Arms rotate each round so that every arm meets every moment of the machine.
 */
async function hostsBench(rounds) {
  const hosts = await makeHosts()
  const knownHosts = hosts.map(h => h.sshd.knownHosts).join('')
  const inputs = (list, ref, parallel) => ({
    host: list.map(h => h.entry).join('\n'),
    'ssh-key': hosts[0].sshd.userKeyText,
    'ssh-known-hosts': knownHosts,
    'project-dir': 'app',
    // As the tests: the http probe inside each container, at the port the app listens on there
    // (the same verify-url for every host, as on real servers).
    'verify-from': 'container',
    'verify-url': 'http://127.0.0.1:8080/version',
    'verify-expect': ref,
    parallel: String(parallel),
    ref
  })
  // Each host's change differs (the user's name in it): real hosts each have their own build
  // cache, here one engine's cache would hand hosts 2..N host 1's layer for nothing.
  const change = (list, ref) => list.forEach(h => setVersion(h.p, `${ref}-${h.user}`))
  const rawCmd = ref => `cd app && FRESH_DEPLOY_REVISION='${ref}' docker compose up -d --build --force-recreate --no-deps --wait backend`

  const fdArm = async (n, parallel, ref) => {
    const list = hosts.slice(0, n)
    change(list, ref)
    const before = list.map(logins)
    const r = await runAction(work, inputs(list, ref, parallel))
    // One host is the plain single-host run: no hosts output, its own verdict and duration.
    const out = r.outputs.hosts ? JSON.parse(r.outputs.hosts) : [{ verdict: r.outputs.verdict, 'duration-seconds': Number(r.outputs['duration-seconds']) }]
    if (r.code !== 0 || out.length !== n || out.some(o => o.verdict !== 'fresh')) throw new Error(`hosts ${n}/${parallel}: verdict ${r.outputs.verdict}:\n${r.stdout}\n${r.stderr}`)
    return { ms: r.ms + r.post.ms, post: r.post.ms, perHost: out.map(o => o['duration-seconds'] * 1000), handshakes: list.map((h, i) => logins(h) - before[i]), steps: r.steps }
  }
  const rawArm = async (n, ref) => {
    const list = hosts.slice(0, n)
    change(list, ref)
    const t0 = now()
    const runs = await Promise.all(list.map(h => timed('ssh', [...rawSshArgs(h.sshd, h.user), rawCmd(ref)])))
    const bad = runs.find(r => r.code !== 0)
    if (bad) throw new Error(`raw compose on ${n} hosts failed:\n${bad.stdout}\n${bad.stderr}`)
    return { ms: now() - t0 }
  }

  log(`\n== hosts: ${hosts.map(h => h.entry).join(', ')}; a first rollout over all 4 (not timed), then ${rounds} rounds`)
  change(hosts, 'hosts-warm')
  await fdArm(4, 4, 'hosts-warm')
  // fd-N-P: the action on N hosts with parallel P (N = 1: the single-host deploy); raw-N: N raw commands at once.
  const arms = ['fd-1-1', 'fd-2-1', 'fd-2-2', 'fd-4-1', 'fd-4-4', 'raw-1', 'raw-2', 'raw-4']
  const r = Object.fromEntries(arms.map(a => [a, { ms: [], post: [], perHost: [], handshakes: [], steps: [] }]))
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < arms.length; k++) {
      const arm = arms[(i * 3 + k) % arms.length]
      const [kind, n, parallel] = arm.split('-')
      const ref = `bench-hosts-${i}-${arm}`
      const x = kind === 'fd' ? await fdArm(Number(n), Number(parallel), ref) : await rawArm(Number(n), ref)
      r[arm].ms.push(x.ms)
      if (x.post !== undefined) r[arm].post.push(x.post)
      if (x.perHost) r[arm].perHost.push(x.perHost)
      if (x.handshakes) r[arm].handshakes.push(...x.handshakes)
      // Step times only parse for one host (several hosts' lines read "rebuild (HOST) done in").
      if (arm === 'fd-1-1') r[arm].steps.push(x.steps)
      log(`  round ${i} ${arm.padEnd(6)} ${fmtS(x.ms)} s${x.perHost ? ` (per host ${x.perHost.map(v => fmtS(v, 1)).join(' ')} s; handshakes ${x.handshakes.join(' ')})` : ''}`)
    }
  }
  const single = median(r['fd-1-1'].ms)
  const raw1 = median(r['raw-1'].ms)
  const singleSteps = {}
  for (const name of Object.keys(r['fd-1-1'].steps[0] ?? {})) singleSteps[name] = median(r['fd-1-1'].steps.map(st => st[name] ?? 0))
  const out = { single: stats(r['fd-1-1'].ms), singleStepsMedian: singleSteps, raw: { 1: stats(r['raw-1'].ms) }, n: {} }
  for (const n of [2, 4]) {
    const seq = median(r[`fd-${n}-1`].ms)
    const par = median(r[`fd-${n}-${n}`].ms)
    out.raw[n] = stats(r[`raw-${n}`].ms)
    out.n[n] = {
      sequential: stats(r[`fd-${n}-1`].ms),
      parallel: stats(r[`fd-${n}-${n}`].ms),
      // Targets: sequential ≤ N × single + 0.2 s per host; parallel ≤ 1.3 × single.
      sequentialOverN: seq - n * single,
      sequentialPerHost: (seq - n * single) / n,
      sequentialRatio: seq / (n * single),
      parallelRatio: par / single,
      // The canary runs alone whatever parallel says: the floor is two single deploys back to back.
      parallelOverCanaryFloor: par / (2 * single),
      // N raw compose commands at once vs one: what the engine and 2 cores allow, no canary.
      rawParallelRatio: median(r[`raw-${n}`].ms) / raw1,
      // Per host inside the parallel rollout (the action's own duration-seconds): canary, then the rest.
      parallelPerHost: Array.from({ length: n }, (_, j) => stats(r[`fd-${n}-${n}`].perHost.map(h => h[j])))
    }
  }
  out.handshakesPerHost = stats(arms.filter(a => a.startsWith('fd')).flatMap(a => r[a].handshakes))
  out.postStep = stats(arms.filter(a => a.startsWith('fd')).flatMap(a => r[a].post))
  log(`  single host ${fmtStats(out.single)} (median steps ${JSON.stringify(singleSteps)}); raw compose ${fmtStats(out.raw[1])}`)
  for (const n of [2, 4]) {
    const x = out.n[n]
    log(`  N=${n}: sequential ${fmtStats(x.sequential)} (${x.sequentialRatio.toFixed(3)} × N×single, ${x.sequentialPerHost >= 0 ? '+' : ''}${fmtS(x.sequentialPerHost)} s per host); parallel ${fmtStats(x.parallel)} (${x.parallelRatio.toFixed(2)} × single, ${x.parallelOverCanaryFloor.toFixed(2)} × 2 singles); raw ${n} at once ${x.rawParallelRatio.toFixed(2)} × raw 1`)
  }
  log(`  handshakes per host per run: ${fmtStats(out.handshakesPerHost, '', 0)}`)
  return out
}

// ---------- start-first under load (issue 15) ----------

const SF_COMPOSE = 'compose.start-first.yaml'
/** Log lines that mark the phases of a deploy (first match, ms after the start of main). */
const SF_LANDMARKS = {
  rebuildGroup: /^::group::rebuild/,
  built: /^#\d+ naming to /,
  started: /Container \S+ {2}Started$|^new container \S+ \(/,
  rebuildDone: /^rebuild done in/,
  // start-first: the second rebuild group's end (the new container started next to the old one).
  newUp: /^rebuild done in [\d.]+ s: container .* next to /,
  verifyDone: /^verify done in/,
  named: /^\+ new container \S+ joined /,
  dnsWait: /^waiting [\d.]+ s for proxies/,
  oldGone: /^\+ old container \S+ stopped and removed/,
  cutoverDone: /^cutover done in/
}
const NGINX_IMAGE = process.env.FRESH_DEPLOY_NGINX_IMAGE ?? 'fresh-deploy/nginx:bookworm'

/** One GET on loopback: its HTTP status (0: no answer) and the version in the body. */
function get(url, timeoutMs) {
  return new Promise(res => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, r => {
      let body = ''
      r.on('data', d => (body += d))
      r.on('end', () => {
        let version = ''
        try {
          version = JSON.parse(body).version ?? ''
        } catch {
          /* not the app's answer: status tells */
        }
        res({ status: r.statusCode ?? 0, version })
      })
      r.on('error', () => res({ status: 0, version: '' }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => res({ status: 0, version: '' }))
  })
}

/**
 * Steady load through the proxy: a request every 1000/rate ms whether or not the previous one
 * answered (users do not wait for each other), at most `max` in all, each given 5 s. stop()
 * lets `after` ms more run, then waits for the answers: samples in the order they were sent.
 */
function startLoad(url, rate, max) {
  const samples = []
  const pending = []
  let stopAt = Infinity
  const interval = 1000 / rate
  const t0 = now()
  const loop = (async () => {
    for (let k = 0; k < max && now() < stopAt; k++) {
      const sample = { at: now() - t0, status: 0, version: '' }
      samples.push(sample)
      pending.push(get(url, 5000).then(x => Object.assign(sample, x)))
      await sleep(Math.max(0, t0 + (k + 1) * interval - now()))
    }
  })()
  return {
    t0,
    stop: async after => {
      stopAt = now() + after
      await loop
      await Promise.all(pending)
      return samples
    }
  }
}

/** Failed requests, and the longest run of consecutive failures: its count and the time from its first send to the next good one's. */
function failures(samples) {
  let longest = { count: 0, ms: 0 }
  let run = []
  const close = next => {
    if (run.length > longest.count) longest = { count: run.length, ms: (next?.at ?? run[run.length - 1].at) - run[0].at }
    run = []
  }
  for (const s of samples) {
    if (s.status === 200) close(s)
    else run.push(s)
  }
  close(undefined)
  return { failed: samples.filter(s => s.status !== 200).length, longest }
}

/**
 * Issue 15's benchmark: the example app behind nginx (compose.start-first.yaml; nginx resolves
 * the service by name through Docker's DNS), steady load through the proxy, and in one run,
 * rotating, deploys of a one-line change with strategy: recreate and strategy: start-first
 * (through the action, over ssh) and the raw `ssh … compose up -d --build --force-recreate
 * --no-deps --wait backend`. Per arm: failed requests, the longest outage, wall time.
 */
async function startFirstBench(rounds) {
  const s = await sshd()
  const p = await makeProject(work, 'sf')
  cleanups.push(() => removeProject(p))
  appendFileSync(join(p.dir, '.env'), `NGINX_IMAGE=${NGINX_IMAGE}\n`)
  execFileSync('docker', ['compose', '-f', SF_COMPOSE, '-p', p.name, 'up', '-d', '--no-deps', 'proxy'], { cwd: p.dir, stdio: 'pipe' })
  const stopTimeout = process.env.BENCH_SF_STOP_TIMEOUT ?? ''
  const inputs = (strategy, ref) => ({
    ...sshInputs(s),
    'project-dir': p.dir,
    'compose-project-name': p.name,
    'compose-files': SF_COMPOSE,
    strategy,
    // As examples/workflows/deploy-start-first.yml: the http probe inside the new container, so that
    // start-first proves it before the cutover; the same inputs for recreate.
    'verify-from': 'container',
    'verify-url': 'http://127.0.0.1:8080/version',
    'verify-expect': ref,
    'stop-timeout': stopTimeout,
    ref
  })
  const timeout = stopTimeout ? ` --timeout ${stopTimeout}` : ''
  const rawCmd = ref => `cd '${p.dir}' && FRESH_DEPLOY_REVISION='${ref}' docker compose -p '${p.name}' -f ${SF_COMPOSE} up -d --build --force-recreate --no-deps${timeout} --wait backend`

  log(`\n== start-first: ${p.name} behind nginx (${NGINX_IMAGE}), ${SF_RATE} requests/s through ${p.url}; a first deploy (not timed), then ${rounds} rounds of recreate, start-first, raw`)
  setVersion(p, 'sf-warm')
  const first = await runAction(work, inputs('start-first', 'sf-warm'))
  if (first.outputs.verdict !== 'fresh') throw new Error(`first deploy failed:\n${first.stdout}\n${first.stderr}`)

  const arms = ['recreate', 'start-first', 'raw']
  const r = Object.fromEntries(arms.map(a => [a, { ms: [], failed: [], longestCount: [], longestMs: [], requests: [], steps: [], cutover: [], timeline: [] }]))
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < arms.length; k++) {
      const arm = arms[(i + k) % arms.length]
      const ref = `bench-sf-${i}-${arm}`
      setVersion(p, ref)
      // Load from 1 s before the deploy to 1 s after it: the old version's answers, the switch, the new one's.
      const load = startLoad(p.url, SF_RATE, SF_RATE * 120)
      await sleep(1000)
      let ms
      let extra = ''
      if (arm === 'raw') {
        const x = await timed('ssh', [...rawSshArgs(s), rawCmd(ref)])
        if (x.code !== 0) throw new Error(`raw compose failed:\n${x.stdout}\n${x.stderr}`)
        ms = x.ms
      } else {
        const x = await runAction(work, inputs(arm, ref))
        if (x.code !== 0 || x.outputs.verdict !== 'fresh') throw new Error(`${arm}: verdict ${x.outputs.verdict}:\n${x.stdout}\n${x.stderr}`)
        ms = x.ms + x.post.ms
        r[arm].steps.push(x.steps)
        // The cutover's note: "named in X s, old drained, stopped and removed in Y s".
        const c = /named in ([\d.]+) s, old drained, stopped and removed in ([\d.]+) s/.exec(x.stdout)
        if (c) r[arm].cutover.push({ named: Number(c[1]), stopped: Number(c[2]) })
        extra = ` steps ${JSON.stringify(x.steps)}${c ? ` cutover named ${c[1]} s, stopped ${c[2]} s` : ''}`
        // Where the time goes, finer than the steps' 0.1 s: when the log's landmarks arrived (ms).
        // The last run's log with arrival times (JSON only), BuildKit's progress left out.
        r[arm].lastLog = x.lines.filter(l => !/^#\d/.test(l.line)).map(l => `${fmtS(l.t)} ${l.line}`)
        r[arm].timeline.push(Object.fromEntries(Object.entries(SF_LANDMARKS).map(([k, re]) => [k, lineAt(x, re)]).filter(([, t]) => t !== undefined).concat([['end', x.ms]])))
      }
      const samples = await load.stop(1000)
      const f = failures(samples)
      const last = samples.filter(x => x.status === 200).pop()
      if (last?.version !== ref) throw new Error(`${arm}: the last answer after the deploy is version ${last?.version}, not ${ref}`)
      r[arm].ms.push(ms)
      r[arm].failed.push(f.failed)
      r[arm].longestCount.push(f.longest.count)
      r[arm].longestMs.push(f.longest.ms)
      r[arm].requests.push(samples.length)
      log(`  round ${i} ${arm.padEnd(11)} ${fmtS(ms)} s; ${f.failed}/${samples.length} failed, longest run ${f.longest.count} (${fmtS(f.longest.ms)} s)${extra}`)
    }
  }
  const out = { rate: SF_RATE, stopTimeout: stopTimeout || '(compose default)', rawCommand: `ssh ${rawSshArgs(s).join(' ')} "${rawCmd('REF')}"` }
  for (const arm of arms) {
    const x = r[arm]
    out[arm] = {
      wall: stats(x.ms),
      failed: stats(x.failed),
      failedTotal: x.failed.reduce((a, b) => a + b, 0),
      longestRun: stats(x.longestCount),
      longestRunMs: stats(x.longestMs),
      requests: x.requests.reduce((a, b) => a + b, 0)
    }
    if (x.steps.length) {
      const steps = {}
      for (const name of Object.keys(x.steps[0])) steps[name] = median(x.steps.map(st => st[name] ?? 0))
      out[arm].stepsMedian = steps
    }
    if (x.lastLog) out[arm].lastLog = x.lastLog
    if (x.timeline.length) out[arm].timelineMedian = Object.fromEntries(Object.keys(x.timeline[0]).map(k => [k, median(x.timeline.map(t => t[k] ?? NaN))]))
    if (x.cutover.length) out[arm].cutover = { named: stats(x.cutover.map(c => c.named)), stopped: stats(x.cutover.map(c => c.stopped)) }
    log(`  ${arm}: wall ${fmtStats(out[arm].wall)}; failed ${out[arm].failedTotal} of ${out[arm].requests}; longest run ${fmtStats(out[arm].longestRun, '', 0)} (${fmtStats(out[arm].longestRunMs)})${out[arm].stepsMedian ? `; steps ${JSON.stringify(out[arm].stepsMedian)}` : ''}`)
  }
  out.ratioStartFirst = median(r['start-first'].ms) / median(r.raw.ms)
  out.ratioRecreate = median(r.recreate.ms) / median(r.raw.ms)
  out.overheadStartFirst = median(r['start-first'].ms) - median(r.raw.ms)
  // The strategy's own cost, apart from what the action adds to any deploy on this machine now.
  out.ratioStartFirstOverRecreate = median(r['start-first'].ms) / median(r.recreate.ms)
  log(`  start-first / raw recreate: ${out.ratioStartFirst.toFixed(3)} (+${fmtS(out.overheadStartFirst)} s); recreate / raw: ${out.ratioRecreate.toFixed(3)}; start-first / recreate: ${out.ratioStartFirstOverRecreate.toFixed(3)}`)
  for (const arm of ['recreate', 'start-first']) log(`  ${arm} landmarks (median ms after start): ${JSON.stringify(out[arm].timelineMedian)}`)
  return out
}

async function main() {
  log(`fresh-deploy bench: ${JSON.stringify(results.machine)}\nwork dir ${work}; sections ${sections.join(' ')}`)
  const t0 = now()
  try {
    for (const section of sections) {
      if (section === 'ssh' || section === 'local') results.sections[section] = await redeployPairs(section, PAIRS)
      else if (section === 'ssh-fast-stop' || section === 'local-fast-stop') results.sections[section] = await redeployPairs(section.split('-')[0], FAST_PAIRS, '1')
      else if (section === 'coldstart') results.sections.coldstart = await coldStart()
      else if (section === 'coldstart-cli') results.sections.coldstartCli = await coldStartCli()
      else if (section === 'tree') results.sections.tree = await treeBench()
      else if (section === 'tree-disk') results.sections.treeDisk = await treeDiskBench()
      else if (section === 'probes') results.sections.probes = await probeBench()
      else if (section === 'hosts') results.sections.hosts = await hostsBench(HOSTS_ROUNDS)
      else if (section === 'start-first') results.sections.startFirst = await startFirstBench(SF_ROUNDS)
      else throw new Error(`unknown section ${section}`)
      writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`)
    }
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        c()
      } catch {
        /* best effort */
      }
    }
    await sleep(100)
    rmSync(work, { recursive: true, force: true })
  }
  log(`\nbench done in ${fmtS(now() - t0, 0)} s; figures in ${OUT}`)
}

await main()
