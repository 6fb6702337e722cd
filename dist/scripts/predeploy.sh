# shellcheck shell=bash
# pre-deploy: runs the user's hook (e.g. migrations) in a one-off container of the new image with
# the service's compose configuration, before the running container is touched. The command is
# data: it reaches `sh -c` in the container as one argument, never this shell.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_RUN_ID FD_HOOK FD_HOOK_TIMEOUT FD_PREVIOUS_IMAGE
#     (FD_SNAPSHOT_IMAGE when snapshot.sh ran in the same script) (+ compose)
# Out: hook-exit CODE, hook-timeout SECONDS (when it was stopped)

fd_lock_guard pre-deploy
fd_enter_project
export FRESH_DEPLOY_REVISION="$FD_REF"
previous=${FD_SNAPSHOT_IMAGE-${FD_PREVIOUS_IMAGE:-}}
# A name of our own, so that a hook past hook-timeout can be stopped, container and all.
name="fresh-deploy-pre-deploy-$(printf '%s' "$FD_RUN_ID" | tr -c 'A-Za-z0-9_.-' '-')"
stop_hook() { docker rm -f -- "$name"; }
echo "+ ${FD_COMPOSE[*]} run --rm --no-deps -T $FD_SERVICE sh -c <pre-deploy> (hook-timeout ${FD_HOOK_TIMEOUT} s)"
fd_hook_run pre-deploy "$FD_HOOK_TIMEOUT" stop_hook \
  fd_compose run --rm --no-deps -T --name "$name" \
  -e "FRESH_DEPLOY_REVISION=$FD_REF" -e "FRESH_DEPLOY_RUN_ID=$FD_RUN_ID" \
  -e "FRESH_DEPLOY_SERVICE=$FD_SERVICE" -e "FRESH_DEPLOY_PREVIOUS_IMAGE=$previous" \
  "$FD_SERVICE" sh -c "$FD_HOOK" || exit 7
