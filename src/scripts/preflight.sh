# shellcheck shell=bash
# connect: checks the target before anything changes (read-only), and detects compose.
# In: FD_PROJECT_DIR FD_COMPOSE_CMD(auto|...) FD_COMPOSE_FILES FD_PROJECT_NAME FD_SERVICE FD_SYNC
#     FD_CHECK_SERVICE FD_SOURCE_DIR
# Out: now, project-realpath, compose, compose-version, flock, service-build, git-head
# Sets FD_COMPOSE_CMD (detected) and FD_HAVE_FLOCK for a lock.sh that runs in the same script.

fd_out now "$(fd_now)"
[ -d "$FD_PROJECT_DIR" ] || fd_input_error project-dir "no such directory on the target"
fd_out project-realpath "$(cd -- "$FD_PROJECT_DIR" && pwd -P)"

command -v docker >/dev/null 2>&1 || fd_die "docker is not installed on the target (no docker in PATH=$PATH)"
fd_enter_project

# Each docker CLI call costs 20-100 ms (compose v2 reads every compose file): the engine check,
# the v2 probe and, when v2 is the one to use, its compose config run side by side.
pf=$(mktemp -d "${TMPDIR:-/tmp}/fresh-deploy-preflight.XXXXXX")
trap 'rm -rf -- "$pf"' EXIT
config_of() {
  local files=() f
  for f in "${FD_FILES[@]}"; do files+=(-f "$f"); done
  [ -z "${FD_PROJECT_NAME:-}" ] || files+=(-p "$FD_PROJECT_NAME")
  local rc=0
  "$@" "${files[@]}" config >"$pf/config" 2>&1 || rc=$?
  echo "$rc" >"$pf/config.rc"
}
# v2's version from its plugin binary, found where the docker CLI looks for it (~35 ms; through
# `docker compose` ~90 ms, as the CLI runs the plugin twice). Detection itself goes through
# `docker compose` (its config, or its version when no config is asked for).
v2_version() {
  local d
  for d in "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
    if [ -x "$d/docker-compose" ]; then "$d/docker-compose" version --short; return; fi
  done
  docker compose version --short
}
docker version --format '{{.Server.Version}}' >"$pf/engine" 2>&1 &
engine_pid=$!
v2_pid=""
version_pid=""
if [ "$FD_COMPOSE_CMD" != "docker-compose" ]; then
  if [ "$FD_CHECK_SERVICE" = "1" ]; then
    v2_version >"$pf/v2" 2>/dev/null &
    version_pid=$!
    config_of docker compose &
    v2_pid=$!
  else
    docker compose version --short >"$pf/v2" 2>/dev/null &
    v2_pid=$!
  fi
fi
if ! wait "$engine_pid"; then
  cat -- "$pf/engine" >&2
  fd_die "the Docker engine does not answer on the target (is dockerd running, and may user $(id -un) use it?)"
fi
fd_out engine-version "$(cat -- "$pf/engine")"

# v2 works when its config (or, without one, its version) succeeded. A failed config may still
# be v2's: `docker compose version` tells a broken compose file from a missing v2.
v2_ok=no
if [ -n "$v2_pid" ]; then
  wait "$v2_pid" || true
  [ -z "$version_pid" ] || wait "$version_pid" || true
  if [ "$FD_CHECK_SERVICE" != "1" ]; then
    [ ! -s "$pf/v2" ] || v2_ok=yes
  elif [ "$(cat -- "$pf/config.rc")" = 0 ] || docker compose version --short >/dev/null 2>&1; then
    v2_ok=yes
  fi
fi
case "$FD_COMPOSE_CMD" in
  auto)
    if [ "$v2_ok" = yes ]; then
      FD_COMPOSE_CMD="docker compose"
      version=$(cat -- "$pf/v2")
      [ -n "$version" ] || version=unknown
    elif command -v docker-compose >/dev/null 2>&1 && version=$(docker-compose version --short 2>/dev/null); then
      FD_COMPOSE_CMD="docker-compose"
    else
      fd_die "neither 'docker compose' (v2) nor 'docker-compose' (v1) works on the target"
    fi ;;
  "docker compose")
    [ "$v2_ok" = yes ] || fd_input_error compose-command "docker compose (v2) does not work on the target"
    version=$(cat -- "$pf/v2")
    [ -n "$version" ] || version=unknown ;;
  docker-compose)
    version=$(docker-compose version --short 2>/dev/null) || fd_input_error compose-command "docker-compose (v1) does not work on the target" ;;
esac
read -r -a FD_COMPOSE <<<"$FD_COMPOSE_CMD"
fd_out compose "$FD_COMPOSE_CMD"
fd_out compose-version "$version"

if command -v flock >/dev/null 2>&1; then FD_HAVE_FLOCK=yes; else FD_HAVE_FLOCK=no; fi
fd_out flock "$FD_HAVE_FLOCK"

if [ "$FD_SYNC" = "git" ]; then
  command -v git >/dev/null 2>&1 || fd_input_error sync "git is not installed on the target"
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || fd_input_error sync "project-dir is not a git working tree"
  fd_out git-head "$(git rev-parse HEAD 2>/dev/null || true)"
fi
# With sync: git the compose files may change, so the service is checked after the sync.
if [ "$FD_CHECK_SERVICE" = "1" ]; then
  if [ "$FD_COMPOSE_CMD" != "docker compose" ] || [ ! -f "$pf/config.rc" ]; then config_of "${FD_COMPOSE[@]}"; fi
  if [ "$(cat -- "$pf/config.rc")" != 0 ]; then
    cat -- "$pf/config" >&2
    fd_die "compose config failed for the files in $(pwd)"
  fi
  fd_service_info "$(cat -- "$pf/config")"
fi
rm -rf -- "$pf"
trap - EXIT
