# shellcheck shell=bash
# lock: holds the per-project deploy lock for as long as the runner keeps this script's stdin
# open and says so: it writes a newline (keepalive) every FD_LOCK_HEARTBEAT s. When stdin closes,
# or nothing arrives for three periods (a runner that vanished while TCP keeps its session up),
# the lock is released: with flock by the kernel when this shell exits, with the mkdir fallback
# by the EXIT trap or, after a kill -9, by the next deploy noticing the dead pid / the holder
# file's missing heartbeat.
# The lock directory is the deploy user's own (fd_lock_dir); no file in it is written through a
# symlink.
# In: FD_PROJECT_DIR FD_PROJECT_NAME FD_LOCK_TIMEOUT FD_RUN_ID FD_REF FD_HAVE_FLOCK [FD_LOCK_HEARTBEAT]
# Out: lock-wait HOLDER, lock-takeover HOLDER, lock-pid, locked, lock-timeout HOLDER,
#      lock-error MESSAGE, lock-silent SECONDS

real=$(cd -- "$FD_PROJECT_DIR" && pwd -P)
fd_lock_dir
dir=$FD_LOCK_DIR
key=$(fd_lock_key "$real")
hb=${FD_LOCK_HEARTBEAT:-5}
case $hb in '' | *[!0-9]* | 0*) hb=5 ;; esac
me="run $FD_RUN_ID, revision $FD_REF, since $(date -u +%Y-%m-%dT%H:%M:%SZ), pid $$, host ${HOSTNAME:-unknown}"
me=${me//$'\n'/ }

holder_of() { if [ -s "$1" ] && [ ! -L "$1" ]; then head -n1 -- "$1"; else printf 'unknown'; fi; }

# A path in the lock directory that must not be a symlink (nor, for a file, a directory).
no_link() {
  if [ -L "$1" ] || { [ "${2-}" != dir ] && [ -d "$1" ]; }; then
    fd_lock_refuse "$1 is a symbolic link or a directory; fresh-deploy never writes through one (it could point at any file of the deploy user, e.g. ~/.ssh/authorized_keys): remove it and deploy again"
  fi
}

# Writes the holder record to $1 as a new file renamed over it: a rename replaces a symlink
# rather than following it. Line 2 is the heartbeat period that waiters judge staleness by.
write_holder() {
  local tmp
  tmp=$(mktemp "$dir/.holder.XXXXXX")
  printf '%s\nheartbeat %s\n' "$me" "$hb" >"$tmp"
  mv -f -- "$tmp" "$1"
}

mine() { [ "$(head -n1 -- "$1" 2>/dev/null)" = "$me" ]; }

# Holds the lock: reads the runner's keepalives, touches the holder file every heartbeat, and
# returns when stdin closes. Silence for three heartbeats releases the lock (exit 5), as does
# finding the holder file no longer ours (taken over while this shell was stopped).
# read's status is taken with ||: after `if read …; fi` $? is the if's, 0, not read's.
hold() {
  local info=$1 rc heard=$SECONDS beat=$SECONDS
  fd_out lock-pid "$$"
  fd_out locked "$real"
  while :; do
    rc=0
    IFS= read -r -t "$hb" _ || rc=$?
    if [ "$rc" = 0 ]; then
      heard=$SECONDS
    elif [ "$rc" -le 128 ]; then
      return 0
    fi
    if [ $((SECONDS - heard)) -ge $((3 * hb)) ]; then
      fd_out lock-silent "$((SECONDS - heard))"
      printf 'fresh-deploy: no keepalive from the runner for %s s (one is due every %s s): releasing the deploy lock\n' "$((SECONDS - heard))" "$hb" >&2
      exit 5
    fi
    if [ $((SECONDS - beat)) -ge "$hb" ]; then
      beat=$SECONDS
      if ! mine "$info"; then
        fd_out lock-lost lock
        printf 'fresh-deploy: the deploy lock was taken over (its heartbeat stopped for too long)\n' >&2
        exit 5
      fi
      touch -- "$info"
    fi
  done
}

if [ "$FD_HAVE_FLOCK" = "yes" ]; then
  lockfile="$dir/$key.lock"
  info="$dir/$key.info"
  no_link "$lockfile"
  no_link "$info"
  no_link "$dir/$key.busy"
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
  trap 'if mine "$info"; then rm -f -- "$info"; fi' EXIT
  trap 'exit 0' HUP TERM INT PIPE
  write_holder "$info"
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
  reap="$dir/$key.reap"
  seen=""

  # Whether the mkdir lock is stale: its holder process is dead, or its heartbeat (the holder
  # file's mtime; the lock dir's while no holder is written yet) is older than three of the
  # holder's own heartbeat periods. Never the waiting deploy's lock-timeout: a deploy that
  # waits briefly must not take over a live lock. Sets seen (the holder line).
  stale() {
    local n h=5 beat now
    seen=$(head -n1 -- "$info" 2>/dev/null) || seen=""
    n=$(sed -n '2s/^heartbeat \([1-9][0-9]\{0,5\}\)$/\1/p' -- "$info" 2>/dev/null) || n=""
    if [ -n "$n" ]; then h=$n; fi
    if [[ $seen =~ ,\ pid\ ([0-9]{1,9}), ]] && ! fd_pid_alive "${BASH_REMATCH[1]}"; then return 0; fi
    beat=$(stat -c %Y -- "$info" 2>/dev/null) || beat=$(stat -c %Y -- "$lockdir" 2>/dev/null) || return 1
    printf -v now '%(%s)T' -1
    [ $((now - beat)) -gt $((3 * h)) ]
  }

  # Takes the stale lock dir over, atomically: one waiter at a time (the reap dir, made with
  # mkdir) judges it again and renames it away, so that a waiter that judged the old holder
  # cannot remove the lock dir that replaced it. Returns 0 when it moved the stale dir away.
  take_over() {
    local gone beat now moved=1
    if ! mkdir -- "$reap" 2>/dev/null; then
      # Another waiter is taking it over (milliseconds). One killed meanwhile left its reap
      # dir: it is removed once older than three heartbeats.
      beat=$(stat -c %Y -- "$reap" 2>/dev/null) || return 1
      printf -v now '%(%s)T' -1
      if [ $((now - beat)) -gt $((3 * hb)) ]; then rmdir -- "$reap" 2>/dev/null || true; fi
      return 1
    fi
    if stale; then
      gone=$(mktemp -d "$dir/.gone.XXXXXX")
      if mv -- "$lockdir" "$gone/d" 2>/dev/null; then
        if [ "$(head -n1 -- "$gone/d/holder" 2>/dev/null)" = "$seen" ]; then
          fd_out lock-takeover "${seen:-unknown}"
          moved=0
        elif [ ! -e "$lockdir" ]; then
          # Not the one judged (its holder released it and another deploy took it just now):
          # put it back.
          mv -- "$gone/d" "$lockdir" 2>/dev/null || true
        fi
      fi
      rm -rf -- "$gone"
    fi
    rmdir -- "$reap" 2>/dev/null || true
    return "$moved"
  }

  no_link "$lockdir" dir
  no_link "$reap" dir
  start=$SECONDS
  waited=no
  until mkdir -- "$lockdir" 2>/dev/null; do
    no_link "$lockdir" dir
    if stale && take_over; then continue; fi
    if [ "$waited" = no ]; then fd_out lock-wait "$(holder_of "$info")"; waited=yes; fi
    if [ $((SECONDS - start)) -ge "$FD_LOCK_TIMEOUT" ]; then
      fd_out lock-timeout "$(holder_of "$info")"
      exit 4
    fi
    sleep 1
  done
  # Only our own holder is removed: a lock dir that holds another's is not ours to delete.
  trap 'if mine "$info"; then rm -f -- "$info"; rmdir -- "$lockdir" 2>/dev/null || true; fi' EXIT
  trap 'exit 0' HUP TERM INT PIPE
  write_holder "$info"
  hold "$info"
fi
