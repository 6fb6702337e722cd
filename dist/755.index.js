export const id = 755;
export const ids = [755];
export const modules = {

/***/ 8592:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Uy: () => (/* binding */ ActionReporter)
/* harmony export */ });
/* unused harmony exports logRemoteLine, logUntrusted */
/* harmony import */ var _actions_core_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7119);
/* harmony import */ var _workflow_commands_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6812);


/**
 * Forwards target output to the log with workflow commands switched off: a line such as
 * "::add-mask::", "::set-output" or "##[stop-commands]" printed by a build or the app must not
 * act on the runner (see workflow-commands.ts).
 */
function logRemoteLine(line) {
    process.stdout.write(`${neutralize(line)}\n`);
}
/**
 * Logs text that came from the target (e.g. the service's own log lines) in one block, with
 * workflow commands switched off as logRemoteLine does: an app that prints "::error::" or
 * "##[add-mask]" must not act on the runner.
 */
function logUntrusted(text) {
    process.stdout.write(`${(0,_workflow_commands_js__WEBPACK_IMPORTED_MODULE_1__/* .neutralize */ .Y)(text)}\n`);
}
/** Each step is a log group titled "NAME: TITLE", closed with its time and note. */
class ActionReporter {
    open;
    stepStarted(name, title) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .startGroup */ .Oh(`${name}: ${title}`);
        this.open = name;
    }
    stepEnded(step) {
        if (step.status === 'skipped') {
            _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq((0,_workflow_commands_js__WEBPACK_IMPORTED_MODULE_1__/* .neutralize */ .Y)(`${step.name}: skipped (${step.note})`));
            return;
        }
        // A note can hold what the target showed (paths, compose output): no command in it may act.
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq((0,_workflow_commands_js__WEBPACK_IMPORTED_MODULE_1__/* .neutralize */ .Y)(`${step.name} ${step.status === 'ok' ? 'done' : 'failed'} in ${step.seconds.toFixed(1)} s${step.note ? `: ${step.note}` : ''}`));
        if (this.open !== undefined)
            _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .endGroup */ .N4();
        this.open = undefined;
    }
    info(text) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq(text);
    }
    warning(text) {
        // Inside a ::warning:: command "::" is data, but the legacy "##[" form acts anywhere in a line.
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e((0,_workflow_commands_js__WEBPACK_IMPORTED_MODULE_1__/* .breakLegacy */ .v)(text));
    }
    debug(text) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .debug */ .Yz(text);
    }
    untrusted(text) {
        logUntrusted(text);
    }
    block(title, text, options = {}) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .startGroup */ .Oh(title);
        if (options.untrusted)
            logUntrusted(text);
        else
            _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq(text);
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .endGroup */ .N4();
    }
    secret(value) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .setSecret */ .Pq(value);
    }
}


/***/ }),

/***/ 6812:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Y: () => (/* binding */ neutralize),
/* harmony export */   v: () => (/* binding */ breakLegacy)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
// Text from the target (build output, the app's logs, probe evidence such as an http body or a
// container's file names) printed so that no workflow command in it takes effect on the runner.
//
// The runner (actions/runner, ActionCommandManager.TryProcessCommand) reads every stdout line in
// two forms: "::name props::data" at the start of the line (after leading white space), and the
// legacy "##[name props]data" ANYWHERE in the line. A "stop-commands" command (either form) makes
// it ignore every command until one named by its token arrives. So:
// - "##[" is broken wherever it is ("##[" → "## ["): the legacy form cannot be parsed, whether
//   commands are stopped or not, and the log viewer does not render it as a group or an error;
// - text that holds "::" anywhere (the runner also splits lines at a lone CR, which our line
//   splitter does not) is wrapped in ::stop-commands::TOKEN … ::TOKEN:: with a random token,
//   which the text cannot end, as it cannot know the token.

const LEGACY = /##\[/g;
/** The legacy "##[" form made inert: "## [" is no command, and reads the same. */
function breakLegacy(text) {
    return text.replace(LEGACY, '## [');
}
function newToken(text) {
    let token;
    // 64 random bits; one that happens to occur in the text is drawn again.
    do
        token = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(8).toString('hex');
    while (text.includes(token));
    return token;
}
/**
 * Returns the text ready to print as it is (a trailing newline is not added): the legacy form
 * broken, and wrapped in a stop-commands block when a "::" command could be in it.
 */
function neutralize(text) {
    const safe = breakLegacy(text);
    if (!safe.includes('::'))
        return safe;
    const token = newToken(safe);
    return `::stop-commands::${token}\n${safe}\n::${token}::`;
}


/***/ }),

/***/ 2052:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   R: () => (/* binding */ RECORD_PREFIX),
/* harmony export */   W: () => (/* binding */ RECORD_NONCE)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
// Result lines of the target-side scripts carry a random nonce drawn once per run: "@@fd-NONCE
// KEY VALUE". Build output and anything the app prints go through the same stdout, and a line
// of theirs that looks like a result ("@@fd health pass") must stay log text: they cannot know
// the nonce, which reaches the scripts only as FD_NONCE (a shell variable, never exported).

const RECORD_NONCE = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(12).toString('hex');
const RECORD_PREFIX = `@@fd-${RECORD_NONCE} `;


/***/ }),

/***/ 3096:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $8: () => (/* binding */ openMaster),
/* harmony export */   GK: () => (/* binding */ closeSshSoon),
/* harmony export */   Vh: () => (/* binding */ closeSsh),
/* harmony export */   ff: () => (/* binding */ describeTarget),
/* harmony export */   ix: () => (/* binding */ prepareSsh),
/* harmony export */   s9: () => (/* binding */ maskKey),
/* harmony export */   y: () => (/* binding */ createSshDir)
/* harmony export */ });
/* unused harmony exports SshError, configValue, controlPathOption, buildSshConfig, fingerprintsOf, explainSshFailure */
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1421);
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_child_process__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var node_util__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(7975);
/* harmony import */ var node_util__WEBPACK_IMPORTED_MODULE_5___default = /*#__PURE__*/__webpack_require__.n(node_util__WEBPACK_IMPORTED_MODULE_5__);
/* harmony import */ var _transport_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(9147);
// OpenSSH setup: key and known_hosts files under RUNNER_TEMP, host-key pinning, one
// ControlMaster connection that every step reuses, and its teardown in the post step.







const execFileAsync = (0,node_util__WEBPACK_IMPORTED_MODULE_5__.promisify)(node_child_process__WEBPACK_IMPORTED_MODULE_0__.execFile);
class SshError extends Error {
    constructor(message) {
        super(message);
        this.name = 'SshError';
    }
}
/** "user@host:port" for messages. */
function describeTarget(s) {
    const host = s.host.includes(':') ? `[${s.host}]` : s.host;
    // From a terminal without --port, ~/.ssh/config may give the port: do not claim 22.
    const port = s.terminal && !s.terminal.portSet ? '' : `:${s.port}`;
    return `${s.username ? `${s.username}@` : ''}${host}${port}${s.proxyJump ? ` via ${s.proxyJump}` : ''}`;
}
/** Registers the key and each of its body lines as secrets before anything is logged. */
function maskKey(key, log) {
    if (key === '')
        return;
    log.secret(key);
    log.secret(key.trim());
    for (const line of key.split('\n')) {
        const t = line.trim();
        if (t !== '' && !t.startsWith('-----BEGIN') && !t.startsWith('-----END'))
            log.secret(t);
    }
}
/**
 * A path as an ssh_config (or -o) value: in double quotes (RUNNER_TEMP may hold spaces, and ssh
 * splits an unquoted value there), "%" doubled (IdentityFile, UserKnownHostsFile and ControlPath
 * expand %-tokens). A quote or a line break cannot be written at all.
 */
function configValue(value) {
    if (/["\r\n]/.test(value))
        throw new SshError(`unsupported character in path ${JSON.stringify(value)}`);
    return `"${value.replace(/%/g, '%%')}"`;
}
/** The -o argument naming the control socket (one argv word; ssh parses it as a config line). */
function controlPathOption(path) {
    return `ControlPath=${configValue(path)}`;
}
/** The ssh_config that every ssh process of this run reads (-F also reaches a ProxyJump hop). */
function buildSshConfig(s, files, useDefaultKnownHosts) {
    const lines = [
        'Host *',
        '  BatchMode yes',
        '  IdentitiesOnly yes',
        `  IdentityFile ${configValue(files.key)}`,
        `  ConnectTimeout ${s.connectTimeout}`,
        '  ServerAliveInterval 15',
        '  ServerAliveCountMax 4',
        '  PasswordAuthentication no',
        '  KbdInteractiveAuthentication no',
        '  ForwardAgent no',
        '  ForwardX11 no',
        '  ClearAllForwardings yes',
        '  UpdateHostKeys no',
        '  LogLevel ERROR'
    ];
    if (!s.strict) {
        lines.push('  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  GlobalKnownHostsFile /dev/null');
    }
    else if (useDefaultKnownHosts) {
        lines.push('  StrictHostKeyChecking yes');
    }
    else {
        lines.push('  StrictHostKeyChecking yes', `  UserKnownHostsFile ${configValue(files.knownHosts)}`, '  GlobalKnownHostsFile /dev/null');
    }
    return `${lines.join('\n')}\n`;
}
/** A private directory for the key, known_hosts, config and control socket. */
function createSshDir() {
    const base = process.env.RUNNER_TEMP || (0,node_os__WEBPACK_IMPORTED_MODULE_3__.tmpdir)();
    let dir = (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.mkdtempSync)((0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(base, 'fresh-deploy-'));
    // Unix socket paths are limited to ~104 bytes; fall back to /tmp for a long RUNNER_TEMP.
    if ((0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(dir, 'cm').length > 90) {
        (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.rmSync)(dir, { recursive: true, force: true });
        dir = (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.mkdtempSync)((0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)('/tmp', 'fd-'));
    }
    return {
        dir,
        key: (0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(dir, 'key'),
        knownHosts: (0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(dir, 'known_hosts'),
        config: (0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(dir, 'ssh_config'),
        control: (0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(dir, 'cm')
    };
}
/**
 * The SHA256 fingerprint of each known_hosts line ("host keytype base64 …"), computed from the
 * line's own key (as ssh-keygen -l does: sha256 of the key blob, base64 without padding), so that
 * each fingerprint is tied to the line it came from. Pairing ssh-keygen's output lines with the
 * input lines by position broke as soon as one line was skipped (a comment, a key type the local
 * ssh-keygen does not know, a banner): a fingerprint then named another key's line.
 */
function fingerprintsOf(lines) {
    const found = new Map();
    for (const line of lines.split('\n').map(l => l.trim())) {
        if (line === '' || line.startsWith('#'))
            continue;
        const fields = line.split(/\s+/);
        const offset = fields[0].startsWith('@') ? 1 : 0;
        const type = fields[offset + 1];
        const blob = fields[offset + 2];
        if (!type || !blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob))
            continue;
        const key = Buffer.from(blob, 'base64');
        // The blob starts with its own type name (uint32 length + name): a line whose type field
        // and blob disagree is no key of that type.
        if (key.length < 4 || key.readUInt32BE(0) !== Buffer.byteLength(type) || key.subarray(4, 4 + Buffer.byteLength(type)).toString('latin1') !== type)
            continue;
        found.set(`SHA256:${(0,node_crypto__WEBPACK_IMPORTED_MODULE_1__.createHash)('sha256').update(key).digest('base64').replace(/=+$/, '')}`, line);
    }
    return found;
}
/**
 * Where ssh really connects to: from a terminal, host may be an alias of ~/.ssh/config, which
 * ssh-keyscan does not read; `ssh -G` prints what ssh would use (it connects nowhere).
 */
async function scanTarget(s) {
    if (!s.terminal)
        return { host: s.host, port: s.port };
    const { stdout } = await execFileAsync('ssh', ['-G', ...(s.terminal.portSet ? ['-p', String(s.port)] : []), '--', s.host]);
    const value = (key) => new RegExp(`^${key} (.+)$`, 'm').exec(stdout)?.[1]?.trim();
    return { host: value('hostname') ?? s.host, port: Number(value('port') ?? s.port) };
}
/** Scans the host's keys and keeps the one whose fingerprint is the pinned one. */
async function knownHostsFromFingerprint(s, files) {
    let scanned = '';
    const scan = await scanTarget(s);
    try {
        const { stdout } = await execFileAsync('ssh-keyscan', ['-p', String(scan.port), '-T', String(s.connectTimeout), '--', scan.host], {
            timeout: (s.connectTimeout + 5) * 1000
        });
        scanned = stdout;
    }
    catch (e) {
        scanned = e.stdout ?? '';
    }
    if (scanned.trim() === '') {
        throw new SshError(`ssh-keyscan got no host key from ${describeTarget(s)} within ${s.connectTimeout} s (input connect-timeout); is the host reachable and sshd listening on port ${s.port}?`);
    }
    const found = fingerprintsOf(scanned);
    const line = found.get(s.hostFingerprint);
    if (line === undefined) {
        throw new SshError(`input ssh-host-fingerprint: ${JSON.stringify(s.hostFingerprint)} does not match any host key of ${describeTarget(s)}; it offers ${[...found.keys()].join(', ')}. Refusing to connect.`);
    }
    return `${line}\n`;
}
/**
 * The command line's ssh arguments: no -F, so that ssh reads the user's own configuration
 * (host aliases, the agent, default keys, known_hosts); -o only for what must hold.
 */
async function terminalSshArgs(s, files, log) {
    const o = (option) => ['-o', option];
    const args = [...o('BatchMode=yes'), ...o(`ConnectTimeout=${s.connectTimeout}`), ...o('ServerAliveInterval=15'), ...o('ServerAliveCountMax=4')];
    if (!s.strict) {
        log.warning(`--no-ssh-strict: the host key of ${describeTarget(s)} is not checked, so anyone on the path can impersonate the host. Drop it once the key is in ~/.ssh/known_hosts (or pin it with --ssh-known-hosts / --ssh-host-fingerprint).`);
        args.push(...o('StrictHostKeyChecking=no'), ...o('UserKnownHostsFile=/dev/null'), ...o('GlobalKnownHostsFile=/dev/null'));
    }
    else {
        args.push(...o('StrictHostKeyChecking=yes'));
        const pinned = s.hostFingerprint !== '' ? await knownHostsFromFingerprint(s, files) : s.knownHosts;
        if (pinned !== '') {
            (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.writeFileSync)(files.knownHosts, pinned, { mode: 0o600 });
            args.push(...o(`UserKnownHostsFile=${configValue(files.knownHosts)}`), ...o('GlobalKnownHostsFile=/dev/null'));
        }
    }
    if (s.terminal?.keyFile)
        args.push('-i', s.terminal.keyFile, ...o('IdentitiesOnly=yes'));
    args.push(...o(controlPathOption(files.control)));
    if (s.terminal?.portSet)
        args.push('-p', String(s.port));
    if (s.username)
        args.push('-l', s.username);
    if (s.proxyJump)
        args.push('-J', s.proxyJump);
    return args;
}
/** Writes the key, known_hosts and config files; returns the ssh arguments every call uses. */
async function prepareSsh(s, files, log) {
    if (s.terminal)
        return terminalSshArgs(s, files, log);
    (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.writeFileSync)(files.key, s.key, { mode: 0o600 });
    let useDefaultKnownHosts = false;
    if (!s.strict) {
        log.warning(`ssh-strict is false: the host key of ${describeTarget(s)} is not checked, so anyone on the path can impersonate the host. Pin it with ssh-known-hosts or ssh-host-fingerprint.`);
    }
    else if (s.hostFingerprint !== '') {
        (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.writeFileSync)(files.knownHosts, await knownHostsFromFingerprint(s, files), { mode: 0o600 });
    }
    else if (s.knownHosts !== '') {
        (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.writeFileSync)(files.knownHosts, s.knownHosts, { mode: 0o600 });
    }
    else {
        useDefaultKnownHosts = true;
        log.info('No ssh-known-hosts or ssh-host-fingerprint given: checking the host key against the runner user\'s own known_hosts.');
    }
    (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.writeFileSync)(files.config, buildSshConfig(s, files, useDefaultKnownHosts), { mode: 0o600 });
    const args = ['-F', files.config, '-o', controlPathOption(files.control), '-p', String(s.port)];
    if (s.username)
        args.push('-l', s.username);
    if (s.proxyJump)
        args.push('-J', s.proxyJump);
    return args;
}
/** Explains ssh's exit 255 in terms of the inputs. */
function explainSshFailure(s, stderr) {
    const target = describeTarget(s);
    const detail = stderr.trim().split('\n').slice(-5).join(' / ');
    const terminal = s.terminal !== undefined;
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
        if (terminal && !s.knownHosts && !s.hostFingerprint) {
            return `the host key of ${target} is not in your known_hosts, or differs from it: refusing to connect. Connect once with ssh and check the key it shows, or pin it with --ssh-known-hosts / --ssh-host-fingerprint. ${detail}`;
        }
        return `the host key of ${target} is not the pinned one (inputs ssh-known-hosts / ssh-host-fingerprint): refusing to connect. ${detail}`;
    }
    if (/Permission denied/i.test(stderr)) {
        const what = terminal ? '--ssh-key-file, --username, your ssh-agent or ~/.ssh/config' : 'inputs ssh-key, username';
        return `ssh to ${target} was refused: the server did not accept the key (${what}). ${detail}`;
    }
    if (/timed out|Connection refused|No route|Could not resolve|Network is unreachable/i.test(stderr)) {
        return `cannot connect to ${target} (inputs host, port, connect-timeout=${s.connectTimeout}): ${detail}`;
    }
    return `ssh to ${target} failed: ${detail || 'no message from ssh'}`;
}
/** Opens the one master connection (the run's only SSH handshake). */
async function openMaster(s, files, args, log) {
    const masterArgs = [...args, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=600', '-f', '-N', '--', s.host];
    const stderrFile = (0,node_path__WEBPACK_IMPORTED_MODULE_4__.join)(files.dir, 'master.err');
    const { openSync, closeSync } = await Promise.resolve(/* import() */).then(__webpack_require__.t.bind(__webpack_require__, 3024, 23));
    const errFd = openSync(stderrFile, 'w', 0o600);
    const code = await new Promise((resolve, reject) => {
        // With -f the master forks and keeps its stdio: wait for the foreground process to exit,
        // with its stderr in a file rather than a pipe that would stay open.
        const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)('ssh', masterArgs, { stdio: ['ignore', 'ignore', errFd] });
        const timer = setTimeout(() => child.kill('SIGTERM'), (s.connectTimeout + 10) * 1000);
        child.on('error', e => reject(new SshError(`could not start ssh: ${e.message}`)));
        child.on('exit', (c, signal) => {
            clearTimeout(timer);
            resolve(c ?? (signal ? 255 : 1));
        });
    });
    closeSync(errFd);
    const stderr = (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.existsSync)(stderrFile) ? (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.readFileSync)(stderrFile, 'utf8') : '';
    (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.rmSync)(stderrFile, { force: true });
    if (code !== 0)
        throw new SshError(explainSshFailure(s, stderr));
    return new _transport_js__WEBPACK_IMPORTED_MODULE_6__/* .SshTransport */ .e1(`ssh ${describeTarget(s)}`, args, s.host, line => log.untrusted(line));
}
/**
 * End of the main step: asks the master connection to exit and deletes the key and known_hosts,
 * so that neither outlives the deploy while the job's later steps run. The exit request is not
 * waited for (it takes ~20 ms, and the main step has nothing left to do); the post step still
 * checks, and closes what is left if the main step never got here.
 */
function closeSshSoon(files, host, log) {
    if ((0,node_fs__WEBPACK_IMPORTED_MODULE_2__.existsSync)(files.control)) {
        const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)('ssh', [...configArgs(files.config), '-o', controlPathOption(files.control), '-O', 'exit', '--', host], { stdio: 'ignore', detached: true });
        child.on('error', e => log.debug(`closing the ssh master: ${e.message}`));
        child.unref();
    }
    (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.rmSync)(files.key, { force: true });
    (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.rmSync)(files.knownHosts, { force: true });
}
/** -F with the run's own ssh_config; none from a terminal (no such file: ssh reads the user's). */
function configArgs(config) {
    return (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.existsSync)(config) ? ['-F', config] : [];
}
/** Post step: closes the master connection and deletes the key, known_hosts and socket. */
async function closeSsh(dir, config, control, host, log) {
    if ((0,node_fs__WEBPACK_IMPORTED_MODULE_2__.existsSync)(control)) {
        try {
            await execFileAsync('ssh', [...configArgs(config), '-o', controlPathOption(control), '-O', 'exit', '--', host], { timeout: 15_000 });
        }
        catch (e) {
            log.debug(`closing the ssh master: ${e.message}`);
        }
    }
    (0,node_fs__WEBPACK_IMPORTED_MODULE_2__.rmSync)(dir, { recursive: true, force: true });
}


/***/ }),

/***/ 9147:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Vu: () => (/* binding */ LocalTransport),
/* harmony export */   e1: () => (/* binding */ SshTransport)
/* harmony export */ });
/* unused harmony exports parseRecord, spawnScript */
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1421);
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_child_process__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_string_decoder__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6193);
/* harmony import */ var node_string_decoder__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_string_decoder__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _records_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(2052);
// Runs target-side scripts: over one OpenSSH ControlMaster connection, or on this runner.
// Either way the script goes to `bash -s` on stdin; nothing is spliced into a command line.



const OUTPUT_TAIL_LINES = 30;
/** A result line of this run (its nonce); any other line, "@@fd …" included, is log text. */
function parseRecord(line, prefix = _records_js__WEBPACK_IMPORTED_MODULE_2__/* .RECORD_PREFIX */ .R) {
    if (!line.startsWith(prefix))
        return undefined;
    const rest = line.slice(prefix.length);
    const space = rest.indexOf(' ');
    return space < 0 ? { key: rest, value: '' } : { key: rest.slice(0, space), value: rest.slice(space + 1) };
}
/** Splits a byte stream into lines, calling onLine for each complete one. */
function lineSplitter(onLine) {
    let pending = '';
    // A pipe chunk can end inside a multi-byte character: decode across chunk borders.
    const decoder = new node_string_decoder__WEBPACK_IMPORTED_MODULE_1__.StringDecoder('utf8');
    return {
        push(chunk) {
            pending += decoder.write(chunk);
            let nl;
            while ((nl = pending.indexOf('\n')) >= 0) {
                onLine(pending.slice(0, nl).replace(/\r$/, ''));
                pending = pending.slice(nl + 1);
            }
        },
        end() {
            pending += decoder.end();
            if (pending !== '')
                onLine(pending);
            pending = '';
        }
    };
}
/**
 * Starts `command args` with the script on stdin and collects its result lines.
 * keepOpen leaves stdin open until the caller ends it (see hold()).
 */
function spawnScript(command, args, script, options = {}) {
    return feedScript(startSession(command, args, options.env), script, options);
}
function startSession(command, args, env) {
    const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    const session = { command, child };
    child.on('error', e => (session.spawnError = e));
    // A script that exits early closes its stdin; writing the rest must not crash the runner.
    child.stdin.on('error', () => undefined);
    return session;
}
/**
 * Sends the script to a started session and collects its result lines. Output that came
 * before (a spare session's shell start-up) waits in the paused streams and is read here.
 */
function feedScript(session, script, options = {}) {
    const { child, command } = session;
    const records = [];
    const tail = [];
    const logLine = (line) => {
        tail.push(line);
        if (tail.length > OUTPUT_TAIL_LINES)
            tail.shift();
        if (options.onLine)
            options.onLine(line);
        else if (!options.quiet)
            options.log?.(line);
    };
    const out = lineSplitter(line => {
        const record = parseRecord(line);
        if (record) {
            records.push(record);
            options.onRecord?.(record);
        }
        else {
            logLine(line);
        }
    });
    const err = lineSplitter(logLine);
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.stdin.write(script);
    if (!options.keepOpen)
        child.stdin.end();
    const done = new Promise((resolve, reject) => {
        const failed = (e) => reject(new Error(`could not start ${command}: ${e.message}`));
        if (session.spawnError)
            failed(session.spawnError);
        child.on('error', failed);
        child.on('close', (code, signal) => {
            out.end();
            err.end();
            resolve({ code: code ?? (signal ? 128 + 15 : 1), records, outputTail: tail.join('\n') });
        });
    });
    return { child, done };
}
function holdWith(session, script, options = {}) {
    const { child, done } = feedScript(session, script, { ...options, keepOpen: true });
    const keepalive = options.keepalive
        ? setInterval(() => {
            if (!child.stdin.writableEnded && !child.stdin.destroyed)
                child.stdin.write('\n');
        }, options.keepalive * 1000)
        : undefined;
    keepalive?.unref();
    const stop = () => clearInterval(keepalive);
    done.then(stop, stop);
    return {
        done,
        async release() {
            stop();
            child.stdin.end();
            const timer = setTimeout(() => child.kill('SIGTERM'), 10_000);
            try {
                return await done;
            }
            finally {
                clearTimeout(timer);
            }
        }
    };
}
/** Scripts run here, on the runner (a self-hosted runner on the target host). */
class LocalTransport {
    log;
    where = 'local';
    /** log: where a script's output goes (the front end's log of untrusted text). */
    constructor(log = () => undefined) {
        this.log = log;
    }
    async run(script, options = {}) {
        return spawnScript('bash', ['-s'], script, { log: this.log, ...options }).done;
    }
    hold(script, options = {}) {
        return holdWith(startSession('bash', ['-s']), script, { log: this.log, ...options });
    }
    close() { }
}
/**
 * Scripts run over an existing ControlMaster connection (see ssh.ts, which opens it).
 *
 * Every script still gets its own session and its own `bash -s`, but the session for the next
 * script is opened while the current one runs: a session costs a round trip plus the remote
 * user's shell start-up (sshd runs `$SHELL -c 'bash -s'`, and bash reads ~/.bashrc when started
 * by sshd; one with pyenv or nvm in it takes 0.1-0.5 s of CPU), and six steps paid it one after
 * the other. A spare session waits on its stdin and runs nothing until it is given a script.
 * It is opened once the current script has printed something (its own shell start-up is over,
 * so the two do not compete for the target's CPU), and not at all after a script marked last.
 */
class SshTransport {
    where;
    sshArgs;
    host;
    log;
    spare;
    closed = false;
    constructor(where, sshArgs, host, log = () => undefined) {
        this.where = where;
        this.sshArgs = sshArgs;
        this.host = host;
        this.log = log;
    }
    args() {
        return [...this.sshArgs, '-o', 'ControlMaster=no', '--', this.host, 'bash -s'];
    }
    /** The spare session (when it is still alive) or a new one. */
    session(options) {
        let session = this.spare;
        this.spare = undefined;
        if (!session || session.spawnError || session.child.exitCode !== null || session.child.signalCode !== null) {
            if (session)
                discard(session);
            session = startSession('ssh', this.args());
        }
        if (!options.last) {
            session.child.stdout.once('data', () => {
                if (!this.spare && !this.closed)
                    this.spare = startSession('ssh', this.args());
            });
        }
        return session;
    }
    async run(script, options = {}) {
        return feedScript(this.session(options), script, { log: this.log, ...options }).done;
    }
    hold(script, options = {}) {
        return holdWith(this.session(options), script, { log: this.log, ...options });
    }
    close() {
        this.closed = true;
        if (this.spare)
            discard(this.spare);
        this.spare = undefined;
    }
}
/**
 * Ends a session that was never given a script. It has run nothing, so it is stopped rather
 * than waited for (its remote shell may still be reading ~/.bashrc).
 */
function discard(session) {
    session.child.stdin.end();
    session.child.stdout.resume();
    session.child.stderr.resume();
    session.child.kill('SIGTERM');
}


/***/ })

};
