# shellcheck shell=bash
# connect: checks the target before anything changes (read-only), and detects compose.
# In: FD_PROJECT_DIR FD_COMPOSE_CMD(auto|...) FD_COMPOSE_FILES FD_PROJECT_NAME FD_SERVICE FD_SYNC
#     FD_CHECK_SERVICE FD_SOURCE_DIR
# Out: now, project-realpath, compose, compose-version, flock, service-build, git-head,
#      source-in-context, dockerignore (fd_source_info: a missing source-dir is refused here)
# Sets FD_COMPOSE_CMD (detected) and FD_HAVE_FLOCK for a lock.sh that runs in the same script.

fd_out now "$(fd_now)"
[ -d "$FD_PROJECT_DIR" ] || fd_input_error project-dir "no such directory on the target"
fd_out project-realpath "$(cd -- "$FD_PROJECT_DIR" && pwd -P)"

command -v docker >/dev/null 2>&1 || fd_die "docker is not installed on the target (no docker in PATH=$PATH)"
# With sync: git the compose files are checked after the sync (sync.sh), against ref's tree.
if [ "$FD_SYNC" = "git" ]; then fd_enter_dir; else fd_enter_project; fi

# Each docker CLI call costs 20-100 ms (compose v2 reads every compose file): the engine check,
# v2's version and, when the service is to be checked, v2's compose config run side by side.
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
# v2's plugin binary, where the docker CLI looks for it. Run directly it answers in ~35 ms
# (version) and ~50 ms (config); through `docker compose` ~90 and ~110 ms, as the CLI runs the
# plugin twice.
v2_plugin=""
for d in "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
  if [ -x "$d/docker-compose" ]; then v2_plugin=$d/docker-compose; break; fi
done
v2=(docker compose)
[ -z "$v2_plugin" ] || v2=("$v2_plugin")
docker version --format '{{.Server.Version}}' >"$pf/engine" 2>&1 &
engine_pid=$!
v2_pid=""
version_pid=""
if [ "$FD_COMPOSE_CMD" != "docker-compose" ]; then
  "${v2[@]}" version --short >"$pf/v2" 2>/dev/null &
  version_pid=$!
  if [ "$FD_CHECK_SERVICE" = "1" ]; then
    config_of "${v2[@]}" &
    v2_pid=$!
  fi
fi
if ! wait "$engine_pid"; then
  cat -- "$pf/engine" >&2
  fd_die "the Docker engine does not answer on the target (is dockerd running, and may user $(id -un) use it?)"
fi
fd_out engine-version "$(cat -- "$pf/engine")"

# v2 works when its version or its config succeeded (a broken compose file fails the config
# of a working v2, and is reported below as such).
v2_ok=no
if [ -n "$version_pid" ]; then
  wait "$version_pid" || true
  [ -z "$v2_pid" ] || wait "$v2_pid" || true
  if [ -s "$pf/v2" ] || { [ -n "$v2_pid" ] && [ "$(cat -- "$pf/config.rc")" = 0 ]; }; then v2_ok=yes; fi
  # A v1 docker-compose copied into a plugin directory is no plugin: the CLI would not run it.
  case $(cat -- "$pf/v2") in 1.* | v1.*) v2_ok=no ;; esac
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
