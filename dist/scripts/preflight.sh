# shellcheck shell=bash
# connect: checks the target before anything changes (read-only), and detects compose.
# In: FD_PROJECT_DIR FD_COMPOSE_CMD(auto|...) FD_COMPOSE_FILES FD_PROJECT_NAME FD_SERVICE FD_SYNC
#     FD_CHECK_SERVICE FD_SOURCE_DIR
# Out: now, project-realpath, compose, compose-version, flock, service-build, git-head

fd_out now "$(fd_now)"
[ -d "$FD_PROJECT_DIR" ] || fd_input_error project-dir "no such directory on the target"
fd_out project-realpath "$(cd -- "$FD_PROJECT_DIR" && pwd -P)"

command -v docker >/dev/null 2>&1 || fd_die "docker is not installed on the target (no docker in PATH=$PATH)"
if ! engine=$(docker version --format '{{.Server.Version}}' 2>&1); then
  printf '%s\n' "$engine" >&2
  fd_die "the Docker engine does not answer on the target (is dockerd running, and may user $(id -un) use it?)"
fi
fd_out engine-version "$engine"

case "$FD_COMPOSE_CMD" in
  auto)
    if version=$(docker compose version --short 2>/dev/null); then
      FD_COMPOSE_CMD="docker compose"
    elif command -v docker-compose >/dev/null 2>&1 && version=$(docker-compose version --short 2>/dev/null); then
      FD_COMPOSE_CMD="docker-compose"
    else
      fd_die "neither 'docker compose' (v2) nor 'docker-compose' (v1) works on the target"
    fi ;;
  "docker compose")
    version=$(docker compose version --short 2>/dev/null) || fd_input_error compose-command "docker compose (v2) does not work on the target" ;;
  docker-compose)
    version=$(docker-compose version --short 2>/dev/null) || fd_input_error compose-command "docker-compose (v1) does not work on the target" ;;
esac
fd_out compose "$FD_COMPOSE_CMD"
fd_out compose-version "$version"

if command -v flock >/dev/null 2>&1; then fd_out flock yes; else fd_out flock no; fi

fd_enter_project
if [ "$FD_SYNC" = "git" ]; then
  command -v git >/dev/null 2>&1 || fd_input_error sync "git is not installed on the target"
  git rev-parse --is-inside-work-tree >/dev/null 2>&1 || fd_input_error sync "project-dir is not a git working tree"
  fd_out git-head "$(git rev-parse HEAD 2>/dev/null || true)"
fi
# With sync: git the compose files may change, so the service is checked after the sync.
if [ "$FD_CHECK_SERVICE" = "1" ]; then fd_service_info; fi
