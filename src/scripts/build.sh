# shellcheck shell=bash
# build (before a pre-deploy hook): builds the service's image and leaves its running container
# alone, so that the hook runs in the new image while the old container still serves.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_NO_CACHE FD_PULL
# Out: built-image-id

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
[ "$FD_NO_CACHE" = "true" ] && fd_prune_context_cache
echo "+ ${FD_COMPOSE[*]} build ${build_args[*]} $FD_SERVICE"
fd_compose_argv "$override"
fd_detached --rm "$override" "${FD_ARGV[@]}" build ${build_args[@]+"${build_args[@]}"} "$FD_SERVICE" \
  || fd_die "the build of service $FD_SERVICE failed (compose exit $?); its running container was not touched"
# Before the hook (a migration must not run for a deploy that is refused): see rebuild.sh.
[ "${FD_CSD_MISSING:-}" != "yes" ] || fd_csd_check_new_image "$override"
rm -f -- "$override"
trap - EXIT
# The hook runs with --no-deps: what it needs (the database) must be up before it.
start_dependencies
