# shellcheck shell=bash
# rebuild: builds the service and recreates its container (never a restart), stamped with this
# run's labels through a temporary override file.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_NO_CACHE FD_PULL FD_RENEW_ANON FD_STOP_TIMEOUT
# Out: container-id image-id started-at config-image; on a failure: after-failure (see below)

fd_lock_guard rebuild
fd_tag_wait
fd_enter_project
# Compose files may use it, e.g. as a build arg, so that the app can report its revision.
export FRESH_DEPLOY_REVISION="$FD_REF"
override=$(fd_write_override)
trap 'rm -f -- "$override"' EXIT

build_args=()
[ "$FD_NO_CACHE" = "true" ] && build_args+=(--no-cache)
[ "$FD_PULL" = "true" ] && build_args+=(--pull)
up_args=(up -d --build --force-recreate --no-deps)
[ "$FD_RENEW_ANON" = "true" ] && up_args+=(--renew-anon-volumes)
[ -n "$FD_STOP_TIMEOUT" ] && up_args+=(--timeout "$FD_STOP_TIMEOUT")

# After a failed build or up: is a container of the service still running? The runner rolls
# back when none is (the up got as far as removing the old one), and says the old one still
# runs otherwise. "after-failure running|stopped|none CID"; nothing when the engine does not
# answer (then nobody knows, and nothing is rolled back).
after_failure() {
  local cid state
  fd_engine_wait $(( $(date +%s) + 20 )) || return 0
  cid=$(fd_service_cid)
  if [ -z "$cid" ]; then fd_out after-failure none; return 0; fi
  state=$(docker inspect --format '{{.State.Running}} {{.State.Restarting}} {{.Id}}' "$cid" 2>/dev/null) || return 0
  case "$state" in
    "true false "*) fd_out after-failure "running ${state##* }" ;;
    *) fd_out after-failure "stopped ${state##* }" ;;
  esac
}

# Build and up as one detached unit: were they two, a connection dropped after the build would
# end this script before the up, and the built image would never run. The unit removes the
# override when it ends (the script may be gone by then).
fd_compose_argv "$override"
steps=()
[ "${#build_args[@]}" -gt 0 ] && steps+=("${FD_ARGV[@]}" build "${build_args[@]}" "$FD_SERVICE" --fd-then)
steps+=("${FD_ARGV[@]}" "${up_args[@]}" "$FD_SERVICE")
trap - EXIT
fd_detached --rm "$override" "${steps[@]}" || { rc=$?; after_failure; fd_die "the rebuild of service $FD_SERVICE failed (compose exit $rc)"; }

fd_report_container
