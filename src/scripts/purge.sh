# shellcheck shell=bash
# purge: removes bytecode under source-dir on the host and under container-source-dir inside
# the running service container.
# In: FD_PROJECT_DIR FD_SERVICE FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_PURGE_SH (+ compose)
# Out: purged-host "DIRS FILES"|missing, purged-container "DIRS FILES"|skip REASON

fd_enter_project
if ! result=$(sh -c "$FD_PURGE_SH" purge "$FD_SOURCE_DIR" 2>&1); then
  printf '%s\n' "$result" >&2
  fd_die "could not purge bytecode under $(pwd)/$FD_SOURCE_DIR on the host (read-only or full?)"
fi
fd_out purged-host "$result"

cid=$(fd_service_cid)
if [ -z "$cid" ]; then
  fd_out purged-container "skip no container yet"
elif [ "$(docker inspect --format '{{.State.Running}}' "$cid")" != "true" ]; then
  fd_out purged-container "skip container not running"
elif ! docker exec "$cid" sh -c 'command -v find' >/dev/null 2>&1; then
  fd_out purged-container "skip no sh or find in the container"
elif ! result=$(docker exec -i "$cid" sh -s -- "$FD_CONTAINER_SOURCE_DIR" <<<"$FD_PURGE_SH" 2>&1); then
  printf '%s\n' "$result" >&2
  fd_die "could not purge bytecode under $FD_CONTAINER_SOURCE_DIR in container ${cid:0:12}"
else
  fd_out purged-container "$result"
fi
