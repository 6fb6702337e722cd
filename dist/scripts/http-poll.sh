# shellcheck shell=bash
# http-poll: the http probe on the target, judged here, where the body is: GET verify-url
# (http-client.sh, on this host or inside the container) until it answers 2xx with a body that
# holds verify-expect, or until the deadline. Run with bash -c by verify.sh (one attempt:
# FD_HTTP_ONCE=1, so that the runner can judge the other probes before any waiting) and by
# http.sh (the rest of the polling, when nothing else failed).
# In (environment): FD_HTTP_MODE (host|container) FD_HTTP_CID FD_VERIFY_URL FD_VERIFY_EXPECT
#     FD_VERIFY_TIMEOUT FD_HTTP_DEADLINE (epoch s; empty: now + FD_VERIFY_TIMEOUT)
#     FD_VERIFY_INTERVAL FD_HTTP_ONCE FD_HTTP_ATTEMPTS (made before) FD_HTTP_CLIENT_SH FD_HTTP_PY
# Out: "KEY VALUE" lines on stdout, which the caller turns into result records: http-deadline,
#     http-client, http-attempts, http-status, http-match (yes|no|none), http-at (byte offset of
#     the match), http-size, http-snippet (base64: around the match, else the body's start),
#     http-pending (yes: one attempt only, not passed, time left), http-no-client, http-error.
set -u
# Bytes: offsets, lengths and the match count bytes, whatever the body's encoding.
export LC_ALL=C
limit=1048576
deadline=${FD_HTTP_DEADLINE:-}
[ -n "$deadline" ] || deadline=$(( $(date +%s) + FD_VERIFY_TIMEOUT ))
echo "http-deadline $deadline"
if [ "$FD_HTTP_MODE" = container ]; then order="python3 curl wget busybox"; else order="curl wget python3 busybox"; fi
have_timeout=no
command -v timeout >/dev/null 2>&1 && have_timeout=yes

body=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-http.XXXXXX") || exit 1
hdr=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-http.XXXXXX") || exit 1
trap 'rm -f -- "$body" "$hdr"' EXIT

# One request, given the time left until the deadline (not verify-interval: a slow endpoint
# is still an answer). timeout bounds the clients whose own limit is per read (wget, python).
attempt() {
  local max=$1 cmd=()
  if [ "$FD_HTTP_MODE" = container ]; then
    cmd=(docker exec "$FD_HTTP_CID" sh -c "$FD_HTTP_CLIENT_SH" fd-http "$order" "$FD_VERIFY_URL" "$max" "$FD_HTTP_PY" "$limit")
  else
    cmd=(sh -c "$FD_HTTP_CLIENT_SH" fd-http "$order" "$FD_VERIFY_URL" "$max" "$FD_HTTP_PY" "$limit")
  fi
  [ "$have_timeout" = no ] || cmd=(timeout -k 2 "$((max + 1))" "${cmd[@]}")
  # The client's stderr goes through a pipe, not straight to a file: curl -D /dev/stderr
  # reopens it, which would truncate a file. head stops a body that never ends at the limit
  # (the headers came before it).
  { "${cmd[@]}" 2>&1 >&3 3>&- | cat >"$hdr"; echo "fd-http-rc ${PIPESTATUS[0]}" >>"$hdr"; } 3>&1 </dev/null | head -c "$limit" >"$body"
  rc=$(sed -n 's/^fd-http-rc //p' "$hdr")
}

attempts=${FD_HTTP_ATTEMPTS:-0}
# The caller's first attempt just failed: wait one interval before the next.
[ "$attempts" -eq 0 ] || sleep "$(( FD_VERIFY_INTERVAL < deadline - $(date +%s) ? FD_VERIFY_INTERVAL : 0 ))"
status=000 match=none at=0 pending=no client=""
while :; do
  max=$(( deadline - $(date +%s) ))
  [ "$max" -ge 1 ] || max=1
  attempts=$((attempts + 1))
  attempt "$max"
  client=$(sed -n '1s/^fd-http-client //p' "$hdr")
  case $client in
    none*) echo "http-no-client ${client#none (looked for }" | tr -d ')'; exit 0 ;;
    "")
      # docker exec could not start sh: an image without a shell (FROM scratch, distroless).
      if [ "$FD_HTTP_MODE" = container ] && { [ "$rc" = 126 ] || [ "$rc" = 127 ]; } && grep -q 'executable file not found\|no such file' "$hdr"; then
        echo "http-error no sh in the container, so no http client can run there: $(head -c 300 "$hdr" | tr '\n' ' ')"
        exit 0
      fi ;;
  esac
  status=$(sed -n 's/.*HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$hdr" | tail -n 1)
  [ -n "$status" ] || status=000
  at=0
  if [ -z "$FD_VERIFY_EXPECT" ]; then
    match=none
  else
    found=$(grep -aboF -m 1 -e "$FD_VERIFY_EXPECT" -- "$body" 2>/dev/null | head -n 1)
    if [ -n "$found" ]; then match=yes at=${found%%:*}; else match=no; fi
  fi
  if [[ "$status" =~ ^2[0-9][0-9]$ ]] && [ "$match" != no ]; then break; fi
  left=$(( deadline - $(date +%s) ))
  if [ "${FD_HTTP_ONCE:-}" = 1 ]; then
    [ "$left" -le 0 ] || pending=yes
    break
  fi
  [ "$left" -gt 0 ] || break
  sleep "$(( FD_VERIFY_INTERVAL < left ? FD_VERIFY_INTERVAL : left ))"
done

echo "http-client $client"
echo "http-attempts $attempts"
echo "http-status $status"
echo "http-match $match"
echo "http-at $at"
echo "http-size $(wc -c <"$body")"
if [ "$match" = yes ]; then
  # 120 bytes either side of the match: enough to see what the app says around it.
  from=$(( at > 120 ? at - 120 : 0 ))
  echo "http-snippet $(tail -c +"$((from + 1))" -- "$body" | head -c "$(( at - from + ${#FD_VERIFY_EXPECT} + 120 ))" | base64 -w0)"
else
  echo "http-snippet $(head -c 300 -- "$body" | base64 -w0)"
fi
[ "$pending" = no ] || echo "http-pending yes"
