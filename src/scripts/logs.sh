# shellcheck shell=bash
# report: the last 50 lines of the service container's logs.
# In: FD_PROJECT_DIR FD_SERVICE (+ compose)

fd_enter_project
cid=$(fd_service_cid)
if [ -z "$cid" ]; then fd_out log "(no container for service $FD_SERVICE)"; exit 0; fi
# FD_REC is "@@fd-" + hex + " ": nothing in it is special to sed.
docker logs --tail 50 "$cid" 2>&1 | sed "s/^/${FD_REC}log /"
