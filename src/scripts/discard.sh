# shellcheck shell=bash
# discard (strategy: start-first, before the cutover): removes the new container that was not
# proven (stale, unhealthy, a probe that could not run), after keeping its last 50 log lines
# for the report. The old container was never touched and still serves.
# After a cutover that failed or whose connection dropped (FD_SF_OLD set): the cutover runs
# detached and may still run, or have finished: wait for it first. If the old container still
# runs, it serves (the cutover never stops it before the new one has the name): the new one goes.
# If not, the new one is the service now: it is kept (removing it would leave no container).
# In: FD_SF_NEW, FD_SF_OLD + FD_SF_WAIT (seconds; after a cutover) (+ compose)
# Out: log LINE (its last 50), discarded CID or kept CID

fd_enter_project
if [ -n "${FD_SF_OLD:-}" ]; then
  fd_wait_detached "${FD_SF_WAIT:?}" || fd_die "the cutover of ${FD_SF_OLD:0:12} → ${FD_SF_NEW:0:12} still runs after ${FD_SF_WAIT} s; both containers were left as they are"
  if [ "$(docker inspect --format '{{.State.Running}}' "$FD_SF_OLD" 2>/dev/null || true)" != true ]; then
    fd_out kept "$FD_SF_NEW"
    echo "the old container ${FD_SF_OLD:0:12} no longer runs: the cutover went through; the new container ${FD_SF_NEW:0:12} serves and is kept"
    exit 0
  fi
fi
docker logs --tail 50 "$FD_SF_NEW" 2>&1 | sed "s/^/${FD_REC}log /" || true
docker rm -f -v -- "$FD_SF_NEW" >/dev/null || fd_die "could not remove the new container ${FD_SF_NEW:0:12}"
fd_out discarded "$FD_SF_NEW"
echo "removed the new container ${FD_SF_NEW:0:12}; the old one still serves"
