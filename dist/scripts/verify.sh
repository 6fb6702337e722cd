# shellcheck shell=bash
# verify: everything the probes need from the target, in one round trip: health, the
# container's facts, both source fingerprints, the container's .pyc headers and (verify-from:
# host) the http probe. The runner turns these facts into verdicts.
# In: FD_PROJECT_DIR FD_SERVICE FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_HEALTH_TIMEOUT
#     FD_FINGERPRINT_SH FD_BYTECODE_PY FD_VERIFY_URL FD_VERIFY_EXPECT FD_VERIFY_TIMEOUT
#     FD_VERIFY_INTERVAL FD_HTTP_PY (+ compose)
# Out: health, container facts, hf/cf SHA PATH lines, host-dir, container-dir, python, pyc, http-*

fd_enter_project
set +e
# An engine that is restarting answers nothing: wait for it rather than find "no container".
fd_engine_wait "$(( $(date +%s) + FD_HEALTH_TIMEOUT ))" || echo "the Docker engine does not answer" >&2
cid=$(fd_service_cid)
if [ -z "$cid" ]; then
  fd_out health "fail service $FD_SERVICE has no container"
  exit 0
fi
fd_wait_health "$cid" "$FD_HEALTH_TIMEOUT"

IFS=$'\t' read -r id image started running restarts config_image run_label rev_label < <(docker inspect --format \
  '{{.Id}}{{"\t"}}{{.Image}}{{"\t"}}{{.State.StartedAt}}{{"\t"}}{{.State.Running}}{{"\t"}}{{.RestartCount}}{{"\t"}}{{.Config.Image}}{{"\t"}}{{index .Config.Labels "io.fresh-deploy.run"}}{{"\t"}}{{index .Config.Labels "io.fresh-deploy.revision"}}' "$cid")
fd_out container-id "$id"
fd_out image-id "$image"
fd_out started-at "$started"
fd_out running "$running"
fd_out restarts "$restarts"
fd_out config-image "$config_image"
fd_out run-label "$run_label"
fd_out revision-label "$rev_label"
fd_out built-image-id "$(docker image inspect --format '{{.Id}}' "$config_image" 2>/dev/null)"

if [ -d "$FD_SOURCE_DIR" ]; then
  fd_out host-dir yes
  sh -c "$FD_FINGERPRINT_SH" fingerprint "$FD_SOURCE_DIR" | sed 's/^/@@fd hf /'
else
  fd_out host-dir no
fi

if [ "$running" = "true" ]; then
  out=$(docker exec -i "$id" sh -s -- "$FD_CONTAINER_SOURCE_DIR" <<<"$FD_FINGERPRINT_SH" 2>&1)
  rc=$?
  case $rc in
    0) fd_out container-dir yes; printf '%s\n' "$out" | sed '/^$/d; s/^/@@fd cf /' ;;
    3) fd_out container-dir no ;;
    *) fd_out container-dir "error $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)" ;;
  esac
  py=$(docker exec "$id" sh -c 'command -v python3 || command -v python' 2>/dev/null | sed -n 1p)
  if [ -n "$py" ]; then
    fd_out python "$py"
    docker exec -i "$id" "$py" - "$FD_CONTAINER_SOURCE_DIR" <<<"$FD_BYTECODE_PY" 2>&1 | sed 's/^/@@fd pyc /'
  else
    fd_out python none
  fi
fi

# Polling a stopped container until verify-timeout would only delay the verdict.
[ -n "$FD_VERIFY_URL" ] && [ "$running" = "true" ] || exit 0

# http probe from the host: curl, wget or python, whichever exists.
body=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-http.XXXXXX")
trap 'rm -f -- "$body"' EXIT
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
  if [ "$code" = none ]; then fd_out http-error "no curl, python3 or wget on the host; use verify-from: runner"; exit 0; fi
  if [[ "$code" =~ ^2[0-9][0-9]$ ]]; then
    if [ -z "$FD_VERIFY_EXPECT" ] || grep -qF -- "$FD_VERIFY_EXPECT" "$body"; then break; fi
  fi
  [ "$(date +%s)" -lt "$deadline" ] || break
  sleep "$FD_VERIFY_INTERVAL"
done
fd_out http-attempts "$attempts"
fd_out http-status "$code"
fd_out http-body "$(head -c 2000 "$body" | base64 -w0)"
