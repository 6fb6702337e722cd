# shellcheck shell=bash
# Common helpers, sent ahead of every step script that fresh-deploy runs on the target
# (`bash -s`, script on stdin). The runner defines the FD_* variables above this file as
# single-quoted data; nothing here evaluates them as code.
#
# Protocol: lines "@@fd KEY VALUE" on stdout are results for the runner; everything else is log.
set -euo pipefail
umask 077

fd_out() { printf '@@fd %s %s\n' "$1" "${2-}"; }

# An input that the target shows to be wrong (missing dir, unknown service): exit 2.
fd_input_error() {
  fd_out input-error "$1 $2"
  exit 2
}

fd_die() {
  printf 'fresh-deploy: %s\n' "$*" >&2
  exit 3
}

fd_now() { date +%s.%N; }

# The rollback tag that snapshot.sh makes in the background: done, or the deploy stops here.
FD_TAG_PID=""
FD_TAG=""
fd_tag_wait() {
  [ -n "$FD_TAG_PID" ] || return 0
  wait "$FD_TAG_PID" || fd_die "could not tag the running image as $FD_TAG for a rollback"
  FD_TAG_PID=""
}

# Steps that run after the lock, in a script of their own, check that its holder (FD_LOCK_PID,
# the lock script's shell) still lives: if it is gone, another deploy may hold the lock now.
fd_lock_guard() {
  if [ -n "${FD_LOCK_PID:-}" ] && ! kill -0 "$FD_LOCK_PID" 2>/dev/null; then
    fd_out lock-lost "$1"
    exit 6
  fi
}

# Compose files: the ones given, else compose's own default file (+ its override file).
# Resolved here because our temporary label override is passed with -f, and any -f turns
# compose's default lookup off.
FD_FILES=()
fd_resolve_files() {
  local f
  FD_FILES=()
  if [ -n "${FD_COMPOSE_FILES:-}" ]; then
    while IFS= read -r f; do
      [ -n "$f" ] || continue
      [ -f "$f" ] || fd_input_error compose-files "$f: no such file in project-dir $(pwd)"
      FD_FILES+=("$f")
    done <<<"$FD_COMPOSE_FILES"
    return 0
  fi
  for f in compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do
    if [ -f "$f" ]; then FD_FILES+=("$f"); break; fi
  done
  [ "${#FD_FILES[@]}" -gt 0 ] || fd_input_error compose-files "no compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in project-dir $(pwd)"
  for f in compose.override.yaml compose.override.yml docker-compose.override.yaml docker-compose.override.yml; do
    if [ -f "$f" ]; then FD_FILES+=("$f"); break; fi
  done
}

# fd_compose [extra -f file] -- compose args...
FD_COMPOSE=()
fd_compose() {
  local args=() f
  for f in "${FD_FILES[@]}"; do args+=(-f "$f"); done
  if [ "${1-}" = "--override" ]; then args+=(-f "$2"); shift 2; fi
  if [ -n "${FD_PROJECT_NAME:-}" ]; then args+=(-p "$FD_PROJECT_NAME"); fi
  "${FD_COMPOSE[@]}" "${args[@]}" "$@"
}

fd_enter_project() {
  cd -- "$FD_PROJECT_DIR" 2>/dev/null || fd_input_error project-dir "no such directory on the target"
  read -r -a FD_COMPOSE <<<"${FD_COMPOSE_CMD:-docker compose}"
  fd_resolve_files
}

# The service's container id (running or not); empty when there is none. With the project
# name known (compose-project-name, or the name compose config reported at preflight), docker
# finds it by compose's own labels in ~20 ms; compose ps reads every compose file first (~150 ms
# for v2, ~1 s for the python v1). One-off `compose run` containers are not the service's.
fd_service_cid() {
  local ids project=${FD_PROJECT_NAME:-${FD_RESOLVED_PROJECT:-}}
  if [ -n "$project" ]; then
    ids=$(docker ps -a -q --no-trunc --filter "label=com.docker.compose.project=$project" \
      --filter "label=com.docker.compose.service=$FD_SERVICE" --filter "label=com.docker.compose.oneoff=False" 2>/dev/null || true)
  elif [ "${FD_COMPOSE[0]}" = "docker-compose" ]; then
    ids=$(fd_compose ps -q "$FD_SERVICE" 2>/dev/null || true)
  else
    ids=$(fd_compose ps -a -q "$FD_SERVICE" 2>/dev/null || true)
  fi
  printf '%s\n' "$ids" | sed -n '1p'
}

# Writes the label override file and prints its path. Values arrive as JSON strings, which
# YAML reads as double-quoted scalars, so no value can break out of its field.
fd_write_override() {
  local file
  file=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-override.XXXXXX")
  printf '%s\n' "$FD_OVERRIDE_YAML" >"$file"
  chmod 0644 "$file"
  printf '%s' "$file"
}

# Reports whether the service is defined in the compose files, and whether it has build:.
# $1: the output of compose config (read here when not given).
fd_service_info() {
  local config info
  if [ $# -gt 0 ]; then
    config=$1
  else
    config=$(fd_compose config 2>&1) || { printf '%s\n' "$config" >&2; fd_die "compose config failed for the files in $(pwd)"; }
  fi
  info=$(printf '%s\n' "$config" | awk -v svc="$FD_SERVICE" '
    /^services:/ { in_services = 1; next }
    in_services && /^[^ ]/ { in_services = 0 }
    in_services && /^  [^ ]/ {
      cur = $0; sub(/^  /, "", cur); sub(/:[[:space:]]*$/, "", cur); gsub(/["\047]/, "", cur)
      if (cur == svc) found = 1
      next
    }
    in_services && cur == svc && /^    build:/ { build = 1 }
    END { printf "%s %s\n", (found ? "yes" : "no"), (build ? "yes" : "no") }')
  if [ "${info%% *}" != "yes" ]; then
    fd_input_error service "not defined in $(IFS=,; printf '%s' "${FD_FILES[*]}") (services: $(fd_compose config --services 2>/dev/null | tr '\n' ' '))"
  fi
  fd_out service-build "${info##* }"
  # compose v2 prints the project's name first; later steps look containers up by it.
  fd_out project-name "$(printf '%s\n' "$config" | sed -n '1s/^name: *"\{0,1\}\([a-z0-9_-]*\)"\{0,1\} *$/\1/p')"
}

# Whether the Docker engine answers. While the engine restarts, every docker command fails;
# that must not be taken for "the container is gone" (which would roll back a good deploy).
fd_engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Waits until the engine answers again, or fails once the epoch second $1 has passed.
fd_engine_wait() {
  local deadline=$1
  until fd_engine_up; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 1
  done
}

# Waits for the container to be healthy (healthcheck) or stably running (no healthcheck).
# Prints "@@fd health pass|fail DETAIL". Leaves the last inspect in FD_STATE (FD_STATE_FORMAT's
# fields, separated by \x1f, which unlike a tab keeps empty fields apart): on a pass, the container's facts as of the moment it was healthy,
# so that verify needs no second inspect.
# shellcheck disable=SC2016 # a Go template for docker, not shell
FD_STATE_FORMAT='{{.State.Status}}{{"\x1f"}}{{.State.Running}}{{"\x1f"}}{{.State.Restarting}}{{"\x1f"}}{{.State.ExitCode}}{{"\x1f"}}{{.RestartCount}}{{"\x1f"}}{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}{{"\x1f"}}{{.Id}}{{"\x1f"}}{{.Image}}{{"\x1f"}}{{.State.StartedAt}}{{"\x1f"}}{{.Config.Image}}{{"\x1f"}}{{index .Config.Labels "io.fresh-deploy.run"}}{{"\x1f"}}{{index .Config.Labels "io.fresh-deploy.revision"}}'
# shellcheck disable=SC2034 # read by verify.sh
FD_STATE=""
fd_wait_health() {
  local cid=$1 timeout=$2 deadline state status running restarting exitcode restarts health stable_since=""
  deadline=$(( $(date +%s) + timeout ))
  FD_STATE=""
  while :; do
    if ! state=$(docker inspect --format "$FD_STATE_FORMAT" "$cid" 2>/dev/null); then
      FD_STATE=""
      if fd_engine_up; then fd_out health "fail container $cid no longer exists"; return 0; fi
      echo "the Docker engine does not answer; waiting for it (up to health-timeout)" >&2
      fd_engine_wait "$deadline" || { fd_out health "fail the Docker engine did not answer within ${timeout} s"; return 0; }
      stable_since=""
      continue
    fi
    # shellcheck disable=SC2034 # read by verify.sh
    FD_STATE=$state
    IFS=$'\x1f' read -r status running restarting exitcode restarts health _ <<<"$state"
    if [ "$running" != "true" ] && [ "$restarting" != "true" ]; then
      fd_out health "fail container is $status (exit code $exitcode, restarts $restarts)"
      return 0
    fi
    if [ "$health" = "healthy" ]; then fd_out health "pass healthy"; return 0; fi
    if [ "$health" = "unhealthy" ]; then fd_out health "fail healthcheck reports unhealthy"; return 0; fi
    if [ "$health" = "none" ] && [ "$running" = "true" ] && [ "$restarting" != "true" ]; then
      # No healthcheck: running, and the restart count must not grow for 5 s.
      if [ -z "$stable_since" ]; then stable_since=$(date +%s); first_restarts=$restarts; fi
      if [ "$restarts" != "$first_restarts" ]; then stable_since=""; fi
      if [ -n "$stable_since" ] && [ $(( $(date +%s) - stable_since )) -ge 5 ]; then
        fd_out health "pass running, restart count $restarts steady for 5 s"
        return 0
      fi
    else
      stable_since=""
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fd_out health "fail not healthy within ${timeout} s (status $status, health $health, restarts $restarts)"
      return 0
    fi
    # docker inspect is cheap (~20 ms): a finer poll finds the healthy container sooner.
    sleep 0.05
  done
}

# Runs long compose commands as one detached unit, with their output in a file that is
# streamed to the runner, so a dropped connection cannot kill them half-way (a write to a dead
# pipe would): the container is recreated all the same, and the next deploy finds a running
# service. The unit runs in its own session (setsid; else its own process group), so that
# cancelling the job on the local transport (a signal to the runner's process group) does not
# stop compose mid-recreate either.
# While it runs, the unit holds the project's "busy" lock (lock.sh waits for it): once the
# connection is gone the deploy lock is released, but the next deploy must not run compose on
# the same project before this one has finished.
# Usage: fd_detached [--rm FILE] CMD ARGS... [--fd-then CMD ARGS...]...: each command after the
# previous one succeeded; FILE (a temporary file the commands read) is removed when the unit ends.
# Commands, not shell functions: the unit is a new bash (setsid needs a program), which runs
# the fixed script FD_UNIT_SH with the commands as data.
# shellcheck disable=SC2016 # the unit's own script: expanded by the unit, not here
FD_UNIT_SH='set -u
busy=$1 log=$2 rmfile=$3
shift 3
if [ -n "$busy" ]; then exec 8>>"$busy"; flock 8; fi
rc=0 cmd=()
for a in "$@" --fd-then; do
  if [ "$a" != --fd-then ]; then cmd+=("$a"); continue; fi
  if [ "${#cmd[@]}" -gt 0 ]; then
    printf "+ %s\n" "${cmd[*]}"
    "${cmd[@]}" || { rc=$?; break; }
  fi
  cmd=()
done
# The follower reads the log through a descriptor it opened before the unit started.
rm -f -- "$log" ${rmfile:+"$rmfile"}
exit "$rc"'
fd_detached() {
  local log pid rc=0 busy="" rmfile=""
  if [ "${1-}" = "--rm" ]; then rmfile=$2; shift 2; fi
  if command -v flock >/dev/null 2>&1; then
    mkdir -p -- "${TMPDIR:-/tmp}/fresh-deploy-locks"
    busy="${TMPDIR:-/tmp}/fresh-deploy-locks/$(printf '%s\n%s' "$(pwd -P)" "${FD_PROJECT_NAME:-}" | sha256sum | cut -c1-16).busy"
  fi
  log=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-log.XXXXXX")
  # Opened before the unit starts, so that its output is read even once the unit removed the file.
  exec 7<"$log"
  if command -v setsid >/dev/null 2>&1; then
    # Not a process group leader (a background job of a shell without job control), so setsid
    # makes the new session in place, without a fork: $! is the unit.
    # shellcheck disable=SC2094 # the unit gets the log's name to remove it, never reads it
    setsid bash -c "$FD_UNIT_SH" fd-unit "$busy" "$log" "$rmfile" "$@" >>"$log" 2>&1 </dev/null &
    pid=$!
  else
    set -m
    # shellcheck disable=SC2094 # as above
    bash -c "$FD_UNIT_SH" fd-unit "$busy" "$log" "$rmfile" "$@" >>"$log" 2>&1 </dev/null &
    pid=$!
    set +m
  fi
  # A follow loop that any POSIX system runs (GNU tail -f --pid is not on busybox or macOS):
  # cat reads what was added since the last round, through the shared descriptor's offset.
  while kill -0 "$pid" 2>/dev/null; do
    cat <&7 || true
    sleep 0.02 2>/dev/null || sleep 1
  done
  wait "$pid" || rc=$?
  cat <&7 || true
  exec 7<&-
  return "$rc"
}

# The compose command line of fd_compose as an array (FD_ARGV), for fd_detached, which runs
# commands, not functions: FD_ARGV=(compose -f FILE... [-f OVERRIDE] [-p PROJECT]).
FD_ARGV=()
fd_compose_argv() {
  local f
  FD_ARGV=("${FD_COMPOSE[@]}")
  for f in "${FD_FILES[@]}"; do FD_ARGV+=(-f "$f"); done
  if [ -n "${1-}" ]; then FD_ARGV+=(-f "$1"); fi
  if [ -n "${FD_PROJECT_NAME:-}" ]; then FD_ARGV+=(-p "$FD_PROJECT_NAME"); fi
}

# Prints the service container's facts after an up; sets FD_CID.
FD_CID=""
fd_report_container() {
  local id image started config_image
  FD_CID=$(fd_service_cid)
  [ -n "$FD_CID" ] || fd_die "compose reported success, but service $FD_SERVICE has no container"
  IFS=$'\t' read -r id image started config_image < <(docker inspect --format \
    '{{.Id}}{{"\t"}}{{.Image}}{{"\t"}}{{.State.StartedAt}}{{"\t"}}{{.Config.Image}}' "$FD_CID")
  FD_CID=$id
  fd_out container-id "$id"
  fd_out image-id "$image"
  fd_out started-at "$started"
  fd_out config-image "$config_image"
}

# The rollback target's tag, fresh-deploy's own, keyed by compose project ($1) and service:
# fresh-deploy/previous:PROJECT.SERVICE (project names have no ".", so the key is unambiguous),
# made a valid tag (at most 128 of [A-Za-z0-9_.-], not starting with "." or "-"; a longer key
# is cut and ends in a hash of the whole). Sets FD_PREV_TAG and FD_PREV_FILE, where the target's
# image id and revision are kept (a tag cannot carry a label).
# shellcheck disable=SC2034 # read by snapshot.sh
FD_PREV_TAG="" FD_PREV_FILE=""
fd_previous_tag() {
  local key
  key=$(printf '%s.%s' "$1" "$FD_SERVICE" | tr -c 'A-Za-z0-9_.-' '_')
  case "$key" in [.-]*) key="_$key" ;; esac
  if [ "${#key}" -gt 128 ]; then key="${key:0:111}-$(printf '%s' "$key" | sha256sum | cut -c1-16)"; fi
  # shellcheck disable=SC2034 # read by snapshot.sh
  FD_PREV_TAG="fresh-deploy/previous:$key"
  FD_PREV_FILE="${XDG_STATE_HOME:-${HOME:-/tmp}/.local/state}/fresh-deploy/previous/$key"
}

# Records the target's image id and revision beside its tag (best effort: without them a
# rollback says "revision unknown", nothing worse).
fd_previous_record() {
  { mkdir -p -- "${FD_PREV_FILE%/*}" && printf '%s\t%s\n' "$1" "$2" >"$FD_PREV_FILE"; } 2>/dev/null || echo "could not record the revision in $FD_PREV_FILE" >&2
}

# The revision recorded for image $1, when the record is about that image.
fd_previous_revision() {
  local img rev
  [ -r "$FD_PREV_FILE" ] || return 0
  IFS=$'\t' read -r img rev <"$FD_PREV_FILE" || return 0
  [ "$img" != "$1" ] || printf '%s' "$rev"
}
