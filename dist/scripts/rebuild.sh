# shellcheck shell=bash
# rebuild: builds the service and recreates its container (never a restart), stamped with this
# run's labels through a temporary override file.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_NO_CACHE FD_PULL FD_RENEW_ANON FD_STOP_TIMEOUT
#     FD_SERVICE_DEPS ("NAME:CONDITION:REQUIRED ..." from compose config; FD_SERVICE_DEPS_KNOWN=yes
#     when read, else read here) FD_HEALTH_TIMEOUT
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
[ "$FD_NO_CACHE" = "true" ] && [ "${FD_NO_BUILD:-}" != "true" ] && fd_prune_context_cache
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

start_dependencies


# The container about to be replaced, and its volumes: with --renew-anon-volumes its anonymous
# volumes are left behind by compose (one per VOLUME per deploy, which `down -v` no longer
# finds); they are removed once the new container is up.
old_cid=""
old_volumes=""
if [ "$FD_RENEW_ANON" = "true" ]; then
  if [ "${FD_KNOWN_CID_SET:-}" = "yes" ]; then old_cid=$FD_KNOWN_CID; else old_cid=$(fd_service_cid); fi
  [ -z "$old_cid" ] || old_volumes=$(docker inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' "$old_cid" 2>/dev/null || true)
fi

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

# The running container lacks container-source-dir (snapshot.sh): build on its own, check the
# new image (a one-off container with the service's mounts) and refuse before the switch when it
# lacks it too; the up below then uses what was built. (With a pre-deploy hook, build.sh did it.)
if [ "${FD_CSD_MISSING:-}" = "yes" ] && [ "${FD_NO_BUILD:-}" != "true" ]; then
  echo "+ ${FD_COMPOSE[*]} build ${build_args[*]} $FD_SERVICE (before the check of container-source-dir)"
  fd_compose_argv "$override"
  fd_detached "${FD_ARGV[@]}" build ${build_args[@]+"${build_args[@]}"} "$FD_SERVICE" \
    || { rc=$?; after_failure; fd_die "the build of service $FD_SERVICE failed (compose exit $rc); its running container was not touched"; }
  build_args=()
  up_args[2]=--no-build
  fd_csd_check_new_image "$override"
fi

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

# Only what docker made for a VOLUME or an anonymous compose volume: a 64-hex name, no compose
# volume label and no label but docker's own "anonymous" one (a volume someone labelled, or
# named in the compose files, is not), and no container left that uses it.
remove_anonymous_volumes() {
  local v labels removed=0
  for v in $old_volumes; do
    [[ "$v" =~ ^[0-9a-f]{64}$ ]] || continue
    labels=$(docker volume inspect --format '{{range $k, $_ := .Labels}}{{$k}} {{end}}' "$v" 2>/dev/null) || continue
    [ -z "${labels//com.docker.volume.anonymous /}" ] || continue
    if grep -qsF -- "$v" "${FD_FILES[@]}"; then continue; fi
    [ -z "$(docker ps -a -q --filter "volume=$v")" ] || continue
    if docker volume rm -- "$v" >/dev/null 2>&1; then removed=$((removed + 1)); else echo "fresh-deploy: warning: could not remove anonymous volume $v of the replaced container" >&2; fi
  done
  [ "$removed" = 0 ] || echo "removed $removed anonymous volume(s) of the replaced container ${old_cid:0:12} (renew-anon-volumes)"
}
[ -z "$old_volumes" ] || [ "$old_cid" = "$FD_CID" ] || remove_anonymous_volumes
