# shellcheck shell=bash
# rebuild: builds the service and recreates its container (never a restart), stamped with this
# run's labels through a temporary override file.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_NO_CACHE FD_PULL FD_RENEW_ANON FD_STOP_TIMEOUT
# Out: container-id image-id started-at config-image built-image-id

fd_enter_project
# Compose files may use it, e.g. as a build arg, so that the app can report its revision.
export FRESH_DEPLOY_REVISION="$FD_REF"
override=$(fd_write_override)
trap 'rm -f -- "$override"' EXIT

build_args=()
[ "$FD_NO_CACHE" = "true" ] && build_args+=(--no-cache)
[ "$FD_PULL" = "true" ] && build_args+=(--pull)
if [ "${#build_args[@]}" -gt 0 ]; then
  echo "+ ${FD_COMPOSE[*]} build ${build_args[*]} $FD_SERVICE"
  fd_detached fd_compose --override "$override" build "${build_args[@]}" "$FD_SERVICE" || fd_die "the build of service $FD_SERVICE failed (compose exit $?)"
fi

up_args=(up -d --build --force-recreate --no-deps)
[ "$FD_RENEW_ANON" = "true" ] && up_args+=(--renew-anon-volumes)
[ -n "$FD_STOP_TIMEOUT" ] && up_args+=(--timeout "$FD_STOP_TIMEOUT")
echo "+ ${FD_COMPOSE[*]} ${up_args[*]} $FD_SERVICE"
fd_detached fd_compose --override "$override" "${up_args[@]}" "$FD_SERVICE" || fd_die "compose up of service $FD_SERVICE failed (compose exit $?)"

fd_report_container
