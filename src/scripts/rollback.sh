# shellcheck shell=bash
# rollback: puts the previous image back under the service's image name and recreates the
# container from it without building, then waits for it to run.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_PREVIOUS_TAG FD_TARGET_IMAGE FD_OVERRIDE_YAML FD_HEALTH_TIMEOUT
# Out: container-id image-id started-at config-image health

fd_enter_project
export FRESH_DEPLOY_REVISION="$FD_REF"
docker image inspect "$FD_PREVIOUS_TAG" >/dev/null 2>&1 || fd_die "the previous image $FD_PREVIOUS_TAG is gone"
docker tag "$FD_PREVIOUS_TAG" "$FD_TARGET_IMAGE"
echo "tagged $FD_PREVIOUS_TAG as $FD_TARGET_IMAGE"
override=$(fd_write_override)
trap 'rm -f -- "$override"' EXIT
fd_detached fd_compose --override "$override" up -d --no-build --force-recreate --no-deps "$FD_SERVICE" || fd_die "compose up of the previous image failed (compose exit $?)"
fd_report_container
fd_wait_health "$FD_CID" "$FD_HEALTH_TIMEOUT"
