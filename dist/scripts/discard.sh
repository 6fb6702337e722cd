# shellcheck shell=bash
# discard (strategy: start-first, before the cutover): removes the new container that was not
# proven (stale, unhealthy, a probe that could not run), after keeping its last 50 log lines
# for the report. The old container was never touched and still serves.
# In: FD_SF_NEW (+ compose)
# Out: log LINE (its last 50), discarded CID

fd_enter_project
docker logs --tail 50 "$FD_SF_NEW" 2>&1 | sed "s/^/${FD_REC}log /" || true
docker rm -f -v -- "$FD_SF_NEW" >/dev/null || fd_die "could not remove the new container ${FD_SF_NEW:0:12}"
fd_out discarded "$FD_SF_NEW"
echo "removed the new container ${FD_SF_NEW:0:12}; the old one still serves"
