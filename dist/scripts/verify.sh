# shellcheck shell=bash
# verify: everything the probes need from the target, in one round trip: health, the
# container's facts, both source fingerprints, the container's .pyc headers and (verify-from:
# host or container) the http probe's first attempt. The runner turns these facts into verdicts.
# In: FD_PROJECT_DIR FD_SERVICE FD_KNOWN_CID FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_HEALTH_TIMEOUT
#     FD_FINGERPRINT_SH FD_BYTECODE_PY FD_VERIFY_URL FD_VERIFY_EXPECT FD_VERIFY_TIMEOUT
#     FD_VERIFY_INTERVAL FD_VERIFY_FROM (host|container) FD_HTTP_POLL_SH FD_HTTP_CLIENT_SH
#     FD_HTTP_PY FD_SOURCE_NAMES FD_SOURCE_IN_CONTEXT (+ compose)
# Out: health, container facts, hf/cf SHA PATH lines, host-dir, container-dir, python, pyc,
#      pyc-error, mount, csd-hint, http-*

fd_lock_guard verify
fd_enter_project
set +e
# The container that the rebuild created: FD_CID when rebuild.sh ran in this script, else
# FD_KNOWN_CID; looked up only without either. An engine that is restarting answers nothing:
# wait for it rather than find "no container" (with a known container, the health wait below
# does that).
cid=${FD_CID:-${FD_KNOWN_CID:-}}
# start-first (startfirst.sh ran): the new container does not serve under the service's name yet;
# a probe from the host or the runner would reach the old one. It runs after the cutover.
if [ "${FD_SF_ACTIVE:-}" = "yes" ] && [ "${FD_VERIFY_FROM:-}" != "container" ]; then FD_VERIFY_URL=""; fi
if [ -z "$cid" ]; then
  fd_engine_wait "$(( $(date +%s) + FD_HEALTH_TIMEOUT ))" || echo "the Docker engine does not answer" >&2
  cid=$(fd_service_cid)
fi
if [ -z "$cid" ]; then
  fd_out health "fail service $FD_SERVICE has no container"
  exit 0
fi

# What the source and bytecode probes need from inside the container, in one docker exec (each
# exec costs ~0.1 s of the engine's time; there were three): the fingerprint, then the python
# lookup and the .pyc check, in sections that the awk below turns into result lines. The checker
# runs as python3 -I -B (no module of the app shadows the standard library's, no .pyc written)
# and gets the container's PYTHONPYCACHEPREFIX (its environment is the exec's): -I ignores it.
# Its exit status is reported: a checker that crashed (python 2, out of memory) is no pass.
fd_sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
# shellcheck disable=SC2016 # expanded in the container
container_script() {
  printf 'dir=$1\nshift\nfp=%s\npyc=%s\n' "$(fd_sq "$FD_FINGERPRINT_SH")" "$(fd_sq "$FD_BYTECODE_PY")"
  printf '%s\n' \
    'out=$(sh -c "$fp" fingerprint "$dir" "$@" 2>&1); rc=$?' \
    'echo "@@fd-section fp $rc"; printf "%s\n" "$out"' \
    'py=$(command -v python3 || command -v python)' \
    'if [ -z "$py" ]; then echo "@@fd-section python none"; exit 0; fi' \
    'echo "@@fd-section python $py"; "$py" -I -B -c "$pyc" "$dir" "${PYTHONPYCACHEPREFIX:-}" 2>&1; echo "@@fd-section pyc-exit $?"'
}
# File-name patterns (find -name) that preselect the files source-include can match.
names=()
while IFS= read -r n; do [ -z "$n" ] || names+=("$n"); done <<<"${FD_SOURCE_NAMES:-*.py}"
container_checks() {
  docker exec -i "$cid" sh -s -- "$FD_CONTAINER_SOURCE_DIR" "${names[@]}" <<<"$(container_script)" 2>&1 | awk -v rec="$FD_REC" '
    /^@@fd-section fp / { sec = "fp"; rc = $3; seen = 1
      if (rc == 0) print rec "container-dir yes"; else if (rc == 3) print rec "container-dir no"
      next }
    /^@@fd-section python / { sec = "py"; print rec "python " substr($0, 21); next }
    /^@@fd-section pyc-exit / { sec = "end"; pyrc = $3; next }
    sec == "fp" { if (rc == 0) { if ($0 != "") print rec "cf " $0 } else if (rc != 3) err = err $0 " "; next }
    sec == "py" {
      if ($0 ~ /^(ok|stale|orphan|missing) /) print rec "pyc " $0
      else if ($0 ~ /^done [0-9]+$/) done = 1
      else pyerr = pyerr $0 " "
      next }
    { err = err $0 " " }
    END {
      if (!seen || (rc != 0 && rc != 3)) print rec "container-dir error " substr(err, 1, 300)
      if (sec != "py" && sec != "end") print rec "python none"
      else if (!done || pyrc != 0) print rec "pyc-error " (pyrc == "" ? "it was cut off" : "exit " pyrc) (pyerr == "" ? "" : ": " substr(pyerr, 1, 300))
    }'
}

# The container's mounts (a file only in the container that lies in none came from the image)
# and its working directory (the image's WORKDIR, for a hint when container-source-dir is wrong).
# shellcheck disable=SC2016 # a Go template for docker, not shell
FD_MOUNTS_FORMAT='{{.Config.WorkingDir}}{{range .Mounts}}{{"\n"}}{{.Destination}}{{end}}'

# The checks run while the health probe waits (the container is up, its healthcheck not yet
# passed): they read files, which do not change as the app starts (and the host's source does
# not change under the deploy lock). The container's are used only if it is still running after
# the wait, and taken again if they failed.
early=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
host_fp=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
built=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
mounts=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
trap 'rm -f -- "$early" "$host_fp" "$built" "$mounts"' EXIT
# source-dir empty: the source and bytecode probes are off, nothing to collect for them.
if [ -n "$FD_SOURCE_DIR" ]; then
  container_checks >"$early" &
  early_pid=$!
  docker inspect --format "$FD_MOUNTS_FORMAT" "$cid" >"$mounts" 2>/dev/null &
  mounts_pid=$!
  if [ -d "$FD_SOURCE_DIR" ]; then
    { fd_out host-dir yes; sh -c "$FD_FINGERPRINT_SH" fingerprint "$FD_SOURCE_DIR" "${names[@]}" | sed "s/^/${FD_REC}hf /"; } >"$host_fp" &
  else
    fd_out host-dir no >"$host_fp" &
  fi
  host_pid=$!
fi
fd_wait_health "$cid" "$FD_HEALTH_TIMEOUT"

# The health wait's last inspect holds the container's facts; inspect again only without it.
[ -n "$FD_STATE" ] || FD_STATE=$(docker inspect --format "$FD_STATE_FORMAT" "$cid" 2>/dev/null)
IFS=$'\x1f' read -r _ running _ _ restarts _ id image started config_image run_label rev_label <<<"$FD_STATE"
fd_out container-id "$id"
fd_out image-id "$image"
fd_out started-at "$started"
fd_out running "$running"
fd_out restarts "$restarts"
fd_out config-image "$config_image"
fd_out run-label "$run_label"
fd_out revision-label "$rev_label"
# What the service's image name points to now, read while the http probe runs.
docker image inspect --format '{{.ID}}' "$config_image" >"$built" 2>/dev/null &
built_pid=$!

if [ -n "$FD_SOURCE_DIR" ]; then
  wait "$host_pid"
  cat -- "$host_fp"
  wait "$mounts_pid"
  { IFS= read -r workdir; while IFS= read -r m; do [ -z "$m" ] || fd_out mount "$m"; done; } <"$mounts"
  wait "$early_pid"
  if [ "$running" = "true" ]; then
    if grep -q "^${FD_REC}container-dir error" "$early"; then container_checks >"$early"; fi
    cat -- "$early"
    # A wrong container-source-dir: say where the source may be instead.
    if grep -q "^${FD_REC}container-dir no" "$early"; then fd_out csd-hint "$(fd_csd_hint "$cid" "${workdir:-}")"; fi
  fi
fi
report_built() {
  wait "$built_pid"
  fd_out built-image-id "$(cat -- "$built")"
}

# Polling a stopped container until verify-timeout would only delay the verdict.
if [ -z "$FD_VERIFY_URL" ] || [ "$running" != "true" ]; then
  report_built
  exit 0
fi

# The http probe, one attempt (http-poll.sh): the runner judges the other probes first and
# asks for more polling (http.sh) only when waiting can still change the verdict; a stale
# deploy does not wait out verify-timeout. A 2xx answer with verify-expect ends it here.
export FD_VERIFY_URL FD_VERIFY_EXPECT FD_VERIFY_TIMEOUT FD_VERIFY_INTERVAL FD_HTTP_CLIENT_SH FD_HTTP_PY
FD_HTTP_MODE=$FD_VERIFY_FROM FD_HTTP_CID=$id FD_HTTP_ONCE=1 FD_HTTP_ATTEMPTS=0 FD_HTTP_DEADLINE='' \
  bash -c "$FD_HTTP_POLL_SH" http-poll | while read -r key value; do fd_out "$key" "$value"; done
report_built
