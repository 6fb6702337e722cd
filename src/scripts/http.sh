# shellcheck shell=bash
# http: the rest of the http probe's polling (http-poll.sh), after verify.sh's first attempt
# failed and the runner found no other probe failed: only then can waiting change the verdict.
# In: FD_HTTP_MODE (host|container) FD_HTTP_CID FD_HTTP_DEADLINE FD_HTTP_ATTEMPTS FD_VERIFY_URL
#     FD_VERIFY_EXPECT FD_VERIFY_TIMEOUT FD_VERIFY_INTERVAL FD_HTTP_POLL_SH FD_HTTP_CLIENT_SH
#     FD_HTTP_PY FD_LOCK_PID
# Out: http-* (see http-poll.sh)

fd_lock_guard verify
set +e
export FD_HTTP_MODE FD_HTTP_CID FD_HTTP_DEADLINE FD_HTTP_ATTEMPTS FD_VERIFY_URL FD_VERIFY_EXPECT FD_VERIFY_TIMEOUT FD_VERIFY_INTERVAL FD_HTTP_CLIENT_SH FD_HTTP_PY
FD_HTTP_ONCE='' bash -c "$FD_HTTP_POLL_SH" http-poll | while read -r key value; do fd_out "$key" "$value"; done
