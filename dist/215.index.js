export const id = 215;
export const ids = [215];
export const modules = {

/***/ 5215:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   startDeployment: () => (/* binding */ startDeployment)
/* harmony export */ });
/* unused harmony exports MAX_DESCRIPTION, truncate, logUrl, repoFromEnv */
/* harmony import */ var _actions_core_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7119);
/* harmony import */ var _actions_github__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(2413);
// GitHub Deployments API: one deployment per run when `environment` is set, its status following
// the run (in_progress, then success or failure). Everything here is best effort: a missing
// token, a missing GITHUB_REPOSITORY or an API that refuses (no `deployments: write`, a fork's
// read-only token, GHES without the API...) is a warning, never a failed deploy.


/** GitHub limits a deployment status description to 140 characters. */
const MAX_DESCRIPTION = 140;
/** Shortens text to at most max characters, ending with an ellipsis when cut. */
function truncate(text, max = MAX_DESCRIPTION) {
    const chars = Array.from(text);
    if (chars.length <= max)
        return text;
    return `${chars.slice(0, max - 1).join('')}…`;
}
/** The URL of this workflow run (and attempt), or undefined outside a runner. */
function logUrl(env = process.env) {
    const repository = env.GITHUB_REPOSITORY;
    const runId = env.GITHUB_RUN_ID;
    if (!repository || !runId)
        return undefined;
    const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
    const attempt = env.GITHUB_RUN_ATTEMPT;
    const base = `${server}/${repository}/actions/runs/${runId}`;
    return attempt && /^\d+$/.test(attempt) ? `${base}/attempts/${attempt}` : base;
}
/** owner and repo from GITHUB_REPOSITORY, or undefined when it is missing or malformed. */
function repoFromEnv(env = process.env) {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec((env.GITHUB_REPOSITORY ?? '').trim());
    return m ? { owner: m[1], repo: m[2] } : undefined;
}
/** A short, token-free description of an API failure. */
function describeError(err, token) {
    const e = err;
    let text = e && typeof e.message === 'string' ? e.message : String(err);
    if (token)
        text = text.split(token).join('***');
    text = text.split('\n')[0];
    const status = typeof e?.status === 'number' ? `HTTP ${e.status}: ` : '';
    const hint = e?.status === 403 || e?.status === 404
        ? ' (does the workflow grant `permissions: deployments: write` to github-token?)'
        : '';
    return `${status}${text}${hint}`;
}
/**
 * Creates a deployment for ref in environment and posts in_progress. Returns undefined (after
 * core.warning) when there is no token, no GITHUB_REPOSITORY, or the API refuses (no permission
 * etc.) — never throws.
 */
async function startDeployment(o) {
    try {
        return await start(o);
    }
    catch (err) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`Deployment for environment ${o.environment} not recorded: ${describeError(err, o.token)}`);
        return undefined;
    }
}
async function start(o) {
    const where = `environment ${o.environment}`;
    if (!o.token) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`No github-token: the GitHub Deployment for ${where} is not recorded.`);
        return undefined;
    }
    const repo = repoFromEnv();
    if (!repo) {
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`GITHUB_REPOSITORY is not set (owner/repo): the GitHub Deployment for ${where} is not recorded.`);
        return undefined;
    }
    const octokit = _actions_github__WEBPACK_IMPORTED_MODULE_1__/* .getOctokit */ .Q(o.token, { baseUrl: apiUrl() });
    const created = await octokit.rest.repos.createDeployment({
        ...repo,
        ref: o.ref,
        environment: o.environment,
        auto_merge: false,
        required_contexts: [],
        description: truncate(o.description),
        transient_environment: false
    });
    // 202 means GitHub merged the default branch instead of deploying; it carries no id.
    const id = created.data.id;
    if (typeof id !== 'number') {
        const message = created.data.message;
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`GitHub did not create a deployment for ${where} (HTTP ${created.status}${message ? `: ${String(message)}` : ''}).`);
        return undefined;
    }
    _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq(`GitHub Deployment ${id} created for ${o.ref} in ${where}`);
    const post = async (state, description) => {
        const url = logUrl();
        await octokit.rest.repos.createDeploymentStatus({
            ...repo,
            deployment_id: id,
            state,
            description: truncate(description),
            ...(url ? { log_url: url } : {}),
            ...(o.environmentUrl ? { environment_url: o.environmentUrl } : {})
        });
    };
    try {
        await post('in_progress', o.description);
    }
    catch (err) {
        // The deployment exists; its final status may still go through.
        _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`Deployment ${id}: could not post in_progress: ${describeError(err, o.token)}`);
    }
    let finished = false;
    return {
        id,
        async finish(state, description) {
            if (finished)
                return;
            finished = true;
            try {
                await post(state, description);
                _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .info */ .pq(`GitHub Deployment ${id}: ${state}`);
            }
            catch (err) {
                _actions_core_js__WEBPACK_IMPORTED_MODULE_0__/* .warning */ .$e(`Deployment ${id}: could not post ${state}: ${describeError(err, o.token)}`);
            }
        }
    };
}
function apiUrl() {
    return (process.env.GITHUB_API_URL || _actions_github__WEBPACK_IMPORTED_MODULE_1__/* .context */ ._.apiUrl || 'https://api.github.com').replace(/\/+$/, '');
}


/***/ })

};
