// Renders bench/out/*.json (from bench/run.mjs) as the Markdown tables of bench/RESULTS.md.
//   node bench/report.mjs AFTER.json [BEFORE.json]
import { readFileSync } from 'node:fs'

const [afterFile, beforeFile] = process.argv.slice(2)
if (!afterFile) {
  console.error('usage: node bench/report.mjs AFTER.json [BEFORE.json]')
  process.exit(2)
}
const after = JSON.parse(readFileSync(afterFile, 'utf8'))
let before = beforeFile ? JSON.parse(readFileSync(beforeFile, 'utf8')) : undefined

// A redeploy section measured with BENCH_BEFORE holds the older commit's arm itself (same run,
// same raw runs): that is its before column.
for (const kind of ['ssh', 'local', 'ssh-fast-stop', 'local-fast-stop']) {
  const arm = after.sections?.[kind]?.before
  if (!arm) continue
  const into = before ?? { commit: `${arm.root} (interleaved)`, sections: {} }
  into.sections[kind] = { ...after.sections[kind], ...arm, handshakes: undefined, stepsMedian: undefined, rebuildDoneToVerdict: undefined, interleaved: true }
  before = into
}
const s = (ms, d = 2) => (ms / 1000).toFixed(d)
const range = (st, d = 2, f = s) => (st ? `${f(st.median, d)} (${f(st.min, d)}–${f(st.max, d)}, n=${st.n})` : 'n/a')
const get = (r, path) => path.split('.').reduce((o, k) => (o === undefined ? undefined : o[k]), r?.sections)
const mark = ok => (ok ? '✅' : '❌')

const rows = []
function row(metric, target, path, { fmt = st => `${range(st)} s`, ok, beforeFmt } = {}) {
  const a = get(after, path)
  if (a === undefined) return
  const b = before ? get(before, path) : undefined
  rows.push(`| ${metric} | ${target} | ${fmt(a)}${ok ? ` ${mark(ok(a))}` : ''} | ${b === undefined ? '—' : (beforeFmt ?? fmt)(b)} |`)
}

for (const kind of ['ssh', 'local', 'ssh-fast-stop', 'local-fast-stop']) {
  const label = { ssh: '1. redeploy over SSH', local: '2. redeploy, local transport', 'ssh-fast-stop': '1b. redeploy over SSH, stop timeout 1 s', 'local-fast-stop': '2b. redeploy local, stop timeout 1 s' }[kind]
  row(`${label}: fresh-deploy / raw compose (median ratio)`, '≤ 1.10', `${kind}.ratio`, { fmt: v => v.toFixed(3), ok: v => v <= 1.1 })
  row(`${label}: fresh-deploy wall time`, '', `${kind}.freshDeploy`)
  row(`${label}: raw compose wall time`, '', `${kind}.raw`)
  row(`${label}: overhead (median difference)`, '', `${kind}.overhead`, { fmt: v => `${v >= 0 ? '+' : ''}${s(v)} s` })
}
row('3. new SSH connections at sshd per deploy (main + post step)', '1', 'ssh.handshakes', { fmt: st => `${st.median} (${st.min}–${st.max}, n=${st.n})`, ok: st => st.max === 1 })
row('4. cold start: node dist/index.js → first ssh exec', '≤ 0.10 s', 'coldstart.toFirstSsh', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 100 })
row('4. for scale: an empty `node -e 0`, same moment', '', 'coldstart.nodeEmpty', { fmt: st => `${range(st, 3)} s` })
row('4b. command line: node dist/cli.js --version', '≤ 0.10 s', 'coldstartCli.version', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 100 })
row('4b. command line: node dist/cli.js → first ssh exec (git HEAD for ref first)', '≤ 0.10 s', 'coldstartCli.toFirstSsh', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 100 })
row('4b. for scale: an empty `node -e 0`, same moment', '', 'coldstartCli.nodeEmpty', { fmt: st => `${range(st, 3)} s` })
row('4. bundle: dist/index.js', '', 'coldstart.bundleBytes', { fmt: b => `${(b['index.js'] / 1024).toFixed(0)} KiB (all chunks ${(Object.values(b).reduce((x, y) => x + y, 0) / 1024).toFixed(0)} KiB)` })
for (const [k, label] of [
  ['hostPurge', '5. purge-tree.sh, host, 20,000 files / 2,000 `__pycache__`'],
  ['containerPurge', '5. purge-tree.sh in a container (docker exec -i … sh -s)'],
  ['hostFingerprint', '5. fingerprint.sh, host (10,000 *.py)'],
  ['containerFingerprint', '5. fingerprint.sh in a container (docker exec)'],
  ['tsCompare', '5. runner side: parse 20,000 records + probeSource']
]) {
  row(label, '≤ 1 s', `tree.${k}`, { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 1000 })
}
row('5. the same purge-tree.sh on a journaled ext4 without `discard` (loop device): host', '≤ 1 s', 'treeDisk.hostPurge', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 1000 })
row('5. … and through an overlay mount whose lower layer holds the tree (as a container)', '≤ 1 s', 'treeDisk.overlayPurge', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 1000 })
row('5. for scale: CPU (user+sys) of the host purge: the rest of its wall time is the disk', '', 'tree.hostPurgeCpu', { fmt: st => `${range(st, 3)} s` })
row('5. for scale: `docker exec CONTAINER true`', '', 'tree.dockerExecNoop', { fmt: st => `${range(st, 3)} s` })
row('6. probe cost: verify step on a healthy container, over SSH', '≤ 0.5 s', 'probes.ssh', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 500 })
row('6. probe cost: verify step on a healthy container, local', '≤ 0.5 s', 'probes.local', { fmt: st => `${range(st, 3)} s`, ok: st => st.median <= 500 })
row('6. in a deploy: "rebuild done" → "verify done" (includes the wait for the healthcheck)', '', 'ssh.rebuildDoneToVerdict')
row('6. same, local transport', '', 'local.rebuildDoneToVerdict')
// Issue 16: several hosts. single = the action on one host, same run; N × single is the target's unit.
row('7. hosts: one host (the single-host deploy, main + post)', '', 'hosts.single')
row('7. hosts: raw compose on one host (for scale)', '', 'hosts.raw.1')
for (const n of [2, 4]) {
  row(`7. hosts: ${n} hosts one by one (parallel: 1): wall time`, '', `hosts.n.${n}.sequential`)
  row(`7. hosts: ${n} hosts one by one: over ${n} × single, per host`, '≤ +0.20 s', `hosts.n.${n}.sequentialPerHost`, { fmt: v => `${v >= 0 ? '+' : ''}${s(v)} s (× ${(get(after, `hosts.n.${n}.sequentialRatio`) ?? 0).toFixed(3)})`, ok: v => v <= 200 })
  row(`7. hosts: ${n} hosts, parallel: ${n}: wall time`, '', `hosts.n.${n}.parallel`)
  row(`7. hosts: ${n} hosts, parallel: ${n} / single`, '≤ 1.30', `hosts.n.${n}.parallelRatio`, { fmt: v => v.toFixed(2), ok: v => v <= 1.3 })
  row(`7. hosts: ${n} hosts, parallel: ${n} / (2 × single): the canary runs alone, so 2 × single is the floor`, '', `hosts.n.${n}.parallelOverCanaryFloor`, { fmt: v => v.toFixed(2) })
  row(`7. hosts: what the machine allows: ${n} raw compose commands at once / one`, '', `hosts.n.${n}.rawParallelRatio`, { fmt: v => v.toFixed(2) })
}
row('7. hosts: SSH handshakes per host per run (sshd\'s "Accepted publickey")', '1', 'hosts.handshakesPerHost', { fmt: st => `${st.median} (${st.min}–${st.max}, n=${st.n})`, ok: st => st.max === 1 })
// Issue 15: start-first under steady load through nginx.
for (const [arm, label] of [['startFirst.start-first', 'start-first (action)'], ['startFirst.recreate', 'recreate (action)'], ['startFirst.raw', 'raw ssh + compose up --force-recreate --wait']]) {
  row(`8. ${label}: failed requests (all deploys)`, arm.endsWith('start-first') ? '0' : '', `${arm}.failedTotal`, { fmt: v => `${v} of ${get(after, `${arm}.requests`)}`, ok: arm.endsWith('start-first') ? v => v === 0 : undefined })
  row(`8. ${label}: longest run of failures (requests)`, '', `${arm}.longestRun`, { fmt: st => `${st.median} (${st.min}–${st.max}, n=${st.n})` })
  row(`8. ${label}: longest run of failures (first failed send → next good one)`, '', `${arm}.longestRunMs`)
  row(`8. ${label}: wall time`, '', `${arm}.wall`)
}
row('8. start-first / raw recreate (median wall time)', '≤ 1.25', 'startFirst.ratioStartFirst', { fmt: v => v.toFixed(2), ok: v => v <= 1.25 })
row('8. recreate (action) / raw recreate', '', 'startFirst.ratioRecreate', { fmt: v => v.toFixed(2) })
row('8. start-first / recreate, both through the action (the strategy\'s own cost)', '', 'startFirst.ratioStartFirstOverRecreate', { fmt: v => v.toFixed(2) })
// The cutover's own note, in seconds (0.1 s resolution).
const secs = st => `${st.median.toFixed(1)} (${st.min.toFixed(1)}–${st.max.toFixed(1)}, n=${st.n}) s`
row('8. start-first cutover: until the new container has the name', '', 'startFirst.start-first.cutover.named', { fmt: secs })
row('8. start-first cutover: then the proxies\' DNS wait (3 s) + old stopped and removed', '', 'startFirst.start-first.cutover.stopped', { fmt: secs })

console.log(`| metric | target | measured (median (min–max)) | before (${before ? `commit ${before.commit}` : 'n/a'}) |`)
console.log('| --- | --- | --- | --- |')
console.log(rows.join('\n'))

for (const kind of ['ssh', 'local', 'startFirst.start-first', 'startFirst.recreate']) {
  const a = get(after, `${kind}.stepsMedian`)
  const b = before ? get(before, `${kind}.stepsMedian`) : undefined
  if (!a) continue
  console.log(`\nMedian step times over ${kind} (the log's "NAME done in X s"), after${b ? ' / before' : ''}:`)
  console.log(`\n| step | ${Object.keys(a).join(' | ')} |\n| --- |${Object.keys(a).map(() => ' --- |').join('')}`)
  console.log(`| after | ${Object.values(a).map(v => `${v.toFixed(2)} s`).join(' | ')} |`)
  if (b) console.log(`| before | ${Object.keys(a).map(k => (b[k] === undefined ? '—' : `${b[k].toFixed(2)} s`)).join(' | ')} |`)
}
