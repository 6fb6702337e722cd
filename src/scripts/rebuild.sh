# shellcheck shell=bash
# rebuild: builds the service and recreates its container (never a restart), stamped with this
# run's labels through a temporary override file.
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_NO_CACHE FD_PULL FD_RENEW_ANON FD_STOP_TIMEOUT
#     FD_SERVICE_DEPS ("NAME:CONDITION:REQUIRED ..." from compose config; FD_SERVICE_DEPS_KNOWN=yes
#     when read, else read here) FD_HEALTH_TIMEOUT
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
up_args=(up -d --build --force-recreate --no-deps)
[ "$FD_RENEW_ANON" = "true" ] && up_args+=(--renew-anon-volumes)
[ -n "$FD_STOP_TIMEOUT" ] && up_args+=(--timeout "$FD_STOP_TIMEOUT")

# The service's dependencies: `up --no-deps` below never starts them, so a first deploy (or one
# after a dependency stopped) would start the service without its database. Those not running
# are started with --no-recreate (compose starts their own dependencies the same way; a running
# container is never recreated); then each must meet its depends_on condition, as compose's own
# `up` would require. One that does not is an error naming it, before the service is touched.
start_dependencies() {
  local deps=() dep name condition required cid state stopped=() result
  if [ "${FD_SERVICE_DEPS_KNOWN:-}" != "yes" ]; then
    FD_SERVICE_DEPS=$(fd_service_info | sed -n 's/^@@fd service-deps //p')
  fi
  read -r -a deps <<<"${FD_SERVICE_DEPS:-}"
  [ "${#deps[@]}" -gt 0 ] || return 0
  for dep in "${deps[@]}"; do
    name=${dep%%:*}
    cid=$(fd_service_cid "$name")
    state=""
    [ -z "$cid" ] || state=$(docker inspect --format '{{.State.Status}}' "$cid" 2>/dev/null || true)
    case $state in running | restarting) ;; *) stopped+=("$name") ;; esac
  done
  if [ "${#stopped[@]}" -gt 0 ]; then
    echo "+ ${FD_COMPOSE[*]} up -d --no-recreate ${stopped[*]} (dependencies of $FD_SERVICE that are not running)"
    fd_detached fd_compose up -d --no-recreate "${stopped[@]}" ||
      fd_die "could not start ${stopped[*]}, the dependencies of service $FD_SERVICE that were not running (compose exit $?); see compose's output above"
  fi
  for dep in "${deps[@]}"; do
    IFS=: read -r name condition required <<<"$dep"
    cid=$(fd_service_cid "$name")
    result=""
    if [ -z "$cid" ]; then
      result="it has no container"
    else
      case $condition in
        service_healthy)
          # Healthy; without a healthcheck, one started just now must run steadily for 5 s
          # (fd_wait_health), one that was running already is taken as it is.
          if [[ " ${stopped[*]} " == *" $name "* ]] ||
            [ "$(docker inspect --format '{{if .State.Health}}yes{{end}}' "$cid" 2>/dev/null)" = yes ]; then
            result=$(fd_wait_health "$cid" "$FD_HEALTH_TIMEOUT" | sed -n 's/^@@fd health //p')
            case $result in pass*) result="" ;; *) result=${result#fail } ;; esac
          else
            result=$(running_or_done "$cid")
          fi ;;
        service_started) result=$(running_or_done "$cid") ;;
        service_completed_successfully) result=$(wait_completed "$cid") ;;
        *) echo "fresh-deploy: dependency $name has depends_on condition $condition, which fresh-deploy does not know; not waited for" >&2 ;;
      esac
    fi
    if [ -z "$result" ]; then echo "dependency $name: $condition"; continue; fi
    if [ "$required" = "false" ]; then
      echo "fresh-deploy: warning: the optional dependency $name of service $FD_SERVICE did not come up ($condition): $result" >&2
    else
      fd_die "dependency $name of service $FD_SERVICE did not come up (depends_on condition $condition): $result; see '${FD_COMPOSE[*]} logs $name' on the target"
    fi
  done
}
# Started is all that compose asks of service_started: running, or a task that finished with 0.
running_or_done() {
  local status
  status=$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$1" 2>/dev/null || echo gone)
  case $status in
    "running "* | "restarting "* | "exited 0") ;;
    gone) echo "its container is gone" ;;
    *) echo "its container is ${status% *} (exit code ${status#* })" ;;
  esac
}
# Prints why the container did not exit 0 within health-timeout; nothing when it did.
wait_completed() {
  local deadline status
  deadline=$(( $(date +%s) + FD_HEALTH_TIMEOUT ))
  while :; do
    status=$(docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$1" 2>/dev/null || echo gone)
    case $status in
      "exited 0") return 0 ;;
      exited* | dead*) echo "it exited with code ${status#* }"; return 0 ;;
      gone) echo "its container is gone"; return 0 ;;
    esac
    [ "$(date +%s)" -le "$deadline" ] || { echo "it did not finish within $FD_HEALTH_TIMEOUT s (health-timeout)"; return 0; }
    sleep 0.2
  done
}
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
