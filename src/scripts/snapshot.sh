# shellcheck shell=bash
# snapshot: records the running service container and tags its image for rollback.
# In: FD_PROJECT_DIR FD_SERVICE (+ compose vars)
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
  fd_out container-id "$id"
  fd_out image-id "$image"
  fd_out started-at "$started"
  fd_out running "$FD_KNOWN_RUNNING"
  fd_out config-image "$config_image"
  fd_out revision "$revision"
  # The repository part of the image name: strip a digest or a tag (a ':' after the last '/').
  repo=${config_image%%@*}
  last=${repo##*/}
  case "$last" in *:*) repo=${repo%:*} ;; esac
  # The tag is made while the purge runs; the rebuild waits for it (fd_tag_wait) before compose.
  docker tag "$image" "$repo:fresh-deploy-previous" &
  # shellcheck disable=SC2034 # read by fd_tag_wait (lib.sh)
  FD_TAG_PID=$! FD_TAG="$repo:fresh-deploy-previous"
  fd_out previous-tag "$repo:fresh-deploy-previous"
  echo "container ${id:0:12} runs image ${image:7:12} (started $started); tagging it $repo:fresh-deploy-previous"
fi
