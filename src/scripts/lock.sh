# shellcheck shell=bash
# lock: holds the per-project deploy lock for as long as the runner keeps this script's stdin
# open. When the runner (or its connection) goes away, stdin closes and the lock is released:
# with flock by the kernel, with the mkdir fallback by the EXIT trap or, after a kill -9, by
# the next deploy noticing the dead pid / missing heartbeat.
# In: FD_PROJECT_DIR FD_PROJECT_NAME FD_LOCK_TIMEOUT FD_RUN_ID FD_REF FD_HAVE_FLOCK [FD_LOCK_HEARTBEAT]
# Out: lock-dir, lock-wait HOLDER, lock-takeover HOLDER, locked, lock-timeout HOLDER

real=$(cd -- "$FD_PROJECT_DIR" && pwd -P)
dir="${TMPDIR:-/tmp}/fresh-deploy-locks"
mkdir -p -- "$dir"
key=$(printf '%s\n%s' "$real" "$FD_PROJECT_NAME" | sha256sum | cut -c1-16)
me="run $FD_RUN_ID, revision $FD_REF, since $(date -u +%Y-%m-%dT%H:%M:%SZ), pid $$, host $(hostname)"

holder_of() { if [ -s "$1" ]; then head -n1 -- "$1"; else printf 'unknown'; fi; }

# Heartbeat: touch the info file every 5 s (FD_LOCK_HEARTBEAT, for tests) until stdin closes.
# read's status is taken with ||: after `if read …; fi` $? is the if's, 0, not read's.
hold() {
  local info=$1 rc
  fd_out lock-pid "$$"
  fd_out locked "$real"
  while :; do
    rc=0
    IFS= read -r -t "${FD_LOCK_HEARTBEAT:-5}" _ || rc=$?
    if [ "$rc" = 0 ]; then continue; fi
    if [ "$rc" -gt 128 ]; then touch -- "$info"; continue; fi
    break
  done
}

if [ "$FD_HAVE_FLOCK" = "yes" ]; then
  lockfile="$dir/$key.lock"
  info="$dir/$key.info"
  exec 9>>"$lockfile"
  if ! flock -n 9; then
    fd_out lock-wait "$(holder_of "$info")"
    if ! flock -w "$FD_LOCK_TIMEOUT" 9; then
      fd_out lock-timeout "$(holder_of "$info")"
      exit 4
    fi
  fi
  # The lock was free, yet an info file is left: its holder died without releasing.
  if [ -s "$info" ]; then fd_out lock-takeover "$(holder_of "$info")"; fi
  trap 'rm -f -- "$info"' EXIT
  trap 'exit 0' HUP TERM INT PIPE
  printf '%s\n' "$me" >"$info"
  # A deploy whose connection dropped released its lock, but its compose command may still
  # run, detached (fd_detached holds the busy lock while it does): wait for it to finish.
  exec 8>>"$dir/$key.busy"
  if ! flock -n 8; then
    fd_out lock-wait "a compose command that an earlier deploy left running (its connection was lost)"
    if ! flock -w "$FD_LOCK_TIMEOUT" 8; then
      fd_out lock-timeout "a compose command that an earlier deploy left running (its connection was lost)"
      exit 4
    fi
  fi
  exec 8>&-
  hold "$info"
else
  lockdir="$dir/$key.d"
  info="$lockdir/holder"
  start=$(date +%s)
  waited=no
  until mkdir -- "$lockdir" 2>/dev/null; do
    pid=$(sed -n 's/.*, pid \([0-9]*\),.*/\1/p' "$info" 2>/dev/null || true)
    age=$(( $(date +%s) - $(stat -c %Y -- "$info" 2>/dev/null || date +%s) ))
    if { [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; } || [ "$age" -gt "$FD_LOCK_TIMEOUT" ]; then
      fd_out lock-takeover "$(holder_of "$info")"
      rm -rf -- "$lockdir"
      continue
    fi
    if [ "$waited" = no ]; then fd_out lock-wait "$(holder_of "$info")"; waited=yes; fi
    if [ $(( $(date +%s) - start )) -ge "$FD_LOCK_TIMEOUT" ]; then
      fd_out lock-timeout "$(holder_of "$info")"
      exit 4
    fi
    sleep 1
  done
  trap 'rm -rf -- "$lockdir"' EXIT
  trap 'exit 0' HUP TERM INT PIPE
  printf '%s\n' "$me" >"$info"
  hold "$info"
fi
