# shellcheck shell=bash
# rollback: recreates the service's container from the rollback target's image, without
# building, through an override file that names that image by id (plus the labels): no tag is
# moved, so an image name the user owns (image: reg/app:1.5) keeps pointing where it did. Then
# waits for it to run.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_PREVIOUS_TAG FD_PREVIOUS_IMAGE FD_OVERRIDE_YAML FD_HEALTH_TIMEOUT
# Out: container-id image-id started-at config-image health

fd_enter_project
export FRESH_DEPLOY_REVISION="$FD_REF"
# The tag keeps the image from a prune; the override names the id the snapshot kept.
docker image inspect "$FD_PREVIOUS_IMAGE" >/dev/null 2>&1 || fd_die "the previous image $FD_PREVIOUS_IMAGE (tagged $FD_PREVIOUS_TAG) is gone"
override=$(fd_write_override)
trap 'rm -f -- "$override"' EXIT
fd_compose_argv "$override"
trap - EXIT
echo "recreating $FD_SERVICE from image $FD_PREVIOUS_IMAGE ($FD_PREVIOUS_TAG)"
fd_detached --rm "$override" "${FD_ARGV[@]}" up -d --no-build --force-recreate --no-deps "$FD_SERVICE" || fd_die "compose up of the previous image failed (compose exit $?)"
fd_report_container
fd_wait_health "$FD_CID" "$FD_HEALTH_TIMEOUT"
