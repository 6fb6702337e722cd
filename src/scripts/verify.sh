# shellcheck shell=bash
# verify: everything the probes need from the target, in one round trip: health, the
# container's facts, both source fingerprints, the container's .pyc headers and (verify-from:
# host) the http probe. The runner turns these facts into verdicts.
# In: FD_PROJECT_DIR FD_SERVICE FD_KNOWN_CID FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_HEALTH_TIMEOUT
#     FD_FINGERPRINT_SH FD_BYTECODE_PY FD_VERIFY_URL FD_VERIFY_EXPECT FD_VERIFY_TIMEOUT
#     FD_VERIFY_INTERVAL FD_HTTP_PY (+ compose)
# Out: health, container facts, hf/cf SHA PATH lines, host-dir, container-dir, python, pyc, http-*

fd_lock_guard verify
fd_enter_project
set +e
# The container that the rebuild created: FD_CID when rebuild.sh ran in this script, else
# FD_KNOWN_CID; looked up only without either. An engine that is restarting answers nothing:
# wait for it rather than find "no container" (with a known container, the health wait below
# does that).
cid=${FD_CID:-${FD_KNOWN_CID:-}}
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
# lookup and the .pyc check, in sections that the awk below turns into result lines.
fd_sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
# shellcheck disable=SC2016 # expanded in the container
container_script() {
  printf 'dir=$1\nfp=%s\npyc=%s\n' "$(fd_sq "$FD_FINGERPRINT_SH")" "$(fd_sq "$FD_BYTECODE_PY")"
  printf '%s\n' \
    'out=$(sh -c "$fp" fingerprint "$dir" 2>&1); rc=$?' \
    'echo "@@fd-section fp $rc"; printf "%s\n" "$out"' \
    'py=$(command -v python3 || command -v python)' \
    'if [ -z "$py" ]; then echo "@@fd-section python none"; exit 0; fi' \
    'echo "@@fd-section python $py"; "$py" -c "$pyc" "$dir" 2>&1'
}
container_checks() {
  docker exec -i "$cid" sh -s -- "$FD_CONTAINER_SOURCE_DIR" <<<"$(container_script)" 2>&1 | awk '
    /^@@fd-section fp / { sec = "fp"; rc = $3; seen = 1
      if (rc == 0) print "@@fd container-dir yes"; else if (rc == 3) print "@@fd container-dir no"
      next }
    /^@@fd-section python / { sec = "py"; print "@@fd python " substr($0, 21); next }
    sec == "fp" { if (rc == 0) { if ($0 != "") print "@@fd cf " $0 } else if (rc != 3) err = err $0 " "; next }
    sec == "py" { print "@@fd pyc " $0; next }
    { err = err $0 " " }
    END {
      if (!seen || (rc != 0 && rc != 3)) print "@@fd container-dir error " substr(err, 1, 300)
      if (sec != "py") print "@@fd python none"
    }'
}

# The checks run while the health probe waits (the container is up, its healthcheck not yet
# passed): they read files, which do not change as the app starts (and the host's source does
# not change under the deploy lock). The container's are used only if it is still running after
# the wait, and taken again if they failed.
early=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
host_fp=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
built=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-verify.XXXXXX")
trap 'rm -f -- "$early" "$host_fp" "$built"' EXIT
container_checks >"$early" &
early_pid=$!
if [ -d "$FD_SOURCE_DIR" ]; then
  { fd_out host-dir yes; sh -c "$FD_FINGERPRINT_SH" fingerprint "$FD_SOURCE_DIR" | sed 's/^/@@fd hf /'; } >"$host_fp" &
else
  fd_out host-dir no >"$host_fp" &
fi
host_pid=$!
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

wait "$host_pid"
cat -- "$host_fp"
wait "$early_pid"
if [ "$running" = "true" ]; then
  if grep -q '^@@fd container-dir error' "$early"; then container_checks; else cat -- "$early"; fi
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

# http probe from the host: curl, wget or python, whichever exists.
body=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-http.XXXXXX")
trap 'rm -f -- "$body" "$early" "$host_fp" "$built"' EXIT
http_get() {
  local max=$1
  : >"$body"
  if command -v curl >/dev/null 2>&1; then
    curl -s -o "$body" -w '%{http_code}' --max-time "$max" --url "$FD_VERIFY_URL" 2>/dev/null
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c "$FD_HTTP_PY" "$FD_VERIFY_URL" "$body" "$max" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    wget -q -S -T "$max" -O "$body" -- "$FD_VERIFY_URL" 2>&1 | sed -n 's/^ *HTTP\/[0-9.]* \([0-9]*\).*/\1/p' | tail -n1
  else
    echo "none"
  fi
}
deadline=$(( $(date +%s) + FD_VERIFY_TIMEOUT ))
attempts=0
while :; do
  attempts=$((attempts + 1))
  code=$(http_get "$FD_VERIFY_INTERVAL")
  [ -n "$code" ] || code=000
  if [ "$code" = none ]; then fd_out http-error "no curl, python3 or wget on the host; use verify-from: runner"; report_built; exit 0; fi
  if [[ "$code" =~ ^2[0-9][0-9]$ ]]; then
    if [ -z "$FD_VERIFY_EXPECT" ] || grep -qF -- "$FD_VERIFY_EXPECT" "$body"; then break; fi
  fi
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep "$FD_VERIFY_INTERVAL"
done
fd_out http-attempts "$attempts"
fd_out http-status "$code"
fd_out http-body "$(head -c 2000 "$body" | base64 -w0)"
report_built
