export const id = 696;
export const ids = [696];
export const modules = {

/***/ 9696:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  run: () => (/* binding */ run)
});

// UNUSED EXPORTS: failureMessage, rolloutFailureMessage

// EXTERNAL MODULE: ./node_modules/@balena/dockerignore/ignore.js
var ignore = __webpack_require__(4158);
var ignore_default = /*#__PURE__*/__webpack_require__.n(ignore);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/engine/glob.ts
// Glob patterns of source-include and source-exclude: "*" and "?" stay within one path segment,
// "**" spans segments ("tests/**" is everything under tests/, "**/conftest.py" any conftest.py),
// "[abc]", "[a-z]", "[!abc]" (or "[^abc]") match one character of a segment, as in find -name.
/** The character class that starts at p[start] ("["), as a regex, and where it ends; none if unclosed. */
function charClass(p, start) {
    let i = start + 1;
    let negate = false;
    if (p[i] === '!' || p[i] === '^') {
        negate = true;
        i++;
    }
    const first = i;
    // A "]" right after the opening (or after "!") is a member, as in fnmatch.
    while (i < p.length && (p[i] !== ']' || i === first))
        i++;
    if (i >= p.length)
        return undefined;
    const members = p.slice(first, i).replace(/[\\\]^[]/g, '\\$&');
    // Never "/": a class matches within one segment, like "?".
    return { re: negate ? `[^/${members}]` : `(?:(?!/)[${members}])`, end: i };
}
function globToRegExp(pattern) {
    let re = '';
    const p = pattern.replace(/^\.\//, '');
    for (let i = 0; i < p.length; i++) {
        const c = p[i];
        if (c === '*') {
            if (p[i + 1] === '*') {
                if (p[i + 2] === '/') {
                    re += '(?:.*/)?';
                    i += 2;
                }
                else {
                    re += '.*';
                    i += 1;
                }
            }
            else {
                re += '[^/]*';
            }
        }
        else if (c === '?') {
            re += '[^/]';
        }
        else if (c === '[' && charClass(p, i)) {
            const cls = charClass(p, i);
            re += cls.re;
            i = cls.end;
        }
        else {
            re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
        }
    }
    return new RegExp(`^${re}$`);
}
function makeExcluder(patterns) {
    const res = patterns.map(globToRegExp);
    return path => res.some(r => r.test(path));
}
/**
 * The file-name patterns (`find -name`) that preselect, on the target, the files a set of
 * source-include globs can match: each glob's last segment, "*" where that segment spans
 * directories ("templates/**"). The runner then applies the full globs to the listed paths.
 */
function namePatterns(patterns) {
    const names = patterns.map(p => {
        const last = p.replace(/\/+$/, '').split('/').pop() ?? '';
        return last === '' || last.includes('**') ? '*' : last;
    });
    return names.includes('*') ? ['*'] : [...new Set(names)];
}

;// CONCATENATED MODULE: ./src/engine/probes.ts
// The six probes and the verdict, as pure functions of the facts that verify.sh (and the
// runner-side http probe) collected. No I/O here, so every rule is unit-tested.



// A CommonJS module whose module.exports is the factory: that is the default import at run
// time (node, and ncc's bundle), while its typings declare it as exports.default.
const probes_ignore = (ignore_default());
/** "./a/b.py" → "a/b.py"; sha256sum escapes odd names with a leading backslash. */
function normalizePath(path) {
    return path.replace(/^\\/, '').replace(/^\.\//, '');
}
function parseFingerprintLine(value, into) {
    const m = /^\\?([0-9a-f]{64}) [ *](.*)$/.exec(value);
    if (m)
        into.set(normalizePath(m[2]), m[1]);
}
const CLIENT_NAMES = { 'busybox-wget': 'busybox wget' };
/** The http-* result lines of verify.sh / http.sh (see http-poll.sh). */
function parseHttpRecords(records, from) {
    const h = { attempts: 0, status: '', match: 'none', snippet: '', at: 0, size: 0, client: '', from, pending: false, deadline: 0 };
    let seen = false;
    for (const { key, value } of records) {
        if (!key.startsWith('http-'))
            continue;
        seen = true;
        switch (key) {
            case 'http-attempts':
                h.attempts = Number(value) || 0;
                break;
            case 'http-status':
                h.status = value;
                break;
            case 'http-match':
                h.match = value === 'yes' ? 'yes' : value === 'no' ? 'no' : 'none';
                break;
            case 'http-snippet':
                h.snippet = Buffer.from(value, 'base64').toString('utf8');
                break;
            case 'http-at':
                h.at = Number(value) || 0;
                break;
            case 'http-size':
                h.size = Number(value) || 0;
                break;
            case 'http-client':
                h.client = value;
                break;
            case 'http-pending':
                h.pending = value === 'yes';
                break;
            case 'http-deadline':
                h.deadline = Number(value) || 0;
                break;
            case 'http-error':
                h.error = value;
                break;
            case 'http-no-client': {
                const looked = value.split(/\s+/).filter(Boolean).map(c => CLIENT_NAMES[c] ?? c).join(', ');
                h.error =
                    from === 'container'
                        ? `no http client in the container (looked for ${looked}): add one to the image, or set verify-from: host (the target host fetches verify-url) or verify-from: runner`
                        : `no http client on the target host (looked for ${looked}): install curl there, or set verify-from: runner (the runner fetches verify-url) or verify-from: container (the service's container fetches it, e.g. http://127.0.0.1:PORT/...)`;
                break;
            }
        }
    }
    return seen ? h : undefined;
}
function parseVerifyRecords(records, from = 'host') {
    const facts = {
        containerId: '',
        imageId: '',
        startedAt: '',
        running: false,
        configImage: '',
        runLabel: '',
        revisionLabel: '',
        builtImageId: '',
        hostDir: false,
        hostFiles: new Map(),
        containerDir: '',
        containerFiles: new Map(),
        python: '',
        pyc: [],
        mounts: [],
        csdHint: ''
    };
    for (const { key, value } of records) {
        switch (key) {
            case 'health': {
                const [verdict, ...rest] = value.split(' ');
                facts.health = { pass: verdict === 'pass', detail: rest.join(' ') };
                break;
            }
            case 'container-id':
                facts.containerId = value;
                break;
            case 'image-id':
                facts.imageId = value;
                break;
            case 'started-at':
                facts.startedAt = value;
                break;
            case 'running':
                facts.running = value === 'true';
                break;
            case 'config-image':
                facts.configImage = value;
                break;
            case 'run-label':
                facts.runLabel = value === '<no value>' ? '' : value;
                break;
            case 'revision-label':
                facts.revisionLabel = value === '<no value>' ? '' : value;
                break;
            case 'built-image-id':
                facts.builtImageId = value;
                break;
            case 'host-dir':
                facts.hostDir = value === 'yes';
                break;
            case 'hf':
                parseFingerprintLine(value, facts.hostFiles);
                break;
            case 'container-dir':
                facts.containerDir = value;
                break;
            case 'cf':
                parseFingerprintLine(value, facts.containerFiles);
                break;
            case 'python':
                facts.python = value;
                break;
            case 'pyc': {
                const [status, path, ...detail] = value.split(' ');
                if (status && path)
                    facts.pyc.push({ status, path, detail: detail.join(' ') });
                break;
            }
            case 'pyc-error':
                facts.pycError = value;
                break;
            case 'mount':
                facts.mounts.push(value);
                break;
            case 'csd-hint':
                facts.csdHint = value;
                break;
        }
    }
    facts.http = parseHttpRecords(records, from);
    return facts;
}
/** sha256 over the sorted "path\0sha256\n" entries: one value for a whole tree. */
function treeFingerprint(files) {
    const h = (0,external_node_crypto_.createHash)('sha256');
    for (const path of [...files.keys()].sort())
        h.update(`${path}\0${files.get(path)}\n`);
    return `sha256:${h.digest('hex')}`;
}
const probes_short = (id) => id.replace(/^sha256:/, '').slice(0, 12);
function pass(name, expected, found, reason = '') {
    return { name, verdict: 'pass', expected, found, reason };
}
function skip(name, reason) {
    return { name, verdict: 'skip', expected: '', found: '', reason };
}
function fail(name, expected, found, reason, leadsTo) {
    return { name, verdict: 'fail', expected, found, reason, leadsTo };
}
function probeRecreated(f, c) {
    if (!f.containerId)
        return fail('recreated', 'a new container', 'no container', 'the service has no container after the rebuild', 'stale');
    const started = Date.parse(f.startedAt) / 1000;
    const expected = `a container other than ${c.previousContainerId ? probes_short(c.previousContainerId) : '(none)'}, started after ${new Date(c.deployStartedAt * 1000).toISOString()}, label io.fresh-deploy.run=${c.runId}`;
    const found = `container ${probes_short(f.containerId)}, started ${f.startedAt}, label io.fresh-deploy.run=${f.runLabel || '(none)'}`;
    if (c.previousContainerId && f.containerId === c.previousContainerId) {
        return fail('recreated', expected, found, 'the container was not recreated: it is the one that ran before the deploy', 'stale');
    }
    // Docker records StartedAt with nanoseconds; the deploy start comes from the same clock.
    if (!(started >= c.deployStartedAt)) {
        return fail('recreated', expected, found, 'the container started before this deploy began', 'stale');
    }
    if (f.runLabel !== c.runId) {
        return fail('recreated', expected, found, 'the container does not carry this run\'s label: it was not created by this deploy', 'stale');
    }
    return pass('recreated', expected, found);
}
function probeImage(f, c) {
    if (!c.hasBuild)
        return skip('image', 'the service has no build: section (it runs a prebuilt image)');
    if (!f.builtImageId)
        return fail('image', `the image tagged ${f.configImage}`, f.imageId, `no image is tagged ${f.configImage} after the build`, 'stale');
    if (f.imageId !== f.builtImageId) {
        return fail('image', f.builtImageId, f.imageId, `the container runs image ${probes_short(f.imageId)}, not ${probes_short(f.builtImageId)} that this deploy built as ${f.configImage}`, 'stale');
    }
    return pass('image', f.builtImageId, f.imageId);
}
/** Whether a path in the build context is left out of it by the .dockerignore rules. */
function dockerignored(c) {
    if (c.dockerignore === undefined || c.sourceInContext === undefined)
        return () => false;
    // Case-sensitive, as Docker matches (the library's default is not).
    const ig = probes_ignore({ ignorecase: false }).add(c.dockerignore);
    const prefix = c.sourceInContext === '.' ? '' : `${c.sourceInContext.replace(/\/+$/, '')}/`;
    return path => ig.ignores(`${prefix}${path}`);
}
/** A source-exclude pattern for a path: its top directory's tree, or the file itself. */
function excludeExample(path) {
    const slash = path.indexOf('/');
    return slash > 0 ? `${path.slice(0, slash)}/**` : path;
}
function containerSourceDirMissing(name, f, c) {
    return fail(name, `directory ${c.containerSourceDir} in the container`, 'no such directory', `container-source-dir ${c.containerSourceDir} does not exist in the container (a configuration error)${f.csdHint ? `: ${f.csdHint}` : ''}`, 'error');
}
/** Whether the source probe compares a path (relative to source-dir): source-include, minus source-exclude and .dockerignore. */
function comparedBy(c) {
    const included = c.sourceInclude.map(globToRegExp);
    const excluded = makeExcluder(c.sourceExclude);
    const ignored = dockerignored(c);
    return p => included.some(r => r.test(p)) && !excluded(p) && !ignored(p);
}
/** The container's mount that holds path (relative to container-source-dir), if any. */
function mountOf(f, c, path) {
    const abs = `${c.containerSourceDir.replace(/\/+$/, '')}/${path}`;
    return f.mounts.find(m => {
        const dest = m.replace(/\/+$/, '');
        return dest === '' || abs === dest || abs.startsWith(`${dest}/`);
    });
}
/**
 * builtHere: the service has build: and the image probe passed, so the container's own layers
 * are this deploy's build: a file only in the container that lies in none of its mounts was made
 * by that build (a generated _version.py), not left over.
 */
function probeSource(f, c, builtHere = false) {
    if (!c.sourceDir)
        return skip('source', 'source-dir empty');
    if (!f.running)
        return skip('source', 'container not running');
    if (!f.hostDir)
        return fail('source', `directory ${c.sourceDir} on the host`, 'no such directory', `source-dir ${c.sourceDir} does not exist on the target`, 'error');
    if (f.containerDir === 'no')
        return containerSourceDirMissing('source', f, c);
    if (f.containerDir.startsWith('error'))
        return skip('source', `could not list ${c.containerSourceDir} in the container: ${f.containerDir.slice(6)}`);
    const included = c.sourceInclude.map(globToRegExp);
    const compared = comparedBy(c);
    const host = new Map([...f.hostFiles].filter(([p]) => compared(p)));
    const ctr = new Map([...f.containerFiles].filter(([p]) => compared(p)));
    const notes = [];
    const unmatched = c.sourceInclude.filter((_, i) => ![...f.hostFiles.keys()].some(p => included[i].test(p)));
    const warnings = unmatched.map(p => `warning: source-include pattern ${JSON.stringify(p)} matches no file under ${c.sourceDir} on the host`);
    const inMount = (p) => mountOf(f, c, p) !== undefined;
    const madeByBuild = [];
    const diffs = [];
    const oneSided = [];
    const paths = [...new Set([...host.keys(), ...ctr.keys()])].sort();
    let count = 0;
    for (const p of paths) {
        const h = host.get(p);
        const k = ctr.get(p);
        if (h === k)
            continue;
        if (h === undefined && builtHere && !inMount(p)) {
            madeByBuild.push(p);
            ctr.delete(p);
            continue;
        }
        count++;
        if (h === undefined || k === undefined)
            oneSided.push(p);
        if (diffs.length < 10)
            diffs.push(h === undefined ? `only in container: ${p}` : k === undefined ? `only on host: ${p}` : `content differs: ${p}`);
    }
    if (madeByBuild.length > 0) {
        const listed = madeByBuild.slice(0, 10).join(', ');
        notes.push(`made by the build (only in the container, in the image's own layers, not in a mount): ${listed}${madeByBuild.length > 10 ? ` and ${madeByBuild.length - 10} more` : ''}`);
    }
    const expected = `${treeFingerprint(host)} (${host.size} files on the host)`;
    const found = `${treeFingerprint(ctr)} (${ctr.size} files in the container${madeByBuild.length ? `, and ${madeByBuild.length} made by the build` : ''})`;
    if (count === 0)
        return pass('source', expected, found, [...notes, ...warnings].join('; '));
    const more = count > diffs.length ? `; and ${count - diffs.length} more` : '';
    const hint = oneSided.length
        ? `. Files deliberately on one side only (not shipped in the image, or made in the container) can be left out with source-exclude (globs, one per line, relative to source-dir), e.g. ${JSON.stringify(excludeExample(oneSided[0]))}`
        : '';
    const tail = [...notes, ...warnings].map(n => `; ${n}`).join('');
    return fail('source', expected, found, `${count} file(s) differ between ${c.sourceDir} on the host and ${c.containerSourceDir} in the container: ${diffs.join('; ')}${more}${hint}${tail}`, 'stale');
}
/**
 * The mounts that mask the image's files: every file where the container differs from the host
 * lies in one of the container's mounts, and the image itself (imageFiles, listed without any
 * mount) holds the host's version. Then no rebuild can help (a volume or bind mount outlives it):
 * the heal says so instead of rebuilding. Empty: not that case. Files only in the container and
 * in none of its mounts are the build's own (see probeSource) and do not count.
 */
function maskingMounts(f, c, imageFiles) {
    if (!c.sourceDir || f.mounts.length === 0)
        return [];
    const compared = comparedBy(c);
    const masks = new Set();
    const paths = new Set([...f.hostFiles.keys(), ...f.containerFiles.keys()].filter(compared));
    for (const p of paths) {
        const h = f.hostFiles.get(p);
        if (h === f.containerFiles.get(p))
            continue;
        const mount = mountOf(f, c, p);
        if (mount === undefined) {
            if (h === undefined)
                continue;
            return [];
        }
        if (imageFiles.get(p) !== h)
            return [];
        masks.add(mount);
    }
    return [...masks];
}
/** The image-files script's records: whether the image has container-source-dir, and its files. */
function parseImageFiles(records) {
    const files = new Map();
    let dir = '';
    for (const { key, value } of records) {
        if (key === 'image-dir')
            dir = value;
        else if (key === 'if')
            parseFingerprintLine(value, files);
    }
    return { dir, files };
}
function probeBytecode(f, c) {
    if (!c.sourceDir)
        return skip('bytecode', 'source-dir empty');
    if (!f.running)
        return skip('bytecode', 'container not running');
    if (!f.python || f.python === 'none')
        return skip('bytecode', 'no python in the container');
    if (f.pyc.some(p => p.status === 'missing'))
        return containerSourceDirMissing('bytecode', f, c);
    const expected = 'no stale or orphan .pyc';
    if (f.pycError !== undefined) {
        // A checker that did not finish checked nothing for sure: never a pass.
        return fail('bytecode', expected, `the .pyc checker did not finish (${f.pyc.length} .pyc checked before it ended)`, `the .pyc checker (${f.python} -I -B) did not finish in the container: ${f.pycError}`, 'error');
    }
    const bad = f.pyc.filter(p => p.status === 'stale' || p.status === 'orphan');
    const okCount = f.pyc.filter(p => p.status === 'ok').length;
    if (bad.length === 0)
        return pass('bytecode', expected, `${okCount} .pyc checked, all match their source`);
    const listed = bad.slice(0, 10).map(p => `${p.status}: ${p.path}${p.detail ? ` (${p.detail})` : ''}`);
    const more = bad.length > 10 ? `; and ${bad.length - 10} more` : '';
    return fail('bytecode', expected, `${bad.length} bad .pyc of ${bad.length + okCount}`, `${listed.join('; ')}${more}`, 'stale');
}
function probeHealth(f) {
    if (!f.health)
        return fail('health', 'healthy or steadily running', 'no answer', 'the health of the container could not be read', 'unhealthy');
    const expected = 'healthy, or running with a steady restart count';
    return f.health.pass ? pass('health', expected, f.health.detail) : fail('health', expected, f.health.detail, f.health.detail, 'unhealthy');
}
const WHERE = { host: 'the host', runner: 'the runner', container: 'inside the container' };
/** What the probe saw, for `found`: status, attempts, where, and the body around the match. */
function httpFound(h, expect) {
    let text = h.snippet;
    let lead = '';
    if (h.match === 'yes') {
        const i = text.indexOf(expect);
        if (i >= 0)
            text = text.slice(Math.max(0, i - 60), i + expect.length + 60);
        lead = `${JSON.stringify(expect)} at byte ${h.at} of ${h.size}: `;
    }
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    const client = h.client ? ` (${h.client})` : '';
    return `HTTP ${h.status === '000' || h.status === '' ? 'no answer' : h.status} after ${h.attempts} attempt(s) from ${WHERE[h.from]}${client}${snippet ? `: ${lead}${snippet}` : ''}`;
}
function probeHttp(f, c) {
    if (!c.verifyUrl)
        return skip('http', 'verify-url is not set');
    if (!f.running)
        return skip('http', 'container not running');
    const h = f.http;
    const expected = `2xx from ${c.verifyUrl}${c.verifyExpect ? ` with a body containing ${JSON.stringify(c.verifyExpect)}` : ''}`;
    if (!h)
        return skip('http', 'the probe did not run');
    // The probe could not run: neither healthy nor not, and no rollback or heal can help.
    if (h.error)
        return fail('http', expected, h.error, h.error, 'error');
    const found = httpFound(h, c.verifyExpect);
    const answered = /^2\d\d$/.test(h.status);
    if (!answered && h.pending) {
        // One attempt, then not polled further: another probe already decided the verdict.
        return { ...skip('http', `not polled further: ${h.stoppedBy || 'another probe'} failed, which waiting cannot change`), expected, found };
    }
    if (!answered) {
        return fail('http', expected, found, `${c.verifyUrl} gave no 2xx answer within ${c.verifyTimeout} s`, 'unhealthy');
    }
    // Judged where the body was (the whole body, up to 1 MiB), never again on a snippet here.
    if (c.verifyExpect && h.match !== 'yes') {
        return fail('http', expected, found, `${c.verifyUrl} answers, but its body lacks ${JSON.stringify(c.verifyExpect)}: the app reports other code`, 'stale');
    }
    return pass('http', expected, found);
}
/** The post-deploy hook's result: pass on exit 0 within hook-timeout; evidence its last lines. */
function probeSmoke(hook, c, skipReason = '') {
    if (!c.postDeploy)
        return skip('smoke', 'post-deploy is not set');
    if (!hook)
        return skip('smoke', skipReason || 'post-deploy did not run');
    const expected = `post-deploy exits 0 within ${c.hookTimeout} s`;
    const last = hook.tail.join('\n');
    const found = `${hook.timedOut ? `stopped after hook-timeout (${c.hookTimeout} s)` : `exit ${hook.exitCode}`}${last ? `; last lines:\n${last}` : ''}`;
    if (!hook.timedOut && hook.exitCode === 0)
        return pass('smoke', expected, found);
    const why = hook.timedOut ? `the smoke test (post-deploy) ran longer than hook-timeout (${c.hookTimeout} s) and was stopped` : `the smoke test (post-deploy) failed with exit ${hook.exitCode}`;
    return fail('smoke', expected, found, why, 'unhealthy');
}
/**
 * The probes other than http that failed: the verdict is not fresh whatever http answers, and
 * waiting cannot change them (the container, its image and its files are what they are), so
 * the http probe is not polled further.
 */
function failedBesidesHttp(f, c) {
    return runProbes({ ...f, http: undefined }, c)
        .filter(p => p.name !== 'http' && p.verdict === 'fail')
        .map(p => p.name);
}
function runProbes(f, c) {
    const image = probeImage(f, c);
    return [probeRecreated(f, c), image, probeSource(f, c, c.hasBuild && image.verdict === 'pass'), probeBytecode(f, c), probeHealth(f), probeHttp(f, c)];
}
/** error (a probe that could not run) > unhealthy > stale; fresh only when nothing failed. */
function verdictOf(probes) {
    if (probes.some(p => p.verdict === 'fail' && p.leadsTo === 'error'))
        return 'error';
    if (probes.some(p => p.verdict === 'fail' && p.leadsTo === 'unhealthy'))
        return 'unhealthy';
    if (probes.some(p => p.verdict === 'fail'))
        return 'stale';
    return 'fresh';
}
/** The probes output: {name, verdict, expected, found, reason}, strings only. */
function probesJson(probes) {
    return JSON.stringify(probes.map(p => ({ name: p.name, verdict: p.verdict, expected: p.expected, found: p.found, reason: p.reason })));
}

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(7067);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(4708);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(1692);
;// CONCATENATED MODULE: ./src/engine/http-probe.ts
// The http probe's polling, decided on the runner. verify.sh makes the first attempt on the
// target (verify-from: host or container); the runner polls further (http.sh on the target, or
// its own requests with verify-from: runner) only while no other probe failed: a container that
// runs the wrong image or files stays stale however long one waits.




/** Bytes of the body that are read and judged, wherever the probe runs (http-poll.sh too). */
const HTTP_BODY_LIMIT = 1 << 20;
/**
 * The proxy for this URL from the environment, as curl and wget read it: http_proxy /
 * https_proxy (lowercase first), unless no_proxy names the host ("*", a host, a .domain or a
 * domain that the host ends with, optionally with :port). Node's fetch ignores these variables
 * (Node 24's NODE_USE_ENV_PROXY works only when set at start-up, which an action cannot do), so
 * the runner-side probe applies them itself.
 */
function proxyFor(url, env) {
    const u = new URL(url);
    const value = u.protocol === 'https:' ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY);
    if (!value)
        return '';
    const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    for (const raw of (env.no_proxy ?? env.NO_PROXY ?? '').split(',')) {
        let entry = raw.trim().toLowerCase();
        if (entry === '*')
            return '';
        if (!entry)
            continue;
        let entryPort = '';
        const m = /^(.*[^:]):(\d+)$/.exec(entry);
        if (m && !m[1].includes(':'))
            [entry, entryPort] = [m[1], m[2]];
        entry = entry.replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
        if ((host === entry || host.endsWith(`.${entry}`)) && (!entryPort || entryPort === port))
            return '';
    }
    return value.includes('://') ? value : `http://${value}`;
}
function proxyAuth(proxy) {
    if (!proxy.username)
        return {};
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    return { 'proxy-authorization': `Basic ${Buffer.from(user).toString('base64')}` };
}
/** One GET through `proxy`: http:// in absolute form, https:// through a CONNECT tunnel. */
function getViaProxy(url, proxy, signal) {
    return new Promise((resolve, reject) => {
        const fail = (e) => reject(e);
        if (!proxy) {
            ;
            (url.protocol === 'https:' ? external_node_https_.request : external_node_http_.request)(url, { method: 'GET', signal }, resolve).on('error', fail).end();
            return;
        }
        const p = new URL(proxy);
        const at = { host: p.hostname.replace(/^\[|\]$/g, ''), port: p.port || 80, signal };
        if (url.protocol === 'http:') {
            (0,external_node_http_.request)({ ...at, method: 'GET', path: url.href, headers: { host: url.host, ...proxyAuth(p) } }, resolve).on('error', fail).end();
            return;
        }
        const target = `${url.hostname}:${url.port || 443}`;
        const tunnel = (0,external_node_http_.request)({ ...at, method: 'CONNECT', path: target, headers: { host: target, ...proxyAuth(p) } });
        tunnel.on('connect', (res, socket) => {
            if (res.statusCode !== 200) {
                socket.destroy();
                reject(new Error(`the proxy refused CONNECT ${target}: ${res.statusCode}`));
                return;
            }
            const servername = url.hostname.replace(/^\[|\]$/g, '');
            (0,external_node_https_.request)(url, { method: 'GET', signal, createConnection: () => (0,external_node_tls_.connect)({ socket, servername }) }, resolve).on('error', fail).end();
        });
        tunnel.on('error', fail).end();
    });
}
/** The body, at most `limit` bytes; what came before a timeout or a cut connection is kept. */
async function readStream(body, limit) {
    const chunks = [];
    let size = 0;
    try {
        for await (const chunk of body) {
            chunks.push(Buffer.from(chunk));
            size += chunk.byteLength;
            if (size >= limit)
                break;
        }
    }
    catch {
        /* judged on what came */
    }
    return Buffer.concat(chunks).subarray(0, limit);
}
/** GET with redirects followed (20 at most, as curl is told), each hop through its own proxy. */
async function get(url, env, signal) {
    let u = new URL(url);
    if (!proxyFor(url, env)) {
        const res = await fetch(u, { signal, redirect: 'follow' });
        return { status: res.status, body: res.body ? await readStream(res.body, HTTP_BODY_LIMIT) : Buffer.alloc(0) };
    }
    for (let hop = 0;; hop++) {
        const res = await getViaProxy(u, proxyFor(u.href, env), signal);
        const status = res.statusCode ?? 0;
        if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && hop < 20) {
            res.resume();
            u = new URL(res.headers.location, u);
            continue;
        }
        const body = await readStream(res, HTTP_BODY_LIMIT);
        res.destroy();
        return { status, body };
    }
}
/** The same judgement as http-poll.sh: the byte offset of verify-expect, and a snippet. */
function judgeBody(body, expect) {
    if (!expect)
        return { match: 'none', at: 0, size: body.length, snippet: body.subarray(0, 300).toString('utf8') };
    const needle = Buffer.from(expect, 'utf8');
    const at = body.indexOf(needle);
    if (at < 0)
        return { match: 'no', at: 0, size: body.length, snippet: body.subarray(0, 300).toString('utf8') };
    const from = Math.max(0, at - 120);
    return { match: 'yes', at, size: body.length, snippet: body.subarray(from, at + needle.length + 120).toString('utf8') };
}
/** The http probe from the runner (verify-from: runner). */
async function httpProbeFromRunner(o) {
    const env = o.env ?? process.env;
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    const result = { attempts: 0, status: '000', match: 'none', snippet: '', at: 0, size: 0, client: 'fetch', from: 'runner', pending: false, deadline: 0 };
    for (;;) {
        result.attempts++;
        // One request may take until verify-timeout ends: a slow endpoint is still an answer.
        const signal = AbortSignal.timeout(Math.max(1000, deadline - Date.now()));
        try {
            const res = await get(o.url, env, signal);
            result.status = String(res.status).padStart(3, '0');
            Object.assign(result, judgeBody(res.body, o.expect));
        }
        catch {
            Object.assign(result, { status: '000', ...judgeBody(Buffer.alloc(0), o.expect) });
        }
        if (/^2\d\d$/.test(result.status) && result.match !== 'no')
            break;
        const left = deadline - Date.now();
        if (o.once) {
            result.pending = left > 0;
            break;
        }
        if (left <= 0)
            break;
        await new Promise(r => setTimeout(r, Math.min(o.intervalSeconds * 1000, left)));
    }
    return result;
}
/**
 * Completes facts.http after verify.sh: the runner's own probe (verify-from: runner), or the
 * rest of the target's polling when its first attempt did not pass. Either polls only while no
 * other probe failed; else the one attempt stands (see probeHttp: `pending`).
 */
async function finishHttpProbe(facts, ctx, o) {
    if (!o.url || !facts.running)
        return;
    const failed = failedBesidesHttp(facts, ctx);
    if (o.from === 'runner') {
        facts.http = await httpProbeFromRunner({ url: o.url, expect: o.expect, timeoutSeconds: o.timeoutSeconds, intervalSeconds: o.intervalSeconds, once: failed.length > 0 });
    }
    else if (facts.http?.pending && failed.length === 0) {
        facts.http = parseHttpRecords(await o.pollOnTarget(facts.http), o.from) ?? { ...facts.http, pending: false };
    }
    if (facts.http?.pending)
        facts.http.stoppedBy = failed.join(', ');
}

;// CONCATENATED MODULE: ./src/engine/input-helper.ts
class InputError extends Error {
    input;
    constructor(input, message) {
        super(message);
        this.input = input;
        this.name = 'InputError';
    }
}
/** Quote a value for an error message; long values are shortened, control characters shown. */
function quoteValue(value) {
    const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
    return JSON.stringify(shown);
}
function input_helper_fail(input, value, expected) {
    const shown = value === undefined ? '' : ` ${quoteValue(value)}`;
    throw new InputError(input, `input ${input}:${shown} is not valid: ${expected}`);
}
function parseBoolean(get, name) {
    const raw = get(name).trim();
    if (/^true$/i.test(raw))
        return true;
    if (/^false$/i.test(raw))
        return false;
    return input_helper_fail(name, raw, 'expected true or false');
}
/** why: said after the range, when the minimum is not the obvious one. */
function parseInteger(get, name, min, max = Number.MAX_SAFE_INTEGER, why = '') {
    const raw = get(name).trim();
    const expected = `expected a whole number from ${min} to ${max}${why ? ` (${why})` : ''}`;
    if (!/^\d+$/.test(raw))
        return input_helper_fail(name, raw, expected);
    const value = Number(raw);
    if (value < min || value > max)
        return input_helper_fail(name, raw, expected);
    return value;
}
/** A service without a healthcheck passes the health probe after running steadily this long. */
const STEADY_SECONDS = 5;
function parseEnum(get, name, allowed) {
    const raw = get(name).trim();
    const found = allowed.find(a => a.toLowerCase() === raw.toLowerCase());
    if (found === undefined)
        return input_helper_fail(name, raw, `expected one of ${allowed.map(a => `"${a}"`).join(', ')}`);
    return found;
}
/** Splits a list input: one item per line or comma-separated; blanks dropped. */
function parseList(raw) {
    return raw
        .split(/[\n,]/)
        .map(s => s.trim())
        .filter(s => s !== '');
}
/** Lines of a multi-line input; blanks and # comments dropped. */
function parseLines(raw) {
    return raw
        .split('\n')
        .map(s => s.trim())
        .filter(s => s !== '' && !s.startsWith('#'));
}
// A value that becomes a path argument or a host name must not be taken for an option and
// must be one line: we pass it as data, but a newline in a path is never what a user meant.
function checkNoControl(name, value) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value))
        input_helper_fail(name, value, 'it contains a newline or control character');
}
function checkRelativePath(name, value) {
    checkNoControl(name, value);
    if (value.startsWith('/'))
        input_helper_fail(name, value, 'expected a path relative to project-dir');
    if (value.split('/').includes('..'))
        input_helper_fail(name, value, 'a path relative to project-dir must not contain ".."');
}
/** Glob patterns, one per line, relative to source-dir (see glob.ts). */
function parseGlobs(get, name) {
    const patterns = parseLines(get(name));
    for (const p of patterns) {
        if (p.startsWith('/'))
            input_helper_fail(name, p, 'patterns are relative to source-dir');
        if (p.split('/').includes('..'))
            input_helper_fail(name, p, 'a pattern relative to source-dir must not contain ".."');
    }
    return patterns;
}
/** A relative path that begins with "-" as "./-…": find, cd and their kind never take it for an option. */
function notAnOption(path) {
    return path.startsWith('-') ? `./${path}` : path;
}
/**
 * Why a ref cannot be what sync: git checks out, or undefined when it can: a full commit SHA,
 * or a name by git check-ref-format's rules (a branch, a tag, refs/…, an abbreviated SHA).
 * Revision expressions (a~1, a^{tree}, a@{1}) and refspecs (a:b, +a) are no refs: git fetch
 * would take "a:b" as "fetch a into the local ref b".
 */
function gitRefProblem(ref) {
    if (/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(ref))
        return undefined;
    if (ref.startsWith('-'))
        return 'a ref cannot start with "-" (git would read it as an option)';
    if (ref.startsWith('+'))
        return 'a ref cannot start with "+" (a refspec, not a ref)';
    // eslint-disable-next-line no-control-regex
    const bad = /[\u0000-\u0020\u007f~^:?*[\\]/.exec(ref);
    if (bad) {
        const shown = bad[0] === ' ' ? 'a space' : /[\u0000-\u001f\u007f]/.test(bad[0]) ? 'a control character' : `"${bad[0]}"`;
        return `a ref cannot contain ${shown} (git check-ref-format; "a:b" is a refspec and "a~1" a revision expression, not refs)`;
    }
    if (ref === '@' || ref.includes('@{'))
        return 'a ref cannot be "@" or contain "@{" (a reflog expression, not a ref)';
    if (ref.includes('..'))
        return 'a ref cannot contain ".." (a range, not a ref)';
    if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//'))
        return 'a ref cannot begin or end with "/" or contain "//"';
    if (ref.endsWith('.'))
        return 'a ref cannot end with "."';
    for (const part of ref.split('/')) {
        if (part.startsWith('.'))
            return 'no part of a ref can begin with "."';
        if (part.endsWith('.lock'))
            return 'no part of a ref can end with ".lock"';
    }
    return undefined;
}
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)$/;
const USER_RE = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
// Compose itself restricts service names to this set.
const SERVICE_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
const PROJECT_RE = /^[a-z0-9][a-z0-9_-]*$/;
const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
function parseHost(name, raw) {
    const host = raw.trim();
    if (!HOST_RE.test(host))
        input_helper_fail(name, raw, 'expected a host name or IP address');
    return host.replace(/^\[(.*)\]$/, '$1');
}
function parseProxyJump(raw) {
    const value = raw.trim();
    if (value === '')
        return '';
    const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(value);
    if (!m)
        return input_helper_fail('proxy-jump', raw, 'expected [user@]host[:port]');
    if (m[1] !== undefined && !USER_RE.test(m[1]))
        input_helper_fail('proxy-jump', raw, 'the user part is not a valid user name');
    parseHost('proxy-jump', m[2]);
    if (m[3] !== undefined) {
        const port = Number(m[3]);
        if (port < 1 || port > 65535)
            input_helper_fail('proxy-jump', raw, 'the port must be from 1 to 65535');
    }
    return value;
}
function parseKnownHosts(raw) {
    const lines = parseLines(raw);
    for (const line of lines) {
        // <hosts> [marker] <keytype> <base64>, optionally with a comment; markers start with @.
        const fields = line.split(/\s+/);
        const offset = fields[0]?.startsWith('@') ? 1 : 0;
        const type = fields[offset + 1];
        const key = fields[offset + 2];
        if (type === undefined || key === undefined || !/^(ssh-|ecdsa-|sk-)/.test(type) || !/^[A-Za-z0-9+/]+=*$/.test(key)) {
            input_helper_fail('ssh-known-hosts', line, 'expected known_hosts lines like "host ssh-ed25519 AAAA…" (ssh-keyscan HOST prints them)');
        }
    }
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
function parseKey(raw) {
    if (raw.trim() === '')
        return '';
    const key = raw.replace(/\r\n/g, '\n').trim();
    if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z ]*PRIVATE KEY-----$/.test(key)) {
        // The value is a secret: say what is wrong without quoting it.
        throw new InputError('ssh-key', 'input ssh-key is not valid: expected a private key in OpenSSH or PEM format (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----)');
    }
    return `${key}\n`;
}
/** Splits one host entry; raw is the whole input (quoted in errors), entry the item. */
function parseHostEntry(raw, entry) {
    const at = entry.lastIndexOf('@');
    const user = at >= 0 ? entry.slice(0, at) : undefined;
    const rest = at >= 0 ? entry.slice(at + 1) : entry;
    if (user !== undefined && !USER_RE.test(user))
        input_helper_fail('host', raw, `in ${quoteValue(entry)}, the part before "@" is not a user name (letters, digits, ".", "_", "-")`);
    let host = rest;
    let portText;
    const bracketed = /^(\[[^\]]*\])(?::(.*))?$/.exec(rest);
    if (bracketed) {
        host = bracketed[1];
        portText = bracketed[2];
    }
    else if ((rest.match(/:/g) ?? []).length === 1) {
        // One colon: host:port. Two or more: a bare IPv6 address (brackets give it a port).
        ;
        [host, portText] = rest.split(':');
    }
    if (!HOST_RE.test(host))
        input_helper_fail('host', raw, `${quoteValue(entry)} is not [user@]host[:port] with a host name or IP address (an IPv6 address with a port in brackets: [2001:db8::1]:2222)`);
    let port;
    if (portText !== undefined) {
        port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
        if (port < 1 || port > 65535)
            input_helper_fail('host', raw, `in ${quoteValue(entry)}, the port must be a whole number from 1 to 65535`);
    }
    return { ...(user !== undefined ? { user } : {}), host: host.replace(/^\[(.*)\]$/, '$1'), ...(port !== undefined ? { port } : {}) };
}
/**
 * The host input's entries: one per line or comma-separated. Blank lines are dropped (a YAML
 * block ends with one); an empty item between commas is refused, as is a host listed twice
 * (its lock would be taken twice by one run).
 */
function parseHostList(raw) {
    const entries = [];
    for (const line of raw.split('\n')) {
        if (line.trim() === '')
            continue;
        const items = line.split(',').map(s => s.trim());
        if (items.some(s => s === ''))
            input_helper_fail('host', raw, 'an entry is empty (two commas in a row, or a comma at the start or end of a line); list one host per line or separate hosts with single commas');
        entries.push(...items);
    }
    return entries.map(label => ({ label, spec: parseHostEntry(raw, label) }));
}
function parseSsh(get, connectTimeout, terminal) {
    const rawHost = get('host');
    if (rawHost.trim() === '')
        return undefined;
    const list = parseHostList(rawHost);
    const port = parseInteger(get, 'port', 1, 65535);
    const username = get('username').trim();
    if (username !== '' && !USER_RE.test(username))
        input_helper_fail('username', username, 'expected a user name (letters, digits, ".", "_", "-")');
    const seen = new Map();
    for (const { label, spec } of list) {
        const key = `${spec.user ?? username}@${spec.host.toLowerCase()}:${spec.port ?? port}`;
        const first = seen.get(key);
        if (first !== undefined)
            input_helper_fail('host', rawHost, `${quoteValue(label)} is listed twice (it is the same login as ${quoteValue(first)}); list each host once`);
        seen.set(key, label);
    }
    const host = list[0].spec.host;
    const key = terminal ? '' : parseKey(get('ssh-key'));
    if (key === '' && !terminal) {
        throw new InputError('ssh-key', `input ssh-key: empty, but host ${quoteValue(host)} is set; give the private key of the deploy user (a secret), or leave host empty to deploy on this runner`);
    }
    const strict = parseBoolean(get, 'ssh-strict');
    const knownHosts = parseKnownHosts(get('ssh-known-hosts'));
    const fingerprintRaw = get('ssh-host-fingerprint').trim();
    if (fingerprintRaw !== '' && !FINGERPRINT_RE.test(fingerprintRaw)) {
        input_helper_fail('ssh-host-fingerprint', fingerprintRaw, 'expected SHA256:<43 base64 characters> as printed by ssh-keygen -lf');
    }
    const hostFingerprint = fingerprintRaw.replace(/=$/, '');
    if (hostFingerprint !== '' && list.length > 1) {
        input_helper_fail('ssh-host-fingerprint', hostFingerprint, `a fingerprint pins one host key, but host lists ${list.length} hosts; give ssh-known-hosts lines for every host instead (ssh-keyscan -p PORT HOST prints them)`);
    }
    const proxyJump = parseProxyJump(get('proxy-jump'));
    if (!strict && (knownHosts !== '' || hostFingerprint !== '')) {
        input_helper_fail('ssh-strict', get('ssh-strict').trim(), 'ssh-strict: false conflicts with ssh-known-hosts/ssh-host-fingerprint; pin the host key or disable checking, not both');
    }
    if (knownHosts !== '' && hostFingerprint !== '') {
        input_helper_fail('ssh-host-fingerprint', hostFingerprint, 'give either ssh-known-hosts or ssh-host-fingerprint, not both');
    }
    if (hostFingerprint !== '' && proxyJump !== '') {
        input_helper_fail('ssh-host-fingerprint', hostFingerprint, 'a fingerprint cannot be checked through proxy-jump (ssh-keyscan cannot use a jump host); give ssh-known-hosts lines for the host and the jump host instead');
    }
    return list.map(({ label, spec }) => {
        // An entry's own port counts as given (the command line: ~/.ssh/config's Port does not apply).
        const own = terminal && spec.port !== undefined ? { terminal: { ...terminal, portSet: true } } : terminal ? { terminal } : {};
        const ssh = { host: spec.host, port: spec.port ?? port, username: spec.user ?? username, key, knownHosts, hostFingerprint, strict, proxyJump, connectTimeout, ...own };
        return { label, ssh };
    });
}
function getSettings(get, options = {}) {
    const connectTimeout = parseInteger(get, 'connect-timeout', 1);
    const hosts = parseSsh(get, connectTimeout, options.terminal);
    const ssh = hosts?.[0].ssh;
    const parallel = parseInteger(get, 'parallel', 1);
    const projectDir = get('project-dir').trim();
    if (projectDir === '')
        input_helper_fail('project-dir', projectDir, 'a directory on the target is required');
    checkNoControl('project-dir', projectDir);
    const composeFiles = parseList(get('compose-files'));
    for (const f of composeFiles)
        checkRelativePath('compose-files', f);
    const composeProjectName = get('compose-project-name').trim();
    if (composeProjectName !== '' && !PROJECT_RE.test(composeProjectName)) {
        input_helper_fail('compose-project-name', composeProjectName, 'expected lowercase letters, digits, "_" and "-", starting with a letter or digit');
    }
    const composeCommand = parseEnum(get, 'compose-command', ['auto', 'docker compose', 'docker-compose']);
    const service = get('service').trim();
    if (!SERVICE_RE.test(service))
        input_helper_fail('service', service, 'expected a compose service name (letters, digits, ".", "_", "-")');
    const sync = parseEnum(get, 'sync', ['none', 'git']);
    const syncDiscardChanges = parseBoolean(get, 'sync-discard-changes');
    const ref = get('ref').trim();
    checkNoControl('ref', ref);
    if (sync === 'git') {
        if (ref === '')
            input_helper_fail('ref', ref, 'sync: git needs a ref to check out');
        const problem = gitRefProblem(ref);
        if (problem)
            input_helper_fail('ref', ref, `with sync: git, expected a branch, tag or commit SHA: ${problem}`);
    }
    // Empty: the source and bytecode probes are off, on purpose (they skip with "source-dir empty").
    const sourceDir = get('source-dir').trim();
    if (sourceDir !== '')
        checkRelativePath('source-dir', sourceDir);
    const containerSourceDir = get('container-source-dir').trim();
    checkNoControl('container-source-dir', containerSourceDir);
    if (!containerSourceDir.startsWith('/'))
        input_helper_fail('container-source-dir', containerSourceDir, 'expected an absolute path inside the container');
    const sourceInclude = parseGlobs(get, 'source-include');
    if (sourceInclude.length === 0)
        input_helper_fail('source-include', get('source-include'), 'expected at least one glob pattern (the default is **/*.py); to turn the source probe off, set source-dir to \'\'');
    const sourceExclude = parseGlobs(get, 'source-exclude');
    const stopRaw = get('stop-timeout').trim();
    const stopTimeout = stopRaw === '' ? undefined : parseInteger(get, 'stop-timeout', 1);
    const verifyUrl = get('verify-url').trim();
    if (verifyUrl !== '') {
        let url;
        try {
            url = new URL(verifyUrl);
        }
        catch {
            url = undefined;
        }
        if (!url || !/^https?:$/.test(url.protocol) || /[\s'"`\\]/.test(verifyUrl))
            input_helper_fail('verify-url', verifyUrl, 'expected an http:// or https:// URL');
    }
    const verifyExpect = get('verify-expect');
    checkNoControl('verify-expect', verifyExpect);
    // Hooks are shell text run by sh -c in a container: any text, passed as data. A NUL byte cannot
    // travel in an argument.
    const preDeploy = get('pre-deploy').replace(/\r\n/g, '\n').trim();
    const postDeploy = get('post-deploy').replace(/\r\n/g, '\n').trim();
    for (const [name, value] of [['pre-deploy', preDeploy], ['post-deploy', postDeploy]]) {
        if (value.includes('\u0000'))
            input_helper_fail(name, value, 'a hook command cannot contain a NUL byte');
    }
    const environment = get('environment').trim();
    const environmentUrl = get('environment-url').trim();
    return {
        ssh,
        hosts,
        parallel,
        connectTimeout,
        projectDir,
        composeFiles,
        composeProjectName,
        composeCommand,
        service,
        sync,
        syncDiscardChanges,
        ref,
        purge: parseBoolean(get, 'purge'),
        sourceDir: sourceDir === '' ? '' : notAnOption(sourceDir.replace(/\/+$/, '') || '.'),
        containerSourceDir: containerSourceDir.replace(/\/+$/, '') || '/',
        sourceInclude,
        sourceExclude,
        buildNoCache: parseBoolean(get, 'build-no-cache'),
        buildPull: parseBoolean(get, 'build-pull'),
        renewAnonVolumes: parseBoolean(get, 'renew-anon-volumes'),
        stopTimeout,
        // Below the steady window, a service without a healthcheck could never pass: refused here
        // rather than rolled back after the deploy.
        healthTimeout: parseInteger(get, 'health-timeout', STEADY_SECONDS, Number.MAX_SAFE_INTEGER, `a service without a healthcheck must keep running for ${STEADY_SECONDS} s to pass the health probe`),
        verify: parseBoolean(get, 'verify'),
        verifyUrl,
        verifyFrom: parseEnum(get, 'verify-from', ['host', 'runner', 'container']),
        verifyExpect,
        verifyTimeout: parseInteger(get, 'verify-timeout', 1),
        verifyInterval: parseInteger(get, 'verify-interval', 1),
        staleRetries: parseInteger(get, 'stale-retries', 0),
        strategy: parseEnum(get, 'strategy', ['recreate', 'start-first']),
        preDeploy,
        postDeploy,
        hookTimeout: parseInteger(get, 'hook-timeout', 1),
        rollback: parseBoolean(get, 'rollback'),
        lockTimeout: parseInteger(get, 'lock-timeout', 1),
        dryRun: parseBoolean(get, 'dry-run'),
        githubToken: get('github-token'),
        environment,
        environmentUrl
    };
}

;// CONCATENATED MODULE: ./src/engine/report.ts
class Report {
    log;
    startedAt = Date.now();
    steps = [];
    probes = [];
    verdict = 'error';
    verifySkipped = false;
    error = '';
    /** Notes on what went wrong after the verdict was known (a failed heal or rollback). */
    notes = [];
    target = '';
    revision = '';
    containerId = '';
    imageId = '';
    previousImageId = '';
    startedAtContainer = '';
    purgedHost = 0;
    purgedContainer = 0;
    purgeNotes = [];
    rolledBack = false;
    /** start-first: the new container was removed before the cutover; the previous one never stopped. */
    keptPrevious = false;
    rollbackNote = '';
    /** The failed container's last log lines, read before a rollback replaces it. */
    failedLogs;
    /** The service's last log lines after a failed deploy (for the report). */
    serviceLogs;
    healAttempts = 0;
    deploymentId = '';
    dryRun = false;
    constructor(log) {
        this.log = log;
    }
    get purged() {
        return this.purgedHost + this.purgedContainer;
    }
    get verified() {
        return this.verdict === 'fresh';
    }
    /** Whether the run failed (exit non-zero): every verdict but fresh, unverified and dry-run. */
    get failed() {
        return this.verdict !== 'fresh' && this.verdict !== 'unverified' && this.verdict !== 'dry-run';
    }
    skipStep(name, note) {
        const record = { name, status: 'skipped', seconds: 0, note };
        this.steps.push(record);
        this.log.stepEnded(record);
    }
    /** Called before each step starts; throws to stop the run there (a lost deploy lock). */
    guard;
    /** Runs one step, reported as it starts and ends; records its time and outcome. */
    async step(name, title, fn) {
        if (name !== 'report')
            this.guard?.(name);
        const t0 = Date.now();
        const record = { name, status: 'ok', seconds: 0, note: '' };
        this.steps.push(record);
        this.log.stepStarted(name, title);
        try {
            return await fn(text => {
                record.note = text;
            });
        }
        catch (e) {
            record.status = 'failed';
            throw e;
        }
        finally {
            record.seconds = (Date.now() - t0) / 1000;
            this.log.stepEnded(record);
        }
    }
    durationSeconds() {
        return ((Date.now() - this.startedAt) / 1000).toFixed(1);
    }
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __webpack_require__(3136);
// EXTERNAL MODULE: ./src/engine/records.ts
var records = __webpack_require__(2052);
;// CONCATENATED MODULE: ./src/engine/scripts.ts
// Builds the text sent to `bash -s` on the target: FD_* variables as single-quoted data, the
// common library, then the step's script. The scripts are real files in src/scripts (linted
// with shellcheck) and ship beside the bundle in dist/scripts.




// Beside the bundle (dist/scripts), or beside src/engine when run from source (tests, bench).
const here = (0,external_node_path_.dirname)((0,external_node_url_.fileURLToPath)(import.meta.url));
const scriptsDir = [(0,external_node_path_.join)(here, 'scripts'), (0,external_node_path_.join)(here, '..', 'scripts')].find(d => (0,external_node_fs_.existsSync)((0,external_node_path_.join)(d, 'lib.sh'))) ?? (0,external_node_path_.join)(here, 'scripts');
const cache = new Map();
function readScript(file) {
    let text = cache.get(file);
    if (text === undefined) {
        text = (0,external_node_fs_.readFileSync)((0,external_node_path_.join)(scriptsDir, file), 'utf8');
        cache.set(file, text);
    }
    return text;
}
/**
 * Quotes a value for bash as one single-quoted word. Inside single quotes nothing is special
 * but the quote itself, which is closed, escaped and reopened.
 */
function shellQuote(value) {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
const NAME_RE = /^FD_[A-Z0-9_]+$/;
function preamble(vars) {
    return Object.entries(vars)
        .map(([name, value]) => {
        if (!NAME_RE.test(name))
            throw new Error(`bad script variable name ${name}`);
        const text = value === undefined ? '' : String(value);
        return `${name}=${shellQuote(text)}`;
    })
        .join('\n');
}
/**
 * The full text for `bash -s`: variables, library, step script. Library and script form one
 * brace group, parsed whole before anything runs; its stdin is /dev/null so that no command
 * can swallow script text from the pipe, except for the lock, which waits on that pipe.
 *
 * Several steps can go in one script (preflight then lock, snapshot then purge): one remote
 * shell start instead of two, which over ssh is a session and the user's shell start-up. Each
 * step keeps its own group and redirect; they share the shell, so a step can leave what it
 * found in variables for the next one. A "step-done NAME" result line follows each step.
 */
function buildScript(name, scriptVars) {
    // The result lines' nonce (records.ts): lib.sh's fd_out prints it, the transport looks for it.
    const vars = { FD_NONCE: records/* RECORD_NONCE */.W, ...scriptVars };
    const redirect = (n) => (n === 'lock' ? '' : ' </dev/null');
    if (typeof name === 'string') {
        return `${preamble(vars)}\n{\n${readScript('lib.sh')}\n${readScript(`${name}.sh`)}\n}${redirect(name)}\n`;
    }
    // After each step, a "step-done NAME" line tells the runner where the next one starts.
    // rebuild is skipped when startfirst.sh (before it) started the new container itself.
    const group = (n) => n === 'rebuild' ? `if [ "\${FD_SKIP_REBUILD:-}" != yes ]; then {\n${readScript(`${n}.sh`)}\n}${redirect(n)}; fi` : `{\n${readScript(`${n}.sh`)}\n}${redirect(n)}`;
    const steps = name.map(n => `${group(n)}\nfd_out step-done ${n}\n`).join('');
    return `${preamble(vars)}\n{\n${readScript('lib.sh')}\n${steps}}\n`;
}
/**
 * The text as sent to `bash -s`: a first line that reads the rest in one `head -c`, then
 * evaluates it. bash reads a script from a pipe one byte per read() (so that a command can
 * read the input that follows); the ~20-30 KB of a step script took ~8-13 ms that way, on
 * the target, before the first command ran. The byte count keeps head from reading past the
 * script: the lock's script reads the pipe after it. Without head, bash reads the text itself.
 */
function forBashStdin(text) {
    const bytes = Buffer.byteLength(text, 'utf8');
    return `if command -v head >/dev/null 2>&1; then FD_SCRIPT=$(head -c ${bytes}) && eval "$FD_SCRIPT"; exit; fi\n${text}`;
}

// EXTERNAL MODULE: ./src/engine/ssh.ts
var ssh = __webpack_require__(3096);
// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
;// CONCATENATED MODULE: ./src/engine/strategy.ts
// strategy: start-first (../shared/contract.md, "Strategy"): what must hold before the deploy may
// start a second container of the service next to the first. Pure: the facts come from compose's
// own config output (preflight.sh / sync.sh) and docker ps, so every rule is unit-tested.

/** Seconds between the new container taking the service's name and the old one stopping: proxies' DNS caches (nginx `resolver ... valid=1s`). */
const CUTOVER_DNS_SECONDS = 3;
/** The fixed host ports the service publishes ("127.0.0.1:8080->80"), from compose's normalized config. */
function fixedHostPorts(ports) {
    if (!Array.isArray(ports))
        return [];
    const fixed = [];
    for (const p of ports) {
        if (typeof p === 'string' || typeof p === 'number') {
            // Short syntax (compose v1 prints it): [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]; the host
            // port is the second field from the right.
            const parts = String(p).replace(/\/[a-z]+$/i, '').split(':');
            const published = parts.length >= 2 ? parts[parts.length - 2] : '';
            if (published !== '' && published !== '0')
                fixed.push(`${published}->${parts[parts.length - 1]}`);
        }
        else if (p && typeof p === 'object') {
            // Long syntax (compose v2 prints it): published is a string or a number; empty: an ephemeral port.
            const { published, target, host_ip: hostIp } = p;
            const value = published === undefined || published === null ? '' : String(published);
            if (value !== '' && value !== '0')
                fixed.push(`${typeof hostIp === 'string' && hostIp ? `${hostIp}:` : ''}${value}->${String(target ?? '')}`);
        }
    }
    return fixed;
}
/**
 * Why start-first cannot run for this service (undefined: it can). Each reason says what to do
 * instead; the caller names the input.
 */
function startFirstRefusal(service, facts) {
    let doc;
    try {
        doc = dist.parse(facts.config);
    }
    catch (e) {
        return `compose config's output could not be read (${e instanceof Error ? e.message.split('\n')[0] : String(e)}), so it is unknown whether two containers of service ${service} can run side by side; use strategy: recreate`;
    }
    const svc = doc?.services?.[service];
    if (!svc)
        return `compose config does not list service ${service}; use strategy: recreate`;
    if (typeof svc.container_name === 'string' && svc.container_name !== '') {
        return `service ${service} sets container_name (${JSON.stringify(svc.container_name)}): a second container cannot have the same name. Remove container_name (compose names the containers itself), or use strategy: recreate`;
    }
    if (typeof svc.network_mode === 'string' && svc.network_mode !== '') {
        return `service ${service} sets network_mode: ${svc.network_mode}: the new container cannot join the project's networks without the service's name (and with the host's network, two containers cannot share a port). Use the project's networks, or use strategy: recreate`;
    }
    const fixed = fixedHostPorts(svc.ports);
    if (fixed.length > 0) {
        return `service ${service} publishes the fixed host port ${fixed.join(', ')}: two containers cannot share it. Put a reverse proxy in front (on the project's network, resolving ${service} by name) and publish no host port from ${service}, or use strategy: recreate`;
    }
    if (facts.running > 1) {
        return `${facts.running} containers of service ${service} run: start-first replaces exactly one. Scale it to one (compose up -d --scale ${service}=1), or use strategy: recreate`;
    }
    return undefined;
}

;// CONCATENATED MODULE: ./src/engine/reporter.ts
// How the engine tells a front end what happens. The engine never writes to the log itself: the
// action turns these calls into log groups, annotations and masks; the command line into
// terminal lines. Nothing here may depend on the runner's toolkit.
/** A reporter that drops everything (unit tests, the bench). */
const silentReporter = {
    stepStarted: () => undefined,
    stepEnded: () => undefined,
    info: () => undefined,
    warning: () => undefined,
    debug: () => undefined,
    untrusted: () => undefined,
    block: () => undefined,
    secret: () => undefined
};

;// CONCATENATED MODULE: ./src/engine/target.ts
// A typed wrapper around the target-side scripts: one method per step, each building the
// script's variables from the settings and turning its result lines into typed values.





class TargetInputError extends Error {
    input;
    detail;
    constructor(input, detail) {
        super(`${input}: ${detail}`);
        this.input = input;
        this.detail = detail;
        this.name = 'TargetInputError';
    }
}
/**
 * The inputs that a target-side script may report as wrong (fd_input_error): an error names
 * the input and quotes its value, so only these names are taken from the target.
 */
const TARGET_CHECKED_INPUTS = new Set([
    'strategy',
    'project-dir',
    'compose-files',
    'compose-command',
    'service',
    'sync',
    'ref',
    'source-dir',
    'container-source-dir'
]);
class RemoteError extends Error {
    step;
    code;
    /** The result lines the failed step printed before it failed (e.g. rebuild's after-failure). */
    records = [];
    constructor(step, code, message) {
        super(message);
        this.step = step;
        this.code = code;
        this.name = 'RemoteError';
    }
}
/** How many of a hook's last output lines the report keeps. */
const HOOK_TAIL_LINES = 20;
function sourceFactsOf(records) {
    const m = recordsToMap(records);
    const facts = {};
    if (m.has('source-in-context'))
        facts.sourceInContext = m.get('source-in-context');
    if (m.has('dockerignore'))
        facts.dockerignore = Buffer.from(m.get('dockerignore') ?? '', 'base64').toString('utf8');
    return facts;
}
/**
 * A YAML double-quoted scalar: a JSON string, plus \u escapes for the characters JSON leaves raw
 * that YAML parsers reject (DEL, C1 controls, an inner BOM) or read as line breaks (NEL,
 * U+2028, U+2029 in libyaml and go-yaml, which compose uses).
 */
function yamlString(value) {
    return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
/**
 * Seconds between the runner's keepalives to the held lock script, which also touches its
 * holder file that often; three silent periods release the lock, and a mkdir lock whose holder
 * file is three periods old is taken over. FRESH_DEPLOY_LOCK_HEARTBEAT (1-3600) is for tests.
 */
function lockHeartbeat(env = process.env) {
    const n = Number(env.FRESH_DEPLOY_LOCK_HEARTBEAT);
    return Number.isInteger(n) && n >= 1 && n <= 3600 ? n : 5;
}
/**
 * The target's "now" (epoch seconds, fractional where its date has %N; lib.sh's fd_now already
 * falls back to whole seconds). A fraction that is not digits (BSD date prints "%N" as "N") is
 * dropped: whole seconds only move the deploy's start earlier. Without any seconds (no date on
 * the target), 0: the recreated probe still needs another container carrying this run's label,
 * which only this run's rebuild can have made. Never NaN, which made the verdict an error.
 */
function parseTargetTime(value) {
    const text = (value ?? '').trim();
    if (/^\d+(\.\d+)?$/.test(text))
        return Number(text);
    const seconds = /^(\d+)(?:\.|$)/.exec(text);
    return seconds ? Number(seconds[1]) : 0;
}
function recordsToMap(records) {
    return new Map(records.map(r => [r.key, r.value]));
}
/** "DIRS FILES" → their sum; "missing"/"skip …" → 0 with a note. */
function parsePurgeCount(value, where, notes) {
    if (value === undefined)
        return 0;
    const m = /^(\d+) (\d+)$/.exec(value.trim());
    if (m)
        return Number(m[1]) + Number(m[2]);
    notes.push(`${where}: ${value.replace(/^skip /, '')}`);
    return 0;
}
class Target {
    transport;
    s;
    runId;
    log;
    compose;
    /** The compose project's name as compose config reported it (v2), for cheap container lookups. */
    resolvedProject = '';
    /** What the preflight (or, with sync: git, the sync) found about source-dir. */
    sourceFacts = {};
    /** The service's depends_on as compose config reported it ("NAME:CONDITION:REQUIRED ..."); undefined: not read. */
    serviceDeps;
    /** strategy: start-first: what compose config and docker ps said (preflight, or sync). */
    startFirstFacts;
    constructor(transport, s, runId, log = silentReporter) {
        this.transport = transport;
        this.s = s;
        this.runId = runId;
        this.log = log;
        this.compose = s.composeCommand;
    }
    get where() {
        return this.transport.where;
    }
    /** Ends the transport's spare session; call when no more scripts will run. */
    close() {
        this.transport.close();
    }
    common() {
        return {
            FD_PROJECT_DIR: this.s.projectDir,
            FD_COMPOSE_CMD: this.compose,
            FD_COMPOSE_FILES: this.s.composeFiles.join('\n'),
            FD_PROJECT_NAME: this.s.composeProjectName,
            FD_RESOLVED_PROJECT: this.resolvedProject,
            FD_SERVICE: this.s.service
        };
    }
    /**
     * The label override as YAML; JSON strings are valid YAML scalars, so values stay data.
     * image: a rollback names the previous image by id (no tag is moved).
     */
    overrideYaml(revision, image) {
        const q = yamlString;
        // Compose interpolates "$" in values ("$$" is a literal "$"); keys are never interpolated.
        const v = (value) => yamlString(value.replace(/\$/g, '$$$$'));
        return [
            'services:',
            `  ${q(this.s.service)}:`,
            ...(image ? [`    image: ${v(image)}`] : []),
            '    labels:',
            `      "io.fresh-deploy.revision": ${v(revision)}`,
            `      "io.fresh-deploy.run": ${v(this.runId)}`
        ].join('\n');
    }
    script(name, extra = {}) {
        return forBashStdin(buildScript(name, { ...this.common(), ...extra }));
    }
    /** Runs a step script; a non-zero exit becomes an error that says what failed and why. */
    async run(name, extra = {}, options = {}) {
        const result = await this.transport.run(this.script(name, extra), options);
        this.check(name, result);
        return result;
    }
    check(name, result) {
        if (result.code === 0)
            return;
        const lost = result.records.find(r => r.key === 'lock-lost');
        if (lost) {
            throw new RemoteError('lock', result.code, `the deploy lock of ${this.s.projectDir} was lost (its holder on the target is gone); stopped before the ${lost.value} step so that two deploys cannot overlap`);
        }
        const lockError = result.records.find(r => r.key === 'lock-error');
        if (lockError)
            throw new RemoteError('lock', result.code, `the deploy lock of ${this.s.projectDir}: ${lockError.value}`);
        const inputError = result.records.find(r => r.key === 'input-error');
        if (inputError) {
            const space = inputError.value.indexOf(' ');
            const input = space < 0 ? inputError.value : inputError.value.slice(0, space);
            const detail = space < 0 ? '' : inputError.value.slice(space + 1);
            if (TARGET_CHECKED_INPUTS.has(input))
                throw new TargetInputError(input, detail);
            throw new RemoteError(name, result.code, `${name} failed on the target (exit ${result.code}): ${inputError.value}`);
        }
        if (name === 'predeploy') {
            const m = recordsToMap(result.records);
            if (m.has('hook-exit')) {
                const how = m.has('hook-timeout') ? `ran longer than hook-timeout (${m.get('hook-timeout')} s) and was stopped` : `exited with ${m.get('hook-exit')}`;
                const last = result.outputTail.trim().split('\n').slice(-HOOK_TAIL_LINES).join('\n');
                throw new RemoteError('pre-deploy', result.code, `the pre-deploy hook ${how}; the running container was not touched and still serves.${last ? ` Last output:\n${last}` : ''}`);
            }
        }
        const tail = result.outputTail.trim().split('\n').slice(-8).join('\n');
        if (result.code === 255 && this.transport.where.startsWith('ssh')) {
            // rebuild and rollback run compose detached (fd_detached): it goes on without us.
            const detached = name === 'rebuild' || name === 'rollback'
                ? ' The compose command goes on, detached, on the target, so the service may end up recreated all the same; deploy again to verify it.'
                : name === 'cutover'
                    ? ' The cutover goes on, detached, on the target: the new container keeps the service name and the old one is stopped; deploy again to verify it.'
                    : '';
            throw new RemoteError(name, result.code, `${name}: the ssh connection to ${this.transport.where.replace(/^ssh /, '')} failed (exit 255).${detached}${tail ? ` Last output: ${tail}` : ''}`);
        }
        throw new RemoteError(name, result.code, `${name} failed on the target (exit ${result.code})${tail ? `: ${tail}` : ''}`);
    }
    preflightVars(checkService) {
        return { FD_SYNC: this.s.sync, FD_CHECK_SERVICE: checkService ? '1' : '0', FD_SOURCE_DIR: this.s.sourceDir, FD_STRATEGY: this.s.strategy };
    }
    /** The preflight alone (a dry-run, which takes no lock). */
    async preflight(checkService) {
        return this.preflightOf((await this.run('preflight', this.preflightVars(checkService), { quiet: true, last: true })).records);
    }
    preflightOf(records) {
        const m = recordsToMap(records);
        this.compose = m.get('compose');
        this.resolvedProject = m.get('project-name') ?? '';
        this.sourceFacts = sourceFactsOf(records);
        this.serviceDeps = m.get('service-deps');
        this.startFirstFacts = startFirstFactsOf(m);
        return {
            now: parseTargetTime(m.get('now')),
            realPath: m.get('project-realpath') ?? '',
            compose: this.compose,
            composeVersion: m.get('compose-version') ?? '',
            engineVersion: m.get('engine-version') ?? '',
            flock: m.get('flock') === 'yes',
            hasBuild: m.has('service-build') ? m.get('service-build') === 'yes' : undefined,
            gitHead: m.get('git-head') ?? ''
        };
    }
    /** flock: what the preflight found; left empty when the preflight runs in the same script. */
    lockVars(flock) {
        return {
            FD_LOCK_TIMEOUT: this.s.lockTimeout,
            FD_RUN_ID: this.runId,
            FD_REF: this.s.ref,
            FD_HAVE_FLOCK: flock === undefined ? '' : flock ? 'yes' : 'no',
            FD_LOCK_HEARTBEAT: lockHeartbeat()
        };
    }
    /**
     * The preflight, then the deploy lock, in one script that stays open: one remote shell start
     * instead of two. `preflight` resolves when its checks are done, `lock` once the lock is held;
     * the lock lasts until release().
     */
    preflightAndLock(checkService, onWait, onTakeover) {
        const records = [];
        let pid = '';
        let preflightDone;
        let locked;
        const preflight = new Promise(resolve => (preflightDone = resolve));
        const lockedNow = new Promise(resolve => (locked = resolve));
        const held = this.transport.hold(this.script(['preflight', 'lock'], { ...this.preflightVars(checkService), ...this.lockVars() }), {
            quiet: true,
            keepalive: lockHeartbeat(),
            onRecord: r => {
                records.push(r);
                if (r.key === 'step-done' && r.value === 'preflight')
                    preflightDone(this.preflightOf(records));
                else if (r.key === 'locked')
                    locked();
                else if (r.key === 'lock-pid')
                    pid = r.value;
                // Deferred until the caller has moved on from the preflight to the lock step (promise
                // continuations run first), so that the message lands in the lock's log group.
                else if (r.key === 'lock-wait')
                    setImmediate(onWait, r.value);
                else if (r.key === 'lock-takeover')
                    setImmediate(onTakeover, r.value);
            }
        });
        const ended = held.done.then(outcome => {
            if (!records.some(r => r.key === 'step-done' && r.value === 'preflight')) {
                this.check('preflight', outcome);
                throw new RemoteError('preflight', outcome.code, 'the preflight script ended before its checks were done');
            }
            const timeout = outcome.records.find(r => r.key === 'lock-timeout');
            if (timeout) {
                throw new RemoteError('lock', outcome.code, `the deploy lock of ${this.s.projectDir} is held by another deploy (${timeout.value}); gave up after ${this.s.lockTimeout} s (input lock-timeout)`);
            }
            this.check('lock', outcome);
            throw new RemoteError('lock', outcome.code, 'the lock script ended before taking the lock');
        });
        const lock = Promise.race([lockedNow.then(() => ({ ...held, pid })), ended]);
        // Whichever of the two the caller does not await must not become an unhandled rejection.
        lock.catch(() => undefined);
        const pre = Promise.race([preflight, ended]);
        pre.catch(() => undefined);
        return { preflight: pre, lock };
    }
    async sync() {
        const result = await this.transport.run(this.script('sync', { FD_REF: this.s.ref, FD_DISCARD: this.s.syncDiscardChanges, FD_SOURCE_DIR: this.s.sourceDir, FD_STRATEGY: this.s.strategy }));
        const dirty = result.records.filter(r => r.key === 'dirty').map(r => r.value);
        if (result.code === 5 && dirty.length > 0) {
            throw new RemoteError('sync', 5, `the checkout in ${this.s.projectDir} has uncommitted changes to tracked files: ${dirty.join(', ')}. Commit or revert them on the host, or set sync-discard-changes: true to discard them. Nothing was changed.`);
        }
        const untracked = result.records.filter(r => r.key === 'untracked').map(r => r.value);
        if (result.code === 7 && untracked.length > 0) {
            throw new RemoteError('sync', 7, `checking out ${this.s.ref} in ${this.s.projectDir} would overwrite untracked files: ${untracked.join(', ')}. fresh-deploy never deletes untracked files (sync-discard-changes only discards changes to tracked files): move or delete them on the host, then deploy again. Nothing was changed.`);
        }
        this.check('sync', result);
        const m = recordsToMap(result.records);
        this.resolvedProject = m.get('project-name') ?? '';
        this.sourceFacts = sourceFactsOf(result.records);
        this.serviceDeps = m.get('service-deps');
        this.startFirstFacts = startFirstFactsOf(m);
        return { head: m.get('head') ?? '', previous: m.get('previous-head') ?? '', hasBuild: m.get('service-build') === 'yes' };
    }
    /**
     * Runs several steps as one script (one remote shell start, no round trip between them) and
     * hands each step's result lines over as soon as its "step-done" line arrives. A step's log
     * lines wait until attach(step), so that they land in that step's log group. When the script
     * fails, the step it failed in (and every later one) rejects with the error.
     */
    runSteps(names, vars, options = {}) {
        const records = names.map(() => []);
        const lines = names.map(() => []);
        const tails = names.map(() => []);
        const attached = names.map(() => false);
        const settle = names.map(() => {
            let resolve;
            let reject;
            const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
            return { promise: settled(promise), resolve, reject };
        });
        let current = 0;
        const at = () => Math.min(current, names.length - 1);
        const done = this.transport.run(this.script(names, vars), {
            last: options.last,
            onRecord: r => {
                if (r.key === 'step-done' && r.value === names[current])
                    settle[current].resolve(records[current++]);
                else
                    records[at()].push(r);
            },
            onLine: line => {
                const i = at();
                tails[i].push(line);
                if (tails[i].length > HOOK_TAIL_LINES)
                    tails[i].shift();
                if (options.quiet?.includes(names[i]))
                    return;
                if (attached[i])
                    this.log.untrusted(line);
                else
                    lines[i].push(line);
            }
        });
        done.then(result => {
            if (result.code === 0) {
                // A last step may end the script with exit 0 before its step-done line (verify does).
                for (let i = current; i < names.length; i++)
                    settle[i].resolve(records[i]);
                return;
            }
            let error;
            try {
                this.check(names[at()], result);
                error = new RemoteError(names[at()], result.code, `${names[at()]} failed on the target (exit ${result.code})`);
            }
            catch (e) {
                error = e;
            }
            if (error instanceof RemoteError)
                error.records = records[at()];
            for (let i = current; i < names.length; i++)
                settle[i].reject(error);
        }, (e) => settle.slice(current).forEach(s => s.reject(e)));
        return {
            done: name => settle[names.indexOf(name)].promise,
            attach: name => {
                const i = names.indexOf(name);
                attached[i] = true;
                for (const line of lines[i].splice(0))
                    this.log.untrusted(line);
            },
            tail: name => tails[names.indexOf(name)] ?? []
        };
    }
    /**
     * What a deploy does after the lock, as one script: snapshot, purge, rebuild, verify (each when
     * asked for). Every step first checks that the lock holder (lockPid) still lives. A heal is
     * the same without the snapshot.
     */
    deploy(o) {
        const hook = o.preDeploy === true && this.s.preDeploy !== '';
        // start-first: build first (the old container keeps serving), then a new container next to it;
        // rebuild.sh recreates only when no container runs (startfirst.sh decides).
        const startFirst = this.s.strategy === 'start-first';
        const names = [
            ...(o.snapshot ? ['snapshot'] : []),
            ...(o.purge ? ['purge'] : []),
            // With a pre-deploy hook: build, run the hook in the new image, then recreate without building.
            ...(hook || startFirst ? ['build'] : []),
            ...(hook ? ['predeploy'] : []),
            ...(startFirst ? ['startfirst'] : []),
            'rebuild',
            ...(o.verify ? ['verify'] : [])
        ];
        const vars = {
            ...(o.purge ? { FD_SOURCE_DIR: this.s.sourceDir, FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir, FD_PURGE_SH: readScript('purge-tree.sh') } : {}),
            ...(o.snapshot ? this.snapshotVars(o.verify) : {}),
            ...this.rebuildVars(o.noCache),
            ...(hook ? this.hookVars(this.s.preDeploy) : {}),
            ...(hook || startFirst ? { FD_NO_BUILD: true } : {}),
            ...(o.verify ? this.verifyVars() : {}),
            // A heal under start-first: the container that serves (no snapshot ran in this script).
            ...(o.oldCid !== undefined ? { FD_KNOWN_CID: o.oldCid, FD_KNOWN_CID_SET: 'yes' } : {}),
            FD_LOCK_PID: o.lockPid
        };
        // The verify is the last script of a deploy that goes well: no spare session after it.
        const run = this.runSteps(names, vars, { quiet: ['verify'], last: true });
        return {
            attach: name => run.attach(name),
            snapshot: o.snapshot ? settled(run.done('snapshot').then(snapshotOf)) : Promise.resolve(undefined),
            purge: o.purge ? settled(run.done('purge').then(r => this.purgeOf(r))) : Promise.resolve(undefined),
            build: hook || startFirst ? settled(run.done('build').then(() => undefined)) : Promise.resolve(undefined),
            preDeploy: hook ? settled(run.done('predeploy').then(r => hookOf(r, run.tail('predeploy')))) : Promise.resolve(undefined),
            startFirst: startFirst ? settled(run.done('startfirst').then(startFirstOf)) : Promise.resolve(undefined),
            rebuild: settled(startFirst
                ? Promise.all([run.done('startfirst'), run.done('rebuild')]).then(([sf, rb]) => startFirstOf(sf)?.container ?? containerOf(rb))
                : run.done('rebuild').then(containerOf)),
            verify: o.verify ? run.done('verify') : Promise.resolve(undefined)
        };
    }
    purgeOf(records) {
        const m = recordsToMap(records);
        const notes = [];
        const hostValue = m.get('purged-host') === 'missing' ? (this.s.sourceDir ? `skip source-dir ${this.s.sourceDir} does not exist` : 'skip source-dir empty') : m.get('purged-host');
        const warnings = records.filter(r => r.key === 'purge-warning').map(r => r.value);
        return { host: parsePurgeCount(hostValue, 'host', notes), container: parsePurgeCount(m.get('purged-container'), 'container', notes), notes, warnings };
    }
    /** verify: the source probe will run, so the snapshot checks container-source-dir first. */
    snapshotVars(verify) {
        return {
            FD_CHECK_CSD: verify && this.s.sourceDir !== '' ? 'yes' : 'no',
            FD_SOURCE_DIR: this.s.sourceDir,
            FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
            FD_SOURCE_IN_CONTEXT: this.sourceFacts.sourceInContext ?? ''
        };
    }
    rebuildVars(noCache) {
        return {
            FD_REF: this.s.ref,
            FD_OVERRIDE_YAML: this.overrideYaml(this.s.ref),
            FD_NO_CACHE: noCache,
            FD_PULL: this.s.buildPull,
            FD_RENEW_ANON: this.s.renewAnonVolumes,
            FD_STOP_TIMEOUT: this.s.stopTimeout,
            // The dependencies to start first; rebuild.sh reads compose config itself when not known.
            FD_SERVICE_DEPS: this.serviceDeps ?? '',
            FD_SERVICE_DEPS_KNOWN: this.serviceDeps === undefined ? '' : 'yes',
            FD_HEALTH_TIMEOUT: this.s.healthTimeout
        };
    }
    /** A hook's command and environment: data for predeploy.sh / smoke.sh, never code. */
    hookVars(command, previousImage = '') {
        return { FD_HOOK: command, FD_HOOK_TIMEOUT: this.s.hookTimeout, FD_RUN_ID: this.runId, FD_REF: this.s.ref, FD_PREVIOUS_IMAGE: previousImage };
    }
    /** The post-deploy hook in the container cid, its output streamed as it comes (the smoke probe). */
    async postDeploy(cid, lockPid, previousImage) {
        const tail = [];
        const result = await this.transport.run(this.script('smoke', { ...this.hookVars(this.s.postDeploy, previousImage), FD_KNOWN_CID: cid, FD_LOCK_PID: lockPid }), {
            onLine: line => {
                tail.push(line);
                if (tail.length > HOOK_TAIL_LINES)
                    tail.shift();
                this.log.untrusted(line);
            }
        });
        this.check('smoke', result);
        return hookOf(result.records, tail);
    }
    /** cid: the container the rebuild reported; verify.sh looks the service up without it. */
    verifyVars(cid = '') {
        return {
            FD_KNOWN_CID: cid,
            FD_SOURCE_DIR: this.s.sourceDir,
            FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
            FD_SOURCE_NAMES: namePatterns(this.s.sourceInclude).join('\n'),
            FD_SOURCE_IN_CONTEXT: this.sourceFacts.sourceInContext ?? '',
            FD_HEALTH_TIMEOUT: this.s.healthTimeout,
            FD_FINGERPRINT_SH: readScript('fingerprint.sh'),
            FD_BYTECODE_PY: readScript('bytecode.py'),
            ...this.httpVars(),
            // The runner fetches verify-url itself with verify-from: runner.
            FD_VERIFY_URL: this.s.verifyFrom === 'runner' ? '' : this.s.verifyUrl,
            FD_VERIFY_FROM: this.s.verifyFrom
        };
    }
    httpVars() {
        return {
            FD_HTTP_POLL_SH: readScript('http-poll.sh'),
            FD_HTTP_CLIENT_SH: readScript('http-client.sh'),
            FD_HTTP_PY: readScript('http-get.py'),
            FD_VERIFY_URL: this.s.verifyUrl,
            FD_VERIFY_EXPECT: this.s.verifyExpect,
            FD_VERIFY_TIMEOUT: this.s.verifyTimeout,
            FD_VERIFY_INTERVAL: this.s.verifyInterval
        };
    }
    /**
     * The rest of the http probe's polling on the target (host, or inside container `cid`), after
     * verify.sh's first attempt: until the deadline that attempt set (target clock).
     */
    async httpPoll(cid, first, lockPid) {
        const vars = {
            ...this.httpVars(),
            FD_HTTP_MODE: this.s.verifyFrom === 'container' ? 'container' : 'host',
            FD_HTTP_CID: cid,
            FD_HTTP_DEADLINE: first.deadline || '',
            FD_HTTP_ATTEMPTS: first.attempts,
            FD_LOCK_PID: lockPid
        };
        return (await this.run('http', vars, { quiet: true, last: true })).records;
    }
    /** The verify step alone (a deploy runs it inside deploy(); the bench times it this way). */
    async verify(cid = '') {
        return (await this.run('verify', this.verifyVars(cid), { quiet: true, last: true })).records;
    }
    /** The source files as image imageId holds them, without the service's mounts (the heal's check). */
    async imageFiles(imageId) {
        const vars = {
            FD_IMAGE: imageId,
            FD_CONTAINER_SOURCE_DIR: this.s.containerSourceDir,
            FD_SOURCE_NAMES: namePatterns(this.s.sourceInclude).join('\n'),
            FD_FINGERPRINT_SH: readScript('fingerprint.sh')
        };
        return parseImageFiles((await this.run('image-files', vars, { quiet: true })).records);
    }
    /** Recreates the service from the snapshot's rollback target, stamped with its revision. */
    async rollback(previous, revision) {
        const result = await this.run('rollback', {
            FD_PREVIOUS_TAG: previous.previousTag,
            FD_PREVIOUS_IMAGE: previous.previousImage,
            FD_REF: revision,
            FD_OVERRIDE_YAML: this.overrideYaml(revision, previous.previousImage),
            FD_HEALTH_TIMEOUT: this.s.healthTimeout
        });
        return { container: containerOf(result.records), health: recordsToMap(result.records).get('health') ?? '' };
    }
    /** start-first, proven: the new container takes the service's name, the old one is stopped and removed. */
    async cutover(sf, lockPid) {
        const result = await this.run('cutover', {
            FD_SF_OLD: sf.old,
            FD_SF_NEW: sf.container.containerId,
            FD_SF_NETWORKS: sf.networks.join('\n'),
            FD_CUTOVER_WAIT: CUTOVER_DNS_SECONDS,
            FD_STOP_TIMEOUT: this.s.stopTimeout,
            FD_RENEW_ANON: this.s.renewAnonVolumes,
            FD_LOCK_PID: lockPid
        });
        const m = recordsToMap(result.records);
        return { named: Number(m.get('cutover-named') ?? 0), stopped: Number(m.get('cutover-stopped') ?? 0) };
    }
    /**
     * start-first, not proven: the new container's last log lines, then it is removed (the old one
     * serves on). After a cutover that failed or lost its connection (`afterCutover`: the old
     * container), the detached cutover may still run or may have finished: the script waits for it,
     * and removes the new container only if the old one still runs; else the new one serves and is
     * kept (removed: false).
     */
    async discard(cid, afterCutover) {
        const vars = { FD_SF_NEW: cid };
        if (afterCutover) {
            vars.FD_SF_OLD = afterCutover;
            // The cutover's DNS wait, the old container's stop-timeout (compose's default: 10 s), and a margin.
            vars.FD_SF_WAIT = String(Number(CUTOVER_DNS_SECONDS) + Number(this.s.stopTimeout || 10) + 60);
        }
        const result = await this.run('discard', vars, { quiet: true });
        const kept = result.records.some(r => r.key === 'kept');
        return { logs: result.records.filter(r => r.key === 'log').map(r => r.value).join('\n'), removed: !kept };
    }
    /** What runs now (status.sh): read-only. */
    async status() {
        const m = recordsToMap((await this.run('status', {}, { quiet: true })).records);
        const label = (key) => (m.get(key) === '<no value>' ? '' : (m.get(key) ?? ''));
        return {
            state: m.get('state') ?? 'none',
            running: m.get('running') === 'true',
            health: m.get('health') ?? '',
            restarts: Number(m.get('restarts') ?? 0),
            containerId: m.get('container-id') ?? '',
            imageId: m.get('image-id') ?? '',
            configImage: m.get('config-image') ?? '',
            startedAt: m.get('started-at') ?? '',
            revision: label('revision-label'),
            runId: label('run-label'),
            tagImageId: m.get('tag-image-id') ?? '',
            previousTag: m.get('previous-tag') ?? '',
            previousImageId: m.get('previous-image-id') ?? '',
            previousCreated: m.get('previous-created') ?? ''
        };
    }
    /** The service's last 50 log lines, for the failure report. Never throws. */
    async logs() {
        try {
            const result = await this.transport.run(this.script('logs'), { quiet: true });
            return result.records.filter(r => r.key === 'log').map(r => r.value).join('\n');
        }
        catch (e) {
            return `(could not read the logs: ${e.message})`;
        }
    }
}
/** A promise that the caller may never await (the run failed in an earlier step): no unhandled rejection. */
function settled(promise) {
    promise.catch(() => undefined);
    return promise;
}
function snapshotOf(records) {
    const m = recordsToMap(records);
    if (!m.get('container-id'))
        return undefined;
    return {
        containerId: m.get('container-id') ?? '',
        imageId: m.get('image-id') ?? '',
        startedAt: m.get('started-at') ?? '',
        running: m.get('running') === 'true',
        configImage: m.get('config-image') ?? '',
        revision: m.get('revision') === '<no value>' ? '' : (m.get('revision') ?? ''),
        previousTag: m.get('previous-tag') ?? '',
        previousImage: m.get('previous-image') ?? '',
        previousRevision: m.get('previous-revision') ?? '',
        previousKept: m.get('previous-kept') ?? ''
    };
}
function startFirstFactsOf(m) {
    if (!m.has('service-config'))
        return undefined;
    return { config: Buffer.from(m.get('service-config') ?? '', 'base64').toString('utf8'), running: Number(m.get('service-running') ?? 0) || 0 };
}
/** startfirst.sh's result lines; undefined when it found nothing to keep serving (rebuild.sh recreated). */
function startFirstOf(records) {
    const m = recordsToMap(records);
    if (!m.get('old-container-id') || !m.get('container-id'))
        return undefined;
    return { old: m.get('old-container-id') ?? '', networks: records.filter(r => r.key === 'sf-network').map(r => r.value), container: containerOf(records) };
}
function hookOf(records, tail) {
    const m = recordsToMap(records);
    // The hook's own lines, without the script's "+ command" line before them.
    const lines = tail.filter(l => !/^\+ .* <(pre|post)-deploy> \(hook-timeout \d+ s\)$/.test(l));
    return { exitCode: Number(m.get('hook-exit') ?? '-1'), timedOut: m.has('hook-timeout'), tail: lines };
}
function containerOf(records) {
    const m = recordsToMap(records);
    return {
        containerId: m.get('container-id') ?? '',
        imageId: m.get('image-id') ?? '',
        startedAt: m.get('started-at') ?? '',
        configImage: m.get('config-image') ?? ''
    };
}

// EXTERNAL MODULE: ./src/engine/transport.ts
var transport = __webpack_require__(9147);
;// CONCATENATED MODULE: ./src/engine/pipeline.ts
// The deploy, top to bottom: connect, lock, sync, snapshot, purge, rebuild, verify, heal,
// rollback (../shared/contract.md, "The pipeline"). The engine reports through a Reporter and
// returns a Report; the action and the command line turn that into outputs or terminal lines.










const ALL_PROBES = ['recreated', 'image', 'source', 'bytecode', 'health', 'http', 'smoke'];
function newRunId() {
    return `${process.env.GITHUB_RUN_ID || 'local'}-${process.env.GITHUB_RUN_ATTEMPT || '1'}-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`;
}
/** An error message for the user: inputs named with their values, secrets never quoted. */
function describeError(e, inputValue = () => '') {
    if (e instanceof TargetInputError) {
        const raw = e.input === 'ssh-key' ? '' : inputValue(e.input);
        return `input ${e.input}:${raw ? ` ${quoteValue(raw)}` : ''} ${e.detail}`;
    }
    return e instanceof Error ? e.message : String(e);
}
/** A report for a run that stopped before it started (bad input): verdict error. */
function errorReport(message, log) {
    const report = new Report(log);
    report.error = message;
    return report;
}
async function deploy(s, log, options = {}) {
    const report = new Report(log);
    // Mask the key before anything else can print it.
    if (s.ssh)
        (0,ssh/* maskKey */.s9)(s.ssh.key, log);
    const runId = options.runId ?? newRunId();
    report.revision = s.ref;
    report.dryRun = s.dryRun;
    report.target = s.ssh ? `ssh ${(0,ssh/* describeTarget */.ff)(s.ssh)}:${s.projectDir}` : `local:${s.projectDir}`;
    let target;
    let lock;
    let locking;
    let sshFiles;
    let current;
    try {
        const transport = await report.step('connect', s.ssh ? (0,ssh/* describeTarget */.ff)(s.ssh) : 'local transport', async () => options.transport ??
            connect(s, log, f => {
                sshFiles = f;
                options.onSshFiles?.(f);
            }));
        target = new Target(transport, s, runId, log);
        if (s.dryRun) {
            const pre = await preflightStep(report, target, s);
            checkStrategy(target, s);
            printPlan(log, target, s, pre, runId);
            const planned = ['lock', 'sync', 'snapshot', 'purge', 'rebuild', ...(s.preDeploy ? ['pre-deploy'] : []), 'verify', ...(s.postDeploy ? ['post-deploy'] : []), ...(s.strategy === 'start-first' ? ['cutover'] : [])];
            for (const name of planned)
                report.skipStep(name, 'dry-run: nothing changed');
            report.verdict = 'dry-run';
            return report;
        }
        const session = (locking = target.preflightAndLock(s.sync !== 'git', 
        // The holder's text comes from a file on the target: shown, never obeyed.
        holder => log.untrusted(`waiting for the deploy lock (up to ${s.lockTimeout} s, input lock-timeout), held by ${holder}`), holder => log.warning(`the deploy lock of ${s.projectDir} was left by a deploy that is gone (${holder}); taking it over`)));
        const pre = await preflightStep(report, target, s, session.preflight);
        // Refused before the lock's step (with sync: git, after the sync, which reads the compose files of ref).
        if (s.sync !== 'git')
            checkStrategy(target, s);
        lock = await lockStep(report, s, pre, session.lock);
        const run = { s, log, report, runId, target, pre, lock, hasBuild: pre.hasBuild ?? false };
        current = run;
        await syncStep(run);
        if (s.sync === 'git')
            checkStrategy(target, s);
        await deployAndVerify(run);
        await healWhileStale(run);
        await postDeployStep(run);
        await finishStartFirst(run);
        await rollbackIfUnhealthy(run);
    }
    catch (e) {
        report.verdict = 'error';
        report.error = describeError(e, options.inputValue);
        // Also when the preflight failed: the summary lists connect once.
        mergeConnectSteps(report);
        // start-first: a new container that did not take over must not stay beside the old one.
        const run = current;
        if (run?.sf) {
            await settle(log, 'removing the new container', async () => {
                await discardNew(run, 'the deploy failed', true);
            });
        }
    }
    finally {
        // Release the lock first (another deploy may be waiting), then read what the report needs,
        // then close the connection and delete the key: each step even when an earlier one throws.
        await settle(log, 'releasing the deploy lock', async () => {
            if (lock)
                log.debug(`lock released (exit ${(await lock.release()).code})`);
            // Stopped between the preflight and the lock step: the lock script may still take the lock
            // later; release it then (not awaited: it may wait up to lock-timeout for another deploy).
            else
                locking?.lock.then(held => held.release(), () => undefined);
        });
        if (report.failed && target && !report.dryRun) {
            const t = target;
            await settle(log, 'reading the service logs', async () => {
                report.serviceLogs = await t.logs();
            });
        }
        await settle(log, 'closing the transport', async () => target?.close());
        await settle(log, 'closing the ssh connection', async () => {
            if (sshFiles && s.ssh)
                (0,ssh/* closeSshSoon */.GK)(sshFiles, s.ssh.host, log);
        });
    }
    return report;
}
async function settle(log, what, fn) {
    try {
        await fn();
    }
    catch (e) {
        log.warning(`${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
}
async function connect(s, log, onFiles) {
    if (!s.ssh)
        return new transport/* LocalTransport */.Vu(line => log.untrusted(line));
    const files = (0,ssh/* createSshDir */.y)();
    onFiles(files);
    const args = await (0,ssh/* prepareSsh */.ix)(s.ssh, files, log);
    return (0,ssh/* openMaster */.$8)(s.ssh, files, args, log);
}
/** connect, second part: the preflight checks on the target (alone for a dry-run). */
async function preflightStep(report, t, s, running) {
    const pre = await report.step('connect', 'preflight checks on the target', async (note) => {
        const p = running ? await running : await t.preflight(s.sync !== 'git');
        note(`${t.where}; ${p.realPath}; docker ${p.engineVersion}; ${p.compose} ${p.composeVersion}`);
        return p;
    });
    mergeConnectSteps(report);
    return pre;
}
async function lockStep(report, s, pre, locking) {
    const lock = await report.step('lock', `deploy lock for ${s.projectDir}`, async (note) => {
        const held = await locking;
        note(pre.flock ? 'flock' : 'mkdir lock (no flock on the target)');
        return held;
    });
    // The lock lasts as long as its script on the target. If that ends early (killed, or its
    // session dropped), another deploy may take the lock over: stop before the next step rather
    // than go on changing the service unprotected.
    let lockEnded;
    lock.done.then(r => (lockEnded = r.code), () => (lockEnded = -1));
    report.guard = name => {
        if (lockEnded !== undefined) {
            throw new RemoteError('lock', lockEnded, `the deploy lock of ${s.projectDir} was lost (its holder on the target ended with exit ${lockEnded}); stopped before the ${name} step so that two deploys cannot overlap`);
        }
    };
    return lock;
}
/** strategy: start-first refused before anything changes: container_name, a fixed host port, network_mode, several containers. */
function checkStrategy(target, s) {
    if (s.strategy !== 'start-first')
        return;
    const facts = target.startFirstFacts;
    if (!facts)
        return;
    const why = startFirstRefusal(s.service, facts);
    if (why)
        throw new TargetInputError('strategy', `${why}. Nothing was changed.`);
}
async function syncStep(run) {
    const { s, report, target } = run;
    if (s.sync !== 'git') {
        report.skipStep('sync', 'sync: none');
        return;
    }
    await report.step('sync', `git checkout ${s.ref}`, async (note) => {
        const synced = await target.sync();
        run.hasBuild = synced.hasBuild;
        note(`HEAD ${synced.head} (was ${synced.previous || 'nothing'})`);
    });
}
/**
 * Snapshot, purge, rebuild and verify: one script on the target (no round trip or remote shell
 * start between the steps). Each step is reported when its part is done; each checks on the
 * target that the deploy lock is still held.
 */
async function deployAndVerify(run) {
    const { s, report, target } = run;
    const deployRun = target.deploy({ snapshot: true, purge: s.purge, noCache: s.buildNoCache, verify: s.verify, lockPid: run.lock.pid, preDeploy: s.preDeploy !== '' });
    run.snapshot = await snapshotStep(run, deployRun);
    report.previousImageId = run.snapshot?.imageId ?? '';
    await purgeStep(run, deployRun);
    const startFirst = s.strategy === 'start-first';
    if (s.preDeploy || startFirst)
        await preDeployStep(run, deployRun);
    try {
        const title = startFirst ? `a new ${s.service} container next to the running one` : `build and recreate ${s.service}`;
        run.container = await report.step('rebuild', title, async (note) => rebuildStep(run, deployRun, note));
    }
    catch (e) {
        await afterFailedRebuild(run, e);
        throw e;
    }
    if (!s.verify) {
        report.verifySkipped = true;
        report.probes = ALL_PROBES.map(name => ({ name, verdict: 'skip', expected: '', found: '', reason: 'verify: false' }));
        report.skipStep('verify', 'verify: false — no probe ran');
        if (s.postDeploy)
            report.skipStep('post-deploy', 'verify: false — the smoke test is a probe, and no probe ran');
        report.verdict = 'unverified';
        return;
    }
    report.probes = await report.step('verify', 'probes', async (note) => verifyOnce(run, deployRun, note));
    setVerdict(report);
}
/** The verdict the probes give; a probe that could not run (error) says why: no heal, no rollback. */
function setVerdict(report) {
    report.verdict = verdictOf(report.probes);
    if (report.verdict === 'error') {
        const p = report.probes.find(x => x.verdict === 'fail' && x.leadsTo === 'error');
        report.error = p ? `probe ${p.name} could not run: ${p.reason}` : 'a probe could not run';
    }
}
async function snapshotStep(run, deployRun) {
    return run.report.step('snapshot', `the running ${run.s.service} container`, async (note) => {
        deployRun.attach('snapshot');
        const snap = await deployRun.snapshot;
        note(snap ? `container ${snap.containerId.slice(0, 12)}, image ${snap.imageId}; ${rollbackTarget(snap)}` : 'no container yet: first deploy');
        if (snap?.previousKept)
            run.log.info(`snapshot: ${rollbackTarget(snap)}`);
        return snap;
    });
}
async function purgeStep(run, deployRun) {
    const { s, report } = run;
    if (!s.purge) {
        report.skipStep('purge', 'purge: false');
        return;
    }
    await report.step('purge', `bytecode under ${s.sourceDir} and ${s.containerSourceDir}`, async (note) => note(await purgeCounts(run, deployRun)));
}
/** Adds a purge's counts to the report (a heal purges too); warnings for what could not be deleted. */
async function purgeCounts(run, deployRun) {
    const { report, log } = run;
    deployRun.attach('purge');
    const purged = (await deployRun.purge);
    report.purgedHost += purged.host;
    report.purgedContainer += purged.container;
    for (const n of [...purged.notes, ...purged.warnings])
        if (!report.purgeNotes.includes(n))
            report.purgeNotes.push(n);
    for (const w of purged.warnings)
        log.warning(`purge: ${w}`);
    return `${purged.host} on the host, ${purged.container} in the container${purged.notes.length ? `; ${purged.notes.join('; ')}` : ''}`;
}
/**
 * With pre-deploy: the image is built (the first rebuild group), the hook runs in a one-off
 * container of it, and only then is the running container replaced (the second rebuild group).
 * A failed hook ends the deploy with verdict error; the old container never stopped.
 */
async function preDeployStep(run, deployRun) {
    const { s, report } = run;
    const why = s.preDeploy ? 'before pre-deploy' : 'strategy: start-first';
    await report.step('rebuild', `build ${s.service} (${why}; the running container is not touched)`, async (note) => {
        deployRun.attach('build');
        await deployRun.build;
        note('image built');
    });
    if (!s.preDeploy)
        return undefined;
    return report.step('pre-deploy', 'in a one-off container of the new image', async (note) => {
        deployRun.attach('predeploy');
        const hook = await deployRun.preDeploy;
        note(hook ? `exit ${hook.exitCode}` : 'not run');
        return hook;
    });
}
/**
 * post-deploy: the smoke test, inside the new container, once the other probes passed. Its result
 * is the smoke probe; a failure makes the verdict unhealthy (and so rolls back).
 */
async function postDeployStep(run) {
    const { s, report, target } = run;
    if (!s.verify)
        return;
    const smokeAt = report.probes.findIndex(p => p.name === 'smoke');
    const setSmoke = (p) => {
        if (smokeAt >= 0)
            report.probes[smokeAt] = p;
        else
            report.probes.push(p);
    };
    if (!s.postDeploy) {
        setSmoke(probeSmoke(undefined, s));
        return;
    }
    if (report.verdict !== 'fresh') {
        setSmoke(probeSmoke(undefined, s, `not run: the verdict was already ${report.verdict}`));
        report.skipStep('post-deploy', `not run: verdict ${report.verdict}`);
        return;
    }
    const smoke = await report.step('post-deploy', `smoke test in container ${report.containerId.slice(0, 12)}`, async (note) => {
        const hook = await target.postDeploy(report.containerId, run.lock.pid, report.previousImageId);
        const probe = probeSmoke(hook, s);
        note(`${probe.verdict}: ${hook.timedOut ? 'stopped after hook-timeout' : `exit ${hook.exitCode}`}`);
        return probe;
    });
    setSmoke(smoke);
    logProbes(run.log, [smoke]);
    setVerdict(report);
}
async function rebuildStep(run, deployRun, note) {
    if (run.s.strategy === 'start-first') {
        deployRun.attach('startfirst');
        run.sf = await deployRun.startFirst;
    }
    deployRun.attach('rebuild');
    const c = await deployRun.rebuild;
    setContainer(run.report, c);
    const beside = run.sf ? ` next to ${run.sf.old.slice(0, 12)}, which still serves (not under the service's name until the cutover)` : '';
    const fallback = run.s.strategy === 'start-first' && !run.sf ? ' (recreated: no running container to keep serving)' : '';
    note(`container ${c.containerId.slice(0, 12)}, image ${c.imageId}${beside}${fallback}`);
    return c;
}
function setContainer(report, c) {
    report.containerId = c.containerId;
    report.imageId = c.imageId;
    report.startedAtContainer = c.startedAt;
}
function probeContext(run) {
    const { s } = run;
    return {
        previousContainerId: run.snapshot?.containerId ?? '',
        deployStartedAt: run.pre.now,
        runId: run.runId,
        hasBuild: run.hasBuild,
        sourceDir: s.sourceDir,
        containerSourceDir: s.containerSourceDir,
        sourceInclude: s.sourceInclude,
        sourceExclude: s.sourceExclude,
        ...run.target.sourceFacts,
        verifyUrl: s.verifyUrl,
        verifyExpect: s.verifyExpect,
        verifyTimeout: s.verifyTimeout
    };
}
async function verifyOnce(run, deployRun, note) {
    const { s, report, log } = run;
    const facts = parseVerifyRecords((await deployRun.verify) ?? [], s.verifyFrom);
    run.facts = facts;
    const ctx = probeContext(run);
    // start-first: a probe from the host or the runner would reach the old container; it runs after the cutover.
    const afterCutover = run.sf !== undefined && s.verifyFrom !== 'container';
    // One attempt came with the verify script; poll further only when no other probe failed.
    await finishHttpProbe(facts, ctx, {
        from: s.verifyFrom,
        url: afterCutover ? '' : s.verifyUrl,
        expect: s.verifyExpect,
        timeoutSeconds: s.verifyTimeout,
        intervalSeconds: s.verifyInterval,
        pollOnTarget: first => run.target.httpPoll(facts.containerId, first, run.lock.pid)
    });
    if (facts.containerId)
        setContainer(report, facts);
    let probes = runProbes(facts, ctx);
    if (afterCutover && s.verifyUrl) {
        const reason = `runs after the cutover (verify-from: ${s.verifyFrom}): until then ${s.verifyUrl} reaches the old container`;
        probes = probes.map(p => (p.name === 'http' ? { ...p, verdict: 'skip', reason } : p));
    }
    logProbes(log, probes);
    note(`${verdictOf(probes)}: ${probes.map(p => `${p.name} ${p.verdict}`).join(', ')}`);
    return probes;
}
function logProbes(log, probes) {
    for (const p of probes) {
        const evidence = p.verdict === 'pass' ? [p.found, p.reason].filter(Boolean).join('; ') : p.reason;
        const line = `${p.verdict.padEnd(4)} ${p.name}${evidence ? `: ${evidence}` : ''}`;
        // Evidence quotes the target (file names, an http body): shown, never obeyed.
        log.untrusted(line);
    }
}
/**
 * Stale: a no-cache rebuild and a fresh recreate, verified again, at most stale-retries times.
 * A heal that fails keeps the verdict the probes gave, with a note (never an "error" that hides
 * the evidence).
 */
async function healWhileStale(run) {
    const { s, report, target, log } = run;
    while (report.verdict === 'stale' && report.healAttempts < s.staleRetries) {
        if (await maskedByMount(run))
            return;
        report.healAttempts++;
        const failed = report.probes.filter(p => p.verdict === 'fail').map(p => p.name);
        try {
            report.probes = await report.step('heal', `no-cache rebuild ${report.healAttempts}/${s.staleRetries}`, async (note) => {
                // start-first: the stale container never served; the heal starts another next to the old one.
                const old = run.sf?.old;
                if (run.sf)
                    await discardNew(run, 'stale', false);
                const how = old ? 'starting a new container next to the old one' : 'recreating';
                log.info(`verdict stale (${failed.join(', ')} failed): ${s.purge ? 'purging, ' : ''}rebuilding without cache and ${how}, then verifying again`);
                const heal = target.deploy({ snapshot: false, purge: s.purge, noCache: true, verify: true, lockPid: run.lock.pid, ...(old ? { oldCid: old } : {}) });
                if (s.purge)
                    log.info(`purge: ${await purgeCounts(run, heal)}`);
                run.container = await rebuildStep(run, heal, () => undefined);
                return verifyOnce(run, heal, note);
            });
        }
        catch (e) {
            report.notes.push(`heal ${report.healAttempts} failed: ${describeError(e)}`);
            // A heal's up that removed the container and started none leaves the service down.
            await afterFailedRebuild(run, e);
            return;
        }
        setVerdict(report);
    }
}
/**
 * Stale because a mount hides what the image holds (a named volume over the source, an old
 * anonymous volume with renew-anon-volumes off): no rebuild can help, so no heal is tried and
 * the source probe says which mount to deal with. Asked of the target only when every differing
 * file lies in a mount.
 */
async function maskedByMount(run) {
    const { report, facts, log } = run;
    const source = report.probes.find(p => p.name === 'source');
    if (!facts || source?.verdict !== 'fail' || source.leadsTo !== 'stale' || !facts.imageId)
        return false;
    const ctx = probeContext(run);
    if (maskingMounts(facts, ctx, facts.hostFiles).length === 0)
        return false;
    let image;
    try {
        image = await run.target.imageFiles(facts.imageId);
    }
    catch (e) {
        log.debug(`could not list the image's own files: ${describeError(e)}`);
        return false;
    }
    if (image.dir !== 'yes')
        return false;
    const mounts = maskingMounts(facts, ctx, image.files);
    if (mounts.length === 0)
        return false;
    const why = `a mount masks the image's files: the image holds the host's version of every differing file, but the container sees ${mounts.join(', ')} over them. No rebuild can help (a volume or bind mount outlives it), so no heal was tried: remove or refresh that volume (an anonymous one: renew-anon-volumes: true), or stop mounting it over container-source-dir`;
    source.reason = `${source.reason}; ${why}`;
    report.notes.push(why);
    log.warning(why);
    return true;
}
/** The snapshot's rollback target, in words (the snapshot step's note). */
function rollbackTarget(snap) {
    const target = snap.previousTag ? `rollback target ${snap.previousTag} (image ${snap.previousImage}, revision ${snap.previousRevision || 'unknown'})` : '';
    if (!snap.previousKept)
        return target;
    return `${snap.previousKept}${target ? `: ${target}` : ''}`;
}
/**
 * start-first, after the probes and post-deploy: a proven new container takes over (cutover), then
 * the public http probe runs (verify-from: host or runner); one that was not proven is removed and
 * the old one, never stopped, serves on.
 */
async function finishStartFirst(run) {
    const { s, report, target, log } = run;
    const sf = run.sf;
    if (!sf)
        return;
    if (report.verdict !== 'fresh' && report.verdict !== 'unverified') {
        const verdict = report.verdict;
        const logs = await report.step('rollback', `remove the new container ${sf.container.containerId.slice(0, 12)}; the previous container keeps serving`, async (note) => {
            const lines = await discardNew(run, verdict, true);
            note(report.rollbackNote);
            return lines;
        });
        if (verdict === 'unhealthy')
            report.failedLogs = logs;
        return;
    }
    const cut = await report.step('cutover', `container ${sf.container.containerId.slice(0, 12)} takes the name ${s.service} from ${sf.old.slice(0, 12)}`, async (note) => {
        // From here on, a failure (e.g. the connection dropped) may leave the cutover running,
        // detached, or done: the new container may be the one serving (discardNew checks first).
        run.cutoverStarted = true;
        const c = await target.cutover(sf, run.lock.pid);
        note(`old ${sf.old.slice(0, 12)} → new ${sf.container.containerId.slice(0, 12)}; named in ${c.named} s, old drained, stopped and removed in ${c.stopped} s`);
        return c;
    });
    log.debug(`cutover: ${JSON.stringify(cut)}`);
    run.sf = undefined;
    await publicHttpProbe(run);
}
/** start-first: the http probe from the host or the runner, once the new container has the service's name. */
async function publicHttpProbe(run) {
    const { s, report, target, log } = run;
    if (!s.verify || !s.verifyUrl || s.verifyFrom === 'container' || !run.facts)
        return;
    const facts = run.facts;
    const probe = await report.step('verify', `http ${s.verifyUrl} after the cutover`, async (note) => {
        if (s.verifyFrom === 'runner') {
            facts.http = await httpProbeFromRunner({ url: s.verifyUrl, expect: s.verifyExpect, timeoutSeconds: s.verifyTimeout, intervalSeconds: s.verifyInterval });
        }
        else {
            facts.http = parseHttpRecords(await target.httpPoll(facts.containerId, { deadline: 0, attempts: 0 }, run.lock.pid), 'host');
        }
        const p = probeHttp(facts, probeContext(run));
        note(`${p.verdict}: ${p.found || p.reason}`);
        return p;
    });
    const at = report.probes.findIndex(p => p.name === 'http');
    if (at >= 0)
        report.probes[at] = probe;
    else
        report.probes.push(probe);
    logProbes(log, [probe]);
    setVerdict(report);
}
/**
 * start-first: removes the new container (it never served), keeping its last log lines; the
 * report names the old one, which serves on. Returns the new container's logs.
 */
async function discardNew(run, why, final) {
    const { report, target, snapshot } = run;
    const sf = run.sf;
    if (!sf)
        return '';
    const { logs, removed } = await target.discard(sf.container.containerId, run.cutoverStarted ? sf.old : undefined);
    run.sf = undefined;
    if (!removed) {
        // The cutover went through on the target although the runner lost sight of it: the new
        // container serves alone, and removing it would leave none.
        report.notes.push(`the cutover finished on the target: the new container ${sf.container.containerId.slice(0, 12)} took the name and the old one ${sf.old.slice(0, 12)} stopped; the new container was kept (deploy again to verify it)`);
        return logs;
    }
    // A heal starts another new container; only the last removal is the deploy's outcome.
    if (!final)
        return logs;
    if (snapshot)
        setContainer(report, snapshot);
    report.rolledBack = true;
    report.keptPrevious = true;
    report.rollbackNote = `the previous container kept serving (${sf.old.slice(0, 12)}): the new container ${sf.container.containerId.slice(0, 12)} (${why}) never took a request and was removed`;
    return logs;
}
/** Unhealthy: put the snapshot's image back (rollback: true). The verdict stays unhealthy. */
async function rollbackIfUnhealthy(run) {
    // start-first before the cutover: the old container never stopped (finishStartFirst).
    if (run.report.verdict !== 'unhealthy' || run.report.rolledBack)
        return;
    await rollBack(run, 'the unhealthy container was left in place');
}
/**
 * A rebuild that failed (item 8): when it got as far as removing the old container and left
 * no running one, roll back like unhealthy (the verdict stays error); when the old container
 * still runs (the build failed before the recreate), say so. rebuild.sh reports which
 * ("after-failure"); without that line (lost connection, engine down) nobody knows: nothing
 * is done.
 */
async function afterFailedRebuild(run, e) {
    const state = e instanceof RemoteError ? e.records.find(r => r.key === 'after-failure')?.value : undefined;
    if (!state)
        return;
    const [what, cid = ''] = state.split(' ');
    if (what === 'running') {
        const old = run.snapshot && cid === run.snapshot.containerId;
        run.report.notes.push(old ? `the old container ${cid.slice(0, 12)} was not replaced and still runs: nothing to roll back` : `container ${cid.slice(0, 12)} of ${run.s.service} runs: nothing to roll back`);
        return;
    }
    const why = what === 'none' ? `no container of ${run.s.service} is left` : `container ${cid.slice(0, 12)} of ${run.s.service} is not running`;
    await rollBack(run, 'nothing was put back', `the failed rebuild left no running container of ${run.s.service} (${why})`);
}
/**
 * Puts the snapshot's rollback target back (rollback: true) and says what happened in
 * report.rollbackNote; never changes the verdict. left: what stays when nothing is put back.
 */
async function rollBack(run, left, because = '') {
    const { s, report, target, log, snapshot } = run;
    const why = because ? `${because}; ` : '';
    if (!s.rollback) {
        report.rollbackNote = `${why}rollback: false — ${left}`;
        return;
    }
    if (!snapshot) {
        report.rollbackNote = `${why}no previous image: this was the first deploy of the service, so no rollback was possible`;
        log.warning(report.rollbackNote);
        return;
    }
    if (!snapshot.previousTag) {
        report.rollbackNote = `${why}no rollback target (${snapshot.previousKept}), so no rollback was possible`;
        log.warning(report.rollbackNote);
        return;
    }
    // Read the logs now: after the rollback, the service's logs are the previous image's, and the
    // report would show a healthy start instead of why the new container failed.
    report.failedLogs = await target.logs();
    const revision = snapshot.previousRevision;
    try {
        await report.step('rollback', `previous image of ${s.service}`, async (note) => {
            if (because)
                log.info(`${because}: rolling back`);
            const back = await target.rollback(snapshot, revision || 'rollback');
            setContainer(report, back.container);
            report.rolledBack = true;
            report.rollbackNote = `${why}put back image ${back.container.imageId} (revision ${revision || 'unknown'}) as container ${back.container.containerId.slice(0, 12)}; ${back.health.startsWith('pass') ? 'it runs' : `but it is not healthy either: ${back.health}`}`;
            note(report.rollbackNote);
        });
    }
    catch (err) {
        report.rollbackNote = `${why}the rollback failed: ${describeError(err)}`;
        report.notes.push(report.rollbackNote);
    }
}
/** connect runs in two parts (transport, preflight); the summary shows them as one step. */
function mergeConnectSteps(report) {
    const parts = report.steps.filter(x => x.name === 'connect');
    if (parts.length < 2)
        return;
    const [first, ...rest] = parts;
    for (const p of rest) {
        first.seconds += p.seconds;
        first.note = [first.note, p.note].filter(Boolean).join('; ');
        if (p.status === 'failed')
            first.status = 'failed';
        report.steps.splice(report.steps.indexOf(p), 1);
    }
}
/** dry-run: every script that would run, with its variables (the key is never among them). */
function printPlan(log, target, s, pre, runId) {
    const show = (name, title, vars) => {
        log.block(`${title}: plan (dry-run, not run)`, `${preamble({ ...vars })}\n${readScript(`${name}.sh`)}`);
    };
    const common = {
        FD_PROJECT_DIR: s.projectDir,
        FD_COMPOSE_CMD: pre.compose,
        FD_COMPOSE_FILES: s.composeFiles.join('\n'),
        FD_PROJECT_NAME: s.composeProjectName,
        FD_RESOLVED_PROJECT: target.resolvedProject,
        FD_SERVICE: s.service
    };
    log.info(`dry-run: every step below would run on ${target.where} with bash -s, preceded by src/scripts/lib.sh; run id ${runId}`);
    log.block('lib.sh (sent before every step script)', readScript('lib.sh'));
    show('lock', 'lock', { ...common, ...target.lockVars(pre.flock) });
    if (s.sync === 'git')
        show('sync', 'sync', { ...common, FD_REF: s.ref, FD_DISCARD: s.syncDiscardChanges });
    show('snapshot', 'snapshot', common);
    if (s.purge)
        show('purge', 'purge', { ...common, FD_SOURCE_DIR: s.sourceDir, FD_CONTAINER_SOURCE_DIR: s.containerSourceDir, FD_PURGE_SH: '(src/scripts/purge-tree.sh)', FD_KNOWN_CID: '(the container the snapshot found)', FD_KNOWN_CID_SET: 'yes' });
    const startFirst = s.strategy === 'start-first';
    if (s.preDeploy || startFirst)
        show('build', `rebuild (before ${s.preDeploy ? 'pre-deploy' : 'the new container starts'})`, { ...common, ...target.rebuildVars(s.buildNoCache) });
    if (s.preDeploy)
        show('predeploy', 'pre-deploy', { ...common, ...target.hookVars(s.preDeploy, '(the image the snapshot found)') });
    if (startFirst)
        show('startfirst', 'rebuild (strategy: start-first: a new container next to the running one)', { ...common, ...target.rebuildVars(s.buildNoCache), FD_KNOWN_CID: '(the container the snapshot found)', FD_KNOWN_CID_SET: 'yes' });
    show('rebuild', startFirst ? 'rebuild (only when no container runs)' : 'rebuild', { ...common, ...target.rebuildVars(s.buildNoCache), ...(s.preDeploy || startFirst ? { FD_NO_BUILD: true } : {}) });
    if (s.verify) {
        show('verify', 'verify', {
            ...common,
            ...target.verifyVars('(the container the rebuild created)'),
            FD_FINGERPRINT_SH: '(src/scripts/fingerprint.sh)',
            FD_BYTECODE_PY: '(src/scripts/bytecode.py)',
            FD_HTTP_POLL_SH: '(src/scripts/http-poll.sh)',
            FD_HTTP_CLIENT_SH: '(src/scripts/http-client.sh)',
            FD_HTTP_PY: '(src/scripts/http-get.py)'
        });
        if (s.postDeploy)
            show('smoke', 'post-deploy', { ...common, ...target.hookVars(s.postDeploy, '(the image the snapshot found)'), FD_KNOWN_CID: '(the container the rebuild created)' });
    }
    if (startFirst)
        show('cutover', 'cutover', { ...common, FD_SF_OLD: '(the container the snapshot found)', FD_SF_NEW: '(the new container)', FD_SF_NETWORKS: '(its networks and aliases)', FD_STOP_TIMEOUT: s.stopTimeout, FD_RENEW_ANON: s.renewAnonVolumes });
}

;// CONCATENATED MODULE: ./src/engine/rollout.ts
// Several hosts (../shared/contract.md, "Several hosts"): a rolling deploy above deploy(). The
// first host is the canary and runs alone; then `parallel` hosts at a time, in the order given.
// The first host whose verdict is not fresh (or unverified) stops the rollout: hosts not started
// are never touched, hosts in flight finish. Each host is a whole deploy() of its own: its own
// ssh master connection, lock, snapshot, probes and rollback.

class Rollout {
    outcomes;
    parallel;
    startedAt = Date.now();
    /** Set when a cancel stopped the rollout before every host was reached: the run failed. */
    cancelled = false;
    constructor(outcomes, parallel) {
        this.outcomes = outcomes;
        this.parallel = parallel;
    }
    /** The hosts that were reached, in the order given. */
    get reached() {
        return this.outcomes.filter((o) => o.report !== undefined);
    }
    /** The last host reached, in the order given: what the single-valued outputs describe. */
    get last() {
        const r = this.reached;
        return r[r.length - 1];
    }
    /** The worst verdict of the hosts reached (error when none was). */
    get verdict() {
        return worstVerdict(this.reached.map(o => o.report.verdict));
    }
    /** The first host reached whose verdict is the worst: the one a failure message is about. */
    get worst() {
        const v = this.verdict;
        return this.reached.find(o => o.report.verdict === v);
    }
    durationSeconds() {
        return ((Date.now() - this.startedAt) / 1000).toFixed(1);
    }
}
/** Worst first: the order of the verdict output with several hosts. */
const SEVERITY = ['error', 'unhealthy', 'stale', 'unverified', 'dry-run', 'fresh'];
function worstVerdict(verdicts) {
    if (verdicts.length === 0)
        return 'error';
    return verdicts.reduce((a, b) => (SEVERITY.indexOf(b) < SEVERITY.indexOf(a) ? b : a));
}
/** Whether a host's verdict lets the rollout go on. */
function continues(verdict) {
    return verdict === 'fresh' || verdict === 'unverified' || verdict === 'dry-run';
}
/** The settings of one host: the run's settings with that host's connection. */
function hostSettings(s, h) {
    return { ...s, ssh: h.ssh, hosts: [h] };
}
/**
 * Deploys every host of s.hosts; each host reports through the reporter hostLog makes for it
 * (a HostReporter). Never throws: a host's failure is in its report.
 */
async function rollout(s, hostLog, options = {}) {
    const hosts = s.hosts ?? [];
    const deployOne = options.deployOne ?? deploy;
    const runId = options.runId ?? newRunId();
    const outcomes = hosts.map(h => ({ label: h.label, seconds: 0 }));
    const result = new Rollout(outcomes, s.parallel);
    let stoppedBy;
    let next = 0;
    const runHost = async (i) => {
        const h = hosts[i];
        const t0 = Date.now();
        const log = hostLog(h.label);
        let report;
        try {
            // Every deploy option passes through (the rollout's own are ignored by deploy()).
            report = await deployOne(hostSettings(s, h), log, {
                ...options,
                runId,
                onSshFiles: files => {
                    options.onHostSshFiles?.(h, files);
                    options.onSshFiles?.(files);
                }
            });
        }
        catch (e) {
            // deploy() reports its failures; a throw is a bug, and it must not cut the other hosts off.
            report = errorReport(describeError(e), log);
        }
        outcomes[i].report = report;
        outcomes[i].seconds = (Date.now() - t0) / 1000;
        if (!continues(report.verdict) && stoppedBy === undefined)
            stoppedBy = `${h.label} ended with verdict ${report.verdict}`;
    };
    const mayStart = () => {
        if (stoppedBy !== undefined)
            return false;
        if (options.cancelled?.()) {
            stoppedBy = 'the run was cancelled';
            result.cancelled = true;
            return false;
        }
        return true;
    };
    // One worker takes the next host whenever it is free: at most `parallel` in flight.
    const worker = async () => {
        while (next < hosts.length && mayStart())
            await runHost(next++);
    };
    if (hosts.length > 0 && mayStart()) {
        // The canary alone: a bad build stops at one host whatever parallel says.
        await runHost(next++);
        await Promise.all(Array.from({ length: Math.min(s.parallel, hosts.length - 1) }, worker));
    }
    for (const o of outcomes)
        if (!o.report)
            o.skipReason = `not reached: ${stoppedBy ?? 'the rollout stopped'}`;
    return result;
}
/**
 * The reporter of one host: step names as "rebuild (web2.example.com)" in log groups and
 * terminal lines (the host's Report keeps the plain names). With buffer (several hosts at
 * once), a step's lines are held until the step ends and then written as one group, so that two
 * hosts' builds never interleave inside a group; masks pass through at once.
 */
class HostReporter {
    inner;
    label;
    buffer;
    held;
    constructor(inner, label, buffer = false) {
        this.inner = inner;
        this.label = label;
        this.buffer = buffer;
    }
    name(name) {
        // Only the text changes: the front ends print the name as given.
        return `${name} (${this.label})`;
    }
    emit(fn) {
        if (this.held)
            this.held.push(fn);
        else
            fn();
    }
    stepStarted(name, title) {
        const start = () => this.inner.stepStarted(this.name(name), title);
        if (!this.buffer)
            return start();
        this.held = [start];
    }
    stepEnded(step) {
        const record = { ...step, name: this.name(step.name) };
        if (!this.held)
            return this.inner.stepEnded(record);
        const lines = this.held;
        this.held = undefined;
        for (const fn of lines)
            fn();
        this.inner.stepEnded(record);
    }
    info(text) {
        // Outside a step, a line of one host among several in flight says whose it is.
        const line = this.buffer && !this.held ? `(${this.label}) ${text}` : text;
        this.emit(() => this.inner.info(line));
    }
    warning(text) {
        // A warning annotation stands alone in the job's list: it names its host.
        this.inner.warning(`${this.label}: ${text}`);
    }
    debug(text) {
        this.emit(() => this.inner.debug(`(${this.label}) ${text}`));
    }
    untrusted(text) {
        this.emit(() => this.inner.untrusted(text));
    }
    block(title, text, options) {
        this.emit(() => this.inner.block(`${title} (${this.label})`, text, options));
    }
    secret(value) {
        this.inner.secret(value);
    }
}
/** The hosts output: one object per host in the order given. */
function hostsJson(r) {
    return JSON.stringify(hostsObjects(r));
}
function hostsObjects(r) {
    return r.outcomes.map(o => {
        const p = o.report;
        return {
            host: o.label,
            verdict: p ? p.verdict : 'skip',
            verified: p ? p.verified : false,
            'container-id': p?.containerId ?? '',
            'image-id': p?.imageId ?? '',
            'previous-image-id': p?.previousImageId ?? '',
            'rolled-back': p?.rolledBack ?? false,
            purged: p?.purged ?? 0,
            'duration-seconds': Number(o.seconds.toFixed(1))
        };
    });
}

// EXTERNAL MODULE: ./src/action/actions-core.ts + 1 modules
var actions_core = __webpack_require__(7119);
// EXTERNAL MODULE: ./src/action/log.ts
var action_log = __webpack_require__(8592);
// EXTERNAL MODULE: ./src/action/state-helper.ts
var state_helper = __webpack_require__(560);
;// CONCATENATED MODULE: ./src/action/summary.ts
const ICON = { pass: '✅', fail: '❌', skip: '⏭️', ok: '✅', failed: '❌', skipped: '⏭️' };
/**
 * Table cells: no pipes or line breaks may break the table; long evidence is shortened. A
 * backslash becomes an entity: GFM reads "\\|" as an escaped backslash and then a cell border.
 */
function cell(text, max = 400) {
    const flat = text.replace(/\r\n|[\r\n]/g, ' ').replace(/\\/g, '&#92;').replace(/\|/g, '\\|').replace(/</g, '&lt;');
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
const HEADINGS = {
    fresh: '✅ fresh: the new code is what runs',
    stale: '❌ stale: the container does not run the code that was deployed',
    unhealthy: '❌ unhealthy: the new container did not become healthy',
    error: '❌ error: the deploy did not get as far as verifying',
    'dry-run': '📝 dry-run: nothing was changed',
    unverified: '⚠️ unverified: deployed, but nothing was checked (verify: false)'
};
function buildSummary(r) {
    const out = [];
    out.push(`## fresh-deploy ${HEADINGS[r.verdict] ?? r.verdict}`, '');
    const facts = [
        ['target', r.target],
        ['revision', r.revision],
        ['container', r.containerId ? r.containerId.slice(0, 12) : ''],
        ['image', r.imageId],
        ['previous image', r.previousImageId || '(none: first deploy)'],
        ['duration', `${r.durationSeconds()} s`]
    ].filter(([, v]) => v !== '');
    out.push(facts.map(([k, v]) => `**${k}**: \`${cell(v, 100)}\``).join(' · '), '');
    out.push(...details(r, '###'));
    return out.join('\n');
}
/** A run's error, steps, probes, purge, heal, rollback and notes; h: the level of their headings. */
function details(r, h) {
    const out = [];
    if (r.error)
        out.push(`> **Error:** ${cell(r.error, 1000)}`, '');
    out.push(`${h} Steps`, '', '| step | result | time | notes |', '| --- | --- | --- | --- |');
    for (const s of r.steps)
        out.push(`| ${s.name} | ${ICON[s.status]} ${s.status} | ${s.seconds.toFixed(1)} s | ${cell(s.note)} |`);
    out.push('');
    if (r.verifySkipped) {
        out.push(`${h} Probes`, '', '_verify: false — no probe ran, nothing was checked._', '');
    }
    else if (r.probes.length > 0) {
        out.push(`${h} Probes`, '', '| probe | verdict | expected | found | reason |', '| --- | --- | --- | --- | --- |');
        for (const p of r.probes)
            out.push(`| ${p.name} | ${ICON[p.verdict]} ${p.verdict} | ${cell(p.expected)} | ${cell(p.found)} | ${cell(p.reason)} |`);
        out.push('');
    }
    out.push(`**Purged**: ${r.purged} bytecode item(s) (${r.purgedHost} on the host, ${r.purgedContainer} in the container)${r.purgeNotes.length ? `; ${cell(r.purgeNotes.join('; '))}` : ''}`, '');
    if (r.healAttempts > 0)
        out.push(`**Heal**: ${r.healAttempts} no-cache rebuild(s) after a stale verdict.`, '');
    if (r.rolledBack)
        out.push(`**Rolled back**: ${cell(r.rollbackNote)}`, '');
    else if (r.rollbackNote)
        out.push(`**Rollback**: ${cell(r.rollbackNote)}`, '');
    const notes = r.notes.filter(n => n !== r.rollbackNote);
    if (notes.length)
        out.push(`**Notes**: ${cell(notes.join('; '))}`, '');
    return out;
}
const VERDICT_ICON = { fresh: '✅', unverified: '⚠️', 'dry-run': '📝', skip: '⏭️' };
/** Several hosts: the roll-up table (host, verdict, time, container, image), then each host's details. */
function buildRolloutSummary(r, revision) {
    const out = [];
    const verdict = r.verdict;
    out.push(`## fresh-deploy ${HEADINGS[verdict] ?? verdict}`, '');
    const reached = r.reached.length;
    const facts = [
        ['hosts', `${reached} of ${r.outcomes.length} reached, ${r.parallel} at a time after the canary`],
        ['revision', revision],
        ['duration', `${r.durationSeconds()} s`]
    ].filter(([, v]) => v !== '');
    out.push(facts.map(([k, v]) => `**${k}**: \`${cell(v, 100)}\``).join(' · '), '');
    if (r.cancelled)
        out.push('> **Cancelled:** no further host was started; the hosts in flight finished.', '');
    out.push('### Hosts', '', '| host | verdict | time | container | image |', '| --- | --- | --- | --- | --- |');
    for (const o of r.outcomes) {
        const v = o.report ? o.report.verdict : 'skip';
        const shown = o.report ? `${VERDICT_ICON[v] ?? '❌'} ${v}${o.report.rolledBack ? ' (rolled back)' : ''}` : `${VERDICT_ICON.skip} skip: ${cell(o.skipReason ?? 'not reached')}`;
        const container = o.report?.containerId ? `\`${o.report.containerId.slice(0, 12)}\`` : '';
        const image = o.report?.imageId ? `\`${cell(o.report.imageId, 100)}\`` : '';
        out.push(`| ${cell(o.label, 200)} | ${shown} | ${o.report ? `${o.seconds.toFixed(1)} s` : ''} | ${container} | ${image} |`);
    }
    out.push('');
    for (const o of r.reached) {
        const p = o.report;
        out.push(`### ${cell(o.label, 200)}: ${HEADINGS[p.verdict] ?? p.verdict}`, '');
        const hostFacts = [
            ['target', p.target],
            ['previous image', p.previousImageId || '(none: first deploy)'],
            ['duration', `${o.seconds.toFixed(1)} s`]
        ].filter(([, v]) => v !== '');
        out.push(hostFacts.map(([k, v]) => `**${k}**: \`${cell(v, 100)}\``).join(' · '), '');
        out.push(...details(p, '####'));
    }
    return out.join('\n');
}

// EXTERNAL MODULE: ./src/action/workflow-commands.ts
var workflow_commands = __webpack_require__(6812);
;// CONCATENATED MODULE: ./src/action/main.ts
// The action's main step: inputs in, the engine's deploy, then outputs, the job summary, the
// GitHub Deployment and the failure annotation. Also the entry point for @github/local-action.











async function run() {
    const log = new action_log/* ActionReporter */.Uy();
    // Mask the key before anything else can print it, even an error about another input.
    (0,ssh/* maskKey */.s9)(actions_core/* getInput */.V4('ssh-key').replace(/\r\n/g, '\n'), log);
    let report;
    let deployment;
    try {
        const s = getSettings(name => actions_core/* getInput */.V4(name));
        const several = (s.hosts?.length ?? 0) > 1;
        if (s.environment && !s.dryRun) {
            // Loaded only here: @actions/github (Octokit) is a third of the bundle, and every run
            // without an environment would parse and evaluate it before its first ssh call.
            const { startDeployment } = await Promise.all(/* import() */[__webpack_require__.e(413), __webpack_require__.e(215)]).then(__webpack_require__.bind(__webpack_require__, 5215));
            // One deployment for the whole run, several hosts or one.
            deployment = await startDeployment({
                token: s.githubToken,
                environment: s.environment,
                environmentUrl: s.environmentUrl,
                ref: s.ref,
                description: `fresh-deploy of ${s.service}${several ? ` to ${s.hosts?.length} hosts` : ''}`
            });
        }
        if (several) {
            await runRollout(s, log, deployment);
            return;
        }
        report = await deploy(s, log, {
            inputValue: name => actions_core/* getInput */.V4(name),
            onSshFiles: files => (0,state_helper/* saveSshState */.$0)({ dir: files.dir, config: files.config, control: files.control, host: s.ssh?.host ?? '' })
        });
    }
    catch (e) {
        report = errorReport(e instanceof InputError ? e.message : describeError(e, name => actions_core/* getInput */.V4(name)), log);
    }
    if (deployment)
        report.deploymentId = String(deployment.id);
    await finish(report, deployment);
}
/**
 * Several hosts: the rolling deploy, then the outputs (verdict the worst reached, the others the
 * last host reached), the roll-up summary and one deployment status. A cancelled run (SIGINT or
 * SIGTERM, as the runner sends them) starts no further host; the hosts in flight go on to their
 * end (a deploy cut off half-way could leave a service down), their locks released as usual.
 */
async function runRollout(s, log, deployment) {
    let cancelled = false;
    const onSignal = (signal) => {
        if (!cancelled)
            log.warning(`${signal}: the run is cancelled; no further host is started, the hosts in flight finish their deploy (and roll back if need be)`);
        cancelled = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const states = [];
    let r;
    try {
        r = await rollout(s, label => new HostReporter(log, label, s.parallel > 1), {
            inputValue: name => actions_core/* getInput */.V4(name),
            cancelled: () => cancelled,
            onHostSshFiles: (h, files) => {
                states.push({ dir: files.dir, config: files.config, control: files.control, host: h.ssh.host });
                (0,state_helper/* saveSshStates */.Wk)(states);
            }
        });
    }
    finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
    }
    await finishRollout(r, s, log, deployment);
}
/** The annotation of a failed run: the verdict, the first failed probe's evidence, what followed. */
function failureMessage(report) {
    const rolled = report.rolledBack ? ` Rolled back: ${report.rollbackNote}.` : report.rollbackNote ? ` ${report.rollbackNote}.` : '';
    const notes = report.notes.filter(n => n !== report.rollbackNote).map(n => ` ${n}.`).join('');
    // An error keeps its message first; what followed it (a rollback after a failed up) after.
    if (report.verdict === 'error' && report.error)
        return rolled || notes ? `${report.error.replace(/\.?$/, '.')}${rolled}${notes}` : report.error;
    const failed = report.probes.filter(p => p.verdict === 'fail');
    const first = failed.find(p => p.leadsTo === report.verdict) ?? failed[0];
    const evidence = first ? `probe ${first.name} failed: ${first.reason} (expected: ${first.expected}; found: ${first.found})` : '';
    const others = failed.length > 1 ? ` Also failed: ${failed.filter(p => p !== first).map(p => p.name).join(', ')}.` : '';
    return `fresh-deploy verdict ${report.verdict}: ${evidence}.${others}${rolled}${notes}`;
}
async function finish(report, deployment) {
    const log = report.log;
    if (report.failedLogs !== undefined) {
        log.block("report: last 50 lines of the failed container's logs (before the rollback)", report.failedLogs, { untrusted: true });
    }
    if (report.serviceLogs !== undefined) {
        log.block(`report: last 50 lines of the service logs${report.rolledBack ? ' (the rolled-back container)' : ''}`, report.serviceLogs, { untrusted: true });
    }
    await report.step('report', 'outputs and summary', async (note) => {
        actions_core/* setOutput */.uH('verified', report.verified ? 'true' : 'false');
        actions_core/* setOutput */.uH('verdict', report.verdict);
        actions_core/* setOutput */.uH('probes', probesJson(report.probes));
        actions_core/* setOutput */.uH('container-id', report.containerId);
        actions_core/* setOutput */.uH('image-id', report.imageId);
        actions_core/* setOutput */.uH('previous-image-id', report.previousImageId);
        actions_core/* setOutput */.uH('revision', report.revision);
        actions_core/* setOutput */.uH('started-at', report.startedAtContainer);
        actions_core/* setOutput */.uH('purged', String(report.purged));
        actions_core/* setOutput */.uH('rolled-back', report.rolledBack ? 'true' : 'false');
        actions_core/* setOutput */.uH('deployment-id', report.deploymentId);
        note(`verdict ${report.verdict}`);
    });
    actions_core/* setOutput */.uH('duration-seconds', report.durationSeconds());
    if (deployment) {
        const ok = report.verdict === 'fresh' || report.verdict === 'unverified';
        await deployment.finish(ok ? 'success' : 'failure', report.verdict === 'unverified' ? 'fresh-deploy: deployed, not verified (verify: false)' : `fresh-deploy: ${report.verdict}`);
    }
    try {
        await actions_core/* summary */.z.addRaw(buildSummary(report)).write();
    }
    catch (e) {
        actions_core/* debug */.Yz(`job summary not written: ${e.message}`);
    }
    if (report.failed)
        actions_core/* setFailed */.C1((0,workflow_commands/* breakLegacy */.v)(failureMessage(report)));
    else if (report.verdict === 'dry-run')
        actions_core/* info */.pq('dry-run: nothing was changed');
    else if (report.verdict === 'unverified')
        actions_core/* info */.pq('verdict unverified: deployed, not verified (verify: false): nothing was checked');
    else
        actions_core/* info */.pq('verdict fresh: the new code is what runs');
}
/** The annotation of a failed rollout: the worst host's message, and which hosts were not reached. */
function rolloutFailureMessage(r) {
    const worst = r.worst;
    const skipped = r.outcomes.filter(o => !o.report).map(o => o.label);
    const rest = skipped.length ? ` Not reached (untouched): ${skipped.join(', ')}.` : '';
    if (!worst)
        return `fresh-deploy: no host was reached${r.cancelled ? ' (the run was cancelled)' : ''}.${rest}`;
    if (r.cancelled && continues(r.verdict))
        return `fresh-deploy: the run was cancelled; the hosts reached are ${r.verdict}.${rest}`;
    return `${worst.label}: ${failureMessage(worst.report).replace(/\.?$/, '.')}${rest}`;
}
async function finishRollout(r, s, log, deployment) {
    for (const o of r.reached) {
        const p = o.report;
        if (p.failedLogs !== undefined)
            log.block(`report (${o.label}): last 50 lines of the failed container's logs (before the rollback)`, p.failedLogs, { untrusted: true });
        if (p.serviceLogs !== undefined)
            log.block(`report (${o.label}): last 50 lines of the service logs${p.rolledBack ? ' (the rolled-back container)' : ''}`, p.serviceLogs, { untrusted: true });
    }
    const verdict = r.verdict;
    const last = r.last?.report;
    const timing = new Report(log);
    await timing.step('report', `outputs and summary of ${r.outcomes.length} hosts`, async (note) => {
        actions_core/* setOutput */.uH('verified', verdict === 'fresh' ? 'true' : 'false');
        actions_core/* setOutput */.uH('verdict', verdict);
        // The single-valued outputs describe the last host reached (the hosts output has them all).
        actions_core/* setOutput */.uH('probes', probesJson(last?.probes ?? []));
        actions_core/* setOutput */.uH('container-id', last?.containerId ?? '');
        actions_core/* setOutput */.uH('image-id', last?.imageId ?? '');
        actions_core/* setOutput */.uH('previous-image-id', last?.previousImageId ?? '');
        actions_core/* setOutput */.uH('revision', s.ref);
        actions_core/* setOutput */.uH('started-at', last?.startedAtContainer ?? '');
        actions_core/* setOutput */.uH('purged', String(last?.purged ?? 0));
        actions_core/* setOutput */.uH('rolled-back', last?.rolledBack ? 'true' : 'false');
        actions_core/* setOutput */.uH('deployment-id', deployment ? String(deployment.id) : '');
        actions_core/* setOutput */.uH('hosts', hostsJson(r));
        note(`verdict ${verdict}: ${r.outcomes.map(o => `${o.label} ${o.report?.verdict ?? 'skip'}`).join(', ')}`);
    });
    actions_core/* setOutput */.uH('duration-seconds', r.durationSeconds());
    // A cancelled rollout is no success, whatever the hosts it reached say.
    const failed = !continues(verdict) || r.cancelled;
    if (deployment) {
        await deployment.finish(failed ? 'failure' : 'success', verdict === 'unverified' ? 'fresh-deploy: deployed, not verified (verify: false)' : `fresh-deploy: ${verdict} (${r.reached.length} of ${r.outcomes.length} hosts)`);
    }
    try {
        await actions_core/* summary */.z.addRaw(buildRolloutSummary(r, s.ref)).write();
    }
    catch (e) {
        actions_core/* debug */.Yz(`job summary not written: ${e.message}`);
    }
    if (failed)
        actions_core/* setFailed */.C1((0,workflow_commands/* breakLegacy */.v)(rolloutFailureMessage(r)));
    else if (verdict === 'dry-run')
        actions_core/* info */.pq(`dry-run: nothing was changed on ${r.outcomes.length} hosts`);
    else if (verdict === 'unverified')
        actions_core/* info */.pq(`verdict unverified on ${r.reached.length} hosts: deployed, not verified (verify: false): nothing was checked`);
    else
        actions_core/* info */.pq(`verdict fresh on all ${r.reached.length} hosts: the new code is what runs`);
}


/***/ })

};
