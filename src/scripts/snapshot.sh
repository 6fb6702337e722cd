# shellcheck shell=bash
# snapshot: records the running service container and keeps its image for rollback, under a tag
# of fresh-deploy's own keyed by compose project and service (fd_previous_tag): never a tag the
# user owns, and two projects sharing an image name never roll back to each other's image.
# Only the image of a container that runs (and is healthy, where it has a healthcheck) becomes
# the rollback target; else the earlier target stays, so that a broken deploy never does.
# In: FD_PROJECT_DIR FD_SERVICE FD_CHECK_CSD FD_CONTAINER_SOURCE_DIR FD_SOURCE_DIR
#     FD_SOURCE_IN_CONTEXT (+ compose vars)
# Out: container-id, image-id, started-at, running, config-image, revision, and the rollback
#   target: previous-tag, previous-image, previous-revision (none when there is no target),
#   previous-kept REASON when the earlier target was kept
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
  # {{.ID}}, not {{.Id}}: only the typed inspect result lets a missing .State.Health be empty.
  IFS=$'\t' read -r id image started FD_KNOWN_RUNNING restarting status exitcode health config_image revision project < <(docker inspect --format \
    '{{.ID}}{{"\t"}}{{.Image}}{{"\t"}}{{.State.StartedAt}}{{"\t"}}{{.State.Running}}{{"\t"}}{{.State.Restarting}}{{"\t"}}{{.State.Status}}{{"\t"}}{{.State.ExitCode}}{{"\t"}}{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}{{"\t"}}{{.Config.Image}}{{"\t"}}{{index .Config.Labels "io.fresh-deploy.revision"}}{{"\t"}}{{index .Config.Labels "com.docker.compose.project"}}' "$FD_KNOWN_CID")
  [ "$revision" != "<no value>" ] || revision=""
  [ "$project" != "<no value>" ] && [ -n "$project" ] || project=${FD_PROJECT_NAME:-${FD_RESOLVED_PROJECT:-}}
  FD_KNOWN_CID=$id
  # FD_CHECK_CSD=yes (the source probe will run): a container-source-dir that the running
  # container lacks may be where the new image puts the source (the Dockerfile changed with
  # it), so it is not refused here: rebuild.sh builds first and checks the new image before the
  # running container is touched (FD_CSD_MISSING). Exit 9 from the container: missing; anything
  # else (no sh): verify decides.
  # shellcheck disable=SC2034 # read by rebuild.sh in the same script
  FD_CSD_MISSING=""
  if [ "$FD_KNOWN_RUNNING" = "true" ] && [ "${FD_CHECK_CSD:-}" = "yes" ]; then
    csd_rc=0
    # shellcheck disable=SC2016 # expanded in the container
    docker exec "$id" sh -c '[ -d "$1" ] || exit 9' sh "$FD_CONTAINER_SOURCE_DIR" >/dev/null 2>&1 || csd_rc=$?
    if [ "$csd_rc" = 9 ]; then
      # shellcheck disable=SC2034 # read by rebuild.sh in the same script
      FD_CSD_MISSING=yes
      echo "container-source-dir $FD_CONTAINER_SOURCE_DIR does not exist in the running container ${id:0:12}: the new image is checked for it before the running container is touched"
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
  fd_previous_tag "$project"
  if [ "$FD_KNOWN_RUNNING" = "true" ] && [ "$restarting" != "true" ] && { [ "$health" = "healthy" ] || [ "$health" = "none" ]; }; then
    # The tag is made while the purge runs; the rebuild waits for it (fd_tag_wait) before compose.
    docker tag "$image" "$FD_PREV_TAG" &
    # shellcheck disable=SC2034 # read by fd_tag_wait (lib.sh)
    FD_TAG_PID=$! FD_TAG="$FD_PREV_TAG"
    fd_previous_record "$image" "$revision"
    fd_out previous-tag "$FD_PREV_TAG"
    fd_out previous-image "$image"
    fd_out previous-revision "$revision"
    echo "container ${id:0:12} runs image ${image:7:12} (started $started); tagging it $FD_PREV_TAG"
  else
    if [ "$restarting" = "true" ]; then why="is restarting"
    elif [ "$FD_KNOWN_RUNNING" != "true" ]; then why="is $status (exit code $exitcode)"
    else why="is $health"
    fi
    why="container ${id:0:12} $why: its image is no rollback target"
    if prev=$(docker image inspect --format '{{.Id}}' "$FD_PREV_TAG" 2>/dev/null); then
      fd_out previous-tag "$FD_PREV_TAG"
      fd_out previous-image "$prev"
      fd_out previous-revision "$(fd_previous_revision "$prev")"
      fd_out previous-kept "$why; the earlier target $FD_PREV_TAG stays"
    else
      fd_out previous-kept "$why, and there is no earlier one"
    fi
    echo "$why"
  fi
fi
