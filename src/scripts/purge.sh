# shellcheck shell=bash
# purge: removes bytecode under source-dir on the host and under container-source-dir inside
# the running service container, both at once.
# In: FD_PROJECT_DIR FD_SERVICE FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_PURGE_SH (+ compose)
#     FD_KNOWN_CID_SET=yes: FD_KNOWN_CID is the container the snapshot found (empty: none), no
#     lookup; FD_KNOWN_RUNNING (true|false) its state, when snapshot.sh ran in the same script
# Out: purged-host "DIRS FILES"|missing, purged-container "DIRS FILES"|skip REASON

fd_lock_guard purge
fd_enter_project
# The snapshot just found the container (under the deploy lock): no second compose lookup.
if [ "${FD_KNOWN_CID_SET:-}" = "yes" ]; then cid=$FD_KNOWN_CID; else cid=$(fd_service_cid); fi
running=${FD_KNOWN_RUNNING:-}
if [ -n "$cid" ] && [ -z "$running" ]; then running=$(docker inspect --format '{{.State.Running}}' "$cid"); fi

# The container's purge runs while the host's does: one docker exec (~0.1 s), and the script
# itself checks for find (exit 90 when missing).
no_find=90
container_pid=""
if [ -n "$cid" ] && [ "$running" = "true" ]; then
  in_container=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-purge.XXXXXX")
  trap 'rm -f -- "$in_container"' EXIT
  docker exec -i "$cid" sh -s -- "$FD_CONTAINER_SOURCE_DIR" >"$in_container" 2>&1 \
    <<<"command -v find >/dev/null 2>&1 || exit $no_find"$'\n'"$FD_PURGE_SH" &
  container_pid=$!
fi

host_rc=0
host=$(sh -c "$FD_PURGE_SH" purge "$FD_SOURCE_DIR" 2>&1) || host_rc=$?

container_rc=0
if [ -n "$container_pid" ]; then wait "$container_pid" || container_rc=$?; fi
if [ "$host_rc" != 0 ]; then
  printf '%s\n' "$host" >&2
  fd_die "could not purge bytecode under $(pwd)/$FD_SOURCE_DIR on the host (read-only or full?)"
fi
fd_out purged-host "$host"

if [ -z "$cid" ]; then
  fd_out purged-container "skip no container yet"
elif [ "$running" != "true" ]; then
  fd_out purged-container "skip container not running"
else
  case $container_rc in
    0) fd_out purged-container "$(cat -- "$in_container")" ;;
    # 126/127: docker found no sh to run.
    "$no_find" | 126 | 127) fd_out purged-container "skip no sh or find in the container" ;;
    *)
      cat -- "$in_container" >&2
      fd_die "could not purge bytecode under $FD_CONTAINER_SOURCE_DIR in container ${cid:0:12}" ;;
  esac
fi
[ -z "$container_pid" ] || rm -f -- "$in_container"
trap - EXIT
