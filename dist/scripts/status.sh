# shellcheck shell=bash
# status: what runs now for the service, read-only (the command line's `status`, and what its
# `rollback` puts back): the container, its labels, image, health, and what the rollback tag holds.
# In: FD_PROJECT_DIR FD_SERVICE (+ compose)
# Out: state (none when there is no container) running health restarts container-id image-id
#      config-image started-at revision-label run-label tag-image-id previous-tag
#      previous-image-id previous-created

fd_enter_project
cid=$(fd_service_cid)
if [ -z "$cid" ]; then
  fd_out state none
  exit 0
fi
state=$(docker inspect --format "$FD_STATE_FORMAT" "$cid") || fd_die "docker inspect of container $cid failed"
IFS=$'\x1f' read -r status running _ _ restarts health id image started config_image run_label rev_label <<<"$state"
fd_out state "$status"
fd_out running "$running"
fd_out health "$health"
fd_out restarts "$restarts"
fd_out container-id "$id"
fd_out image-id "$image"
fd_out config-image "$config_image"
fd_out started-at "$started"
fd_out revision-label "$rev_label"
fd_out run-label "$run_label"
# What the service's image name points to now: another id than the container's means a build
# that was never run (or a tag moved since).
fd_out tag-image-id "$(docker image inspect --format '{{.Id}}' "$config_image" 2>/dev/null || true)"
project=$(docker inspect --format '{{index .Config.Labels "com.docker.compose.project"}}' "$id" 2>/dev/null || true)
[ "$project" != "<no value>" ] && [ -n "$project" ] || project=${FD_PROJECT_NAME:-${FD_RESOLVED_PROJECT:-}}
fd_previous_tag "$project"
tag=$FD_PREV_TAG
fd_out previous-tag "$tag"
if previous=$(docker image inspect --format '{{.Id}}{{"\t"}}{{.Created}}' "$tag" 2>/dev/null); then
  fd_out previous-image-id "${previous%%$'\t'*}"
  fd_out previous-created "${previous#*$'\t'}"
fi
