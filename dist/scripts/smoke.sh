# shellcheck shell=bash
# post-deploy: runs the user's smoke test inside the new container (the smoke probe). The command
# is data: it reaches `sh -c` in the container as one argument, never this shell.
# In: FD_PROJECT_DIR FD_SERVICE FD_KNOWN_CID FD_REF FD_RUN_ID FD_HOOK FD_HOOK_TIMEOUT FD_PREVIOUS_IMAGE
# Out: hook-exit CODE, hook-timeout SECONDS (when it was stopped)

fd_lock_guard post-deploy
fd_enter_project
cid=${FD_KNOWN_CID:-$(fd_service_cid)}
[ -n "$cid" ] || fd_die "service $FD_SERVICE has no container to run post-deploy in"
# Every process of the hook inherits this variable: past hook-timeout, they are found by it and
# killed, children included (stopping `docker exec` alone would leave them running).
marker="FRESH_DEPLOY_HOOK_ID=post-deploy-$FD_RUN_ID"
stop_hook() { docker exec -u 0 "$cid" sh -c "$FD_KILL_BY_ENV" kill-hook "$marker"; }
echo "+ docker exec ${cid:0:12} sh -c <post-deploy> (hook-timeout ${FD_HOOK_TIMEOUT} s)"
fd_hook_run post-deploy "$FD_HOOK_TIMEOUT" stop_hook \
  docker exec -e "$marker" -e "FRESH_DEPLOY_REVISION=$FD_REF" -e "FRESH_DEPLOY_RUN_ID=$FD_RUN_ID" \
  -e "FRESH_DEPLOY_SERVICE=$FD_SERVICE" -e "FRESH_DEPLOY_PREVIOUS_IMAGE=${FD_PREVIOUS_IMAGE:-}" \
  "$cid" sh -c "$FD_HOOK" || true
