# shellcheck shell=bash
# snapshot: records the running service container and tags its image for rollback.
# In: FD_PROJECT_DIR FD_SERVICE FD_CHECK_CSD FD_CONTAINER_SOURCE_DIR FD_SOURCE_DIR
#     FD_SOURCE_IN_CONTEXT (+ compose vars)
# Out: container-id, image-id, started-at, running, config-image, revision, previous-tag
# Sets FD_KNOWN_CID, FD_KNOWN_CID_SET and FD_KNOWN_RUNNING for a purge.sh in the same script.

fd_lock_guard snapshot
fd_enter_project
FD_KNOWN_CID=$(fd_service_cid)
# shellcheck disable=SC2034 # read by purge.sh when it runs in the same script
FD_KNOWN_CID_SET=yes
FD_KNOWN_RUNNING=false
if [ -z "$FD_KNOWN_CID" ]; then
  echo "no container for service $FD_SERVICE yet: a first deploy"
else
  IFS=$'\t' read -r id image started FD_KNOWN_RUNNING config_image revision < <(docker inspect --format \
    '{{.ID}}{{"\t"}}{{.Image}}{{"\t"}}{{.State.StartedAt}}{{"\t"}}{{.State.Running}}{{"\t"}}{{.Config.Image}}{{"\t"}}{{index .Config.Labels "io.fresh-deploy.revision"}}' "$FD_KNOWN_CID")
  FD_KNOWN_CID=$id
  # FD_CHECK_CSD=yes (the source probe will run): a container-source-dir that the running
  # container lacks is a configuration error, refused before anything changes (the tag below is
  # the first change). Exit 9 from the container: missing; anything else (no sh): verify decides.
  if [ "$FD_KNOWN_RUNNING" = "true" ] && [ "${FD_CHECK_CSD:-}" = "yes" ]; then
    csd_rc=0
    # shellcheck disable=SC2016 # expanded in the container
    docker exec "$id" sh -c '[ -d "$1" ] || exit 9' sh "$FD_CONTAINER_SOURCE_DIR" >/dev/null 2>&1 || csd_rc=$?
    if [ "$csd_rc" = 9 ]; then
      fd_input_error container-source-dir "does not exist in the running container ${id:0:12} of service $FD_SERVICE (checked before the deploy: nothing was changed); $(fd_csd_hint "$id")"
    fi
  fi
  # shellcheck disable=SC2034 # read by predeploy.sh when it runs in the same script
  FD_SNAPSHOT_IMAGE=$image
  fd_out container-id "$id"
  fd_out image-id "$image"
  fd_out started-at "$started"
  fd_out running "$FD_KNOWN_RUNNING"
  fd_out config-image "$config_image"
  fd_out revision "$revision"
  tag=$(fd_previous_tag "$config_image")
  # The tag is made while the purge runs; the rebuild waits for it (fd_tag_wait) before compose.
  docker tag "$image" "$tag" &
  # shellcheck disable=SC2034 # read by fd_tag_wait (lib.sh)
  FD_TAG_PID=$! FD_TAG="$tag"
  fd_out previous-tag "$tag"
  echo "container ${id:0:12} runs image ${image:7:12} (started $started); tagging it $tag"
fi
