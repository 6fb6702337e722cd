# shellcheck shell=bash
# rebuild: builds the service and recreates its container (never a restart), stamped with this
# run's labels through a temporary override file.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_NO_CACHE FD_PULL FD_RENEW_ANON FD_STOP_TIMEOUT
# Out: container-id image-id started-at config-image

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
# FD_NO_BUILD: build.sh built the image already (a pre-deploy hook ran in it in between).
if [ "${FD_NO_BUILD:-}" = "true" ]; then
  build_args=()
  up_args=(up -d --no-build --force-recreate --no-deps)
else
  up_args=(up -d --build --force-recreate --no-deps)
fi
[ "$FD_RENEW_ANON" = "true" ] && up_args+=(--renew-anon-volumes)
[ -n "$FD_STOP_TIMEOUT" ] && up_args+=(--timeout "$FD_STOP_TIMEOUT")

# Build and up as one detached unit: were they two, a connection dropped after the build would
# end this script before the up, and the built image would never run.
build_and_up() {
  local rc
  if [ "${#build_args[@]}" -gt 0 ]; then
    echo "+ ${FD_COMPOSE[*]} build ${build_args[*]} $FD_SERVICE"
    fd_compose --override "$override" build "${build_args[@]}" "$FD_SERVICE" || { rc=$?; echo "fresh-deploy: the build of service $FD_SERVICE failed"; return "$rc"; }
  fi
  echo "+ ${FD_COMPOSE[*]} ${up_args[*]} $FD_SERVICE"
  fd_compose --override "$override" "${up_args[@]}" "$FD_SERVICE" || { rc=$?; echo "fresh-deploy: compose up of service $FD_SERVICE failed"; return "$rc"; }
}
fd_detached build_and_up || fd_die "the rebuild of service $FD_SERVICE failed (compose exit $?)"
rm -f -- "$override"
trap - EXIT

fd_report_container
