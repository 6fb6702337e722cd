// npm run bench: what a deploy costs beyond compose itself, measured on this machine (issue 6).
// Not part of the test suite. Needs Docker, compose v2, sshd and the base image (.ci/setup.sh).
//
//   node bench/run.mjs [section...]    sections: ssh local coldstart coldstart-cli tree tree-disk probes (the default), and
//                                      ssh-fast-stop local-fast-stop
//   BENCH_PAIRS=5       alternating fresh-deploy/raw pairs per transport (BENCH_FAST_PAIRS=3 for
//                       the -fast-stop variants: stop timeout 1 s on both sides, see RESULTS.md)
//   BENCH_ROOT=DIR      measure the src/ and dist/ in DIR (an older commit) instead of this one
//   BENCH_BEFORE=DIR    ssh/local: DIR's dist/ as a third arm in the same rotation (before/after)
//   BENCH_OUT=bench/out/results.json  raw figures (bench/out/ is not committed)
//
// Every loop is bounded; runs alternate (fresh-deploy first on even pairs, raw first on odd;
// with BENCH_BEFORE the three arms rotate)
// so that the noise of other work on the engine falls on both sides; medians and min–max.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  BASE_IMAGE, DIST, HERE, ROOT, fmtS, fmtStats, makeProject, median, now, rawSshArgs, removeProject, runAction, setVersion, sh, sshdConnections,
  startSshd, stats, timed
} from './lib.mjs'

const PAIRS = Number(process.env.BENCH_PAIRS ?? 5)
const FAST_PAIRS = Number(process.env.BENCH_FAST_PAIRS ?? 3)
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15)
const TREE_RUNS = Number(process.env.BENCH_TREE_RUNS ?? 2)
const PROBE_RUNS = Number(process.env.BENCH_PROBE_RUNS ?? 10)
// The -fast-stop variants are not in the default run (it is to stay under 10 minutes here).
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
