# shellcheck shell=bash
# purge: removes bytecode under source-dir on the host and under container-source-dir inside
# the running service container.
# In: FD_PROJECT_DIR FD_SERVICE FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_PURGE_SH FD_KNOWN_CID (+ compose)
#     FD_KNOWN_CID_SET=yes: FD_KNOWN_CID is the container the snapshot found (empty: none), no lookup
# Out: purged-host "DIRS FILES"|missing, purged-container "DIRS FILES"|skip REASON

fd_enter_project
if ! result=$(sh -c "$FD_PURGE_SH" purge "$FD_SOURCE_DIR" 2>&1); then
  printf '%s\n' "$result" >&2
  fd_die "could not purge bytecode under $(pwd)/$FD_SOURCE_DIR on the host (read-only or full?)"
fi
fd_out purged-host "$result"

# The snapshot just found the container (under the deploy lock): no second compose lookup.
if [ "${FD_KNOWN_CID_SET:-}" = "yes" ]; then cid=$FD_KNOWN_CID; else cid=$(fd_service_cid); fi
# One docker exec (each costs ~0.1 s): the script itself checks for find, exit 90 when missing.
no_find=90
if [ -z "$cid" ]; then
  fd_out purged-container "skip no container yet"
elif [ "$(docker inspect --format '{{.State.Running}}' "$cid")" != "true" ]; then
  fd_out purged-container "skip container not running"
else
  rc=0
  result=$(docker exec -i "$cid" sh -s -- "$FD_CONTAINER_SOURCE_DIR" 2>&1 \
    <<<"command -v find >/dev/null 2>&1 || exit $no_find"$'\n'"$FD_PURGE_SH") || rc=$?
  case $rc in
    0) fd_out purged-container "$result" ;;
    # 126/127: docker found no sh to run.
    "$no_find" | 126 | 127) fd_out purged-container "skip no sh or find in the container" ;;
    *)
      printf '%s\n' "$result" >&2
      fd_die "could not purge bytecode under $FD_CONTAINER_SOURCE_DIR in container ${cid:0:12}" ;;
  esac
fi
