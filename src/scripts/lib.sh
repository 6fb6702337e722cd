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
# $1: another service of the project (a dependency) instead of FD_SERVICE.
# shellcheck disable=SC2120 # rebuild.sh passes one
fd_service_cid() {
  local ids project=${FD_PROJECT_NAME:-${FD_RESOLVED_PROJECT:-}} service=${1:-$FD_SERVICE}
  if [ -n "$project" ]; then
    ids=$(docker ps -a -q --no-trunc --filter "label=com.docker.compose.project=$project" \
      --filter "label=com.docker.compose.service=$service" --filter "label=com.docker.compose.oneoff=False" 2>/dev/null || true)
  elif [ "${FD_COMPOSE[0]}" = "docker-compose" ]; then
    ids=$(fd_compose ps -q "$service" 2>/dev/null || true)
  else
    ids=$(fd_compose ps -a -q "$service" 2>/dev/null || true)
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

# Reports whether the service is defined in the compose files, whether it has build:, and its
# depends_on as "NAME:CONDITION:REQUIRED ..." (service-deps; compose config prints the long form,
# v1 and v2 alike; v1 has no "required", which means true).
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
    in_services && cur == svc && /^    depends_on:/ { in_deps = 1; next }
    in_services && cur == svc && /^    [^ ]/ { in_deps = 0 }
    in_deps && cur == svc && /^      [^ -]/ {
      dep = $0; sub(/^ */, "", dep); sub(/:[[:space:]]*$/, "", dep); gsub(/["\047]/, "", dep)
      n++; name[n] = dep; cond[n] = "service_started"; req[n] = "true"
      next
    }
    in_deps && cur == svc && n && /^        condition:/ { v = $2; gsub(/["\047]/, "", v); cond[n] = v }
    in_deps && cur == svc && n && /^        required:/ { v = $2; gsub(/["\047]/, "", v); req[n] = v }
    END {
      printf "%s %s", (found ? "yes" : "no"), (build ? "yes" : "no")
      for (i = 1; i <= n; i++) printf " %s:%s:%s", name[i], cond[i], req[i]
      printf "\n"
    }')
  if [ "${info%% *}" != "yes" ]; then
    fd_input_error service "not defined in $(IFS=,; printf '%s' "${FD_FILES[*]}") (services: $(fd_compose config --services 2>/dev/null | tr '\n' ' '))"
  fi
  info=${info#* }
  fd_out service-build "${info%% *}"
  fd_out service-deps "$(printf '%s' "$info" | cut -s -d' ' -f2-)"
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
# Field names are those of the docker CLI's typed inspect struct ({{.ID}}, not the JSON's "Id"):
# one unknown field makes the CLI fall back to the raw JSON map, where {{.State.Health}} of a
# container without a healthcheck is "map has no entry for key Health" (CLI 20.10 and 28 alike).
# shellcheck disable=SC2016 # a Go template for docker, not shell
FD_STATE_FORMAT='{{.State.Status}}{{"\x1f"}}{{.State.Running}}{{"\x1f"}}{{.State.Restarting}}{{"\x1f"}}{{.State.ExitCode}}{{"\x1f"}}{{.RestartCount}}{{"\x1f"}}{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}{{"\x1f"}}{{.ID}}{{"\x1f"}}{{.Image}}{{"\x1f"}}{{.State.StartedAt}}{{"\x1f"}}{{.Config.Image}}{{"\x1f"}}{{index .Config.Labels "io.fresh-deploy.run"}}{{"\x1f"}}{{index .Config.Labels "io.fresh-deploy.revision"}}'
# shellcheck disable=SC2034 # read by verify.sh
FD_STATE=""
fd_wait_health() {
  local cid=$1 timeout=$2 deadline state status running restarting exitcode restarts health stable_since="" first_restarts=""
  deadline=$(( $(date +%s) + timeout ))
  FD_STATE=""
  while :; do
    if ! state=$(docker inspect --format "$FD_STATE_FORMAT" "$cid" 2>/dev/null); then
      FD_STATE=""
      if fd_engine_up; then
        # Gone, or there but unreadable (a template this CLI does not take): say which.
        if docker inspect --type container --format '{{.ID}}' "$cid" >/dev/null 2>&1; then
          fd_out health "fail the state of container $cid could not be read: $(docker inspect --format "$FD_STATE_FORMAT" "$cid" 2>&1 | head -c 300 | tr '\n' ' ')"
        else
          fd_out health "fail container $cid no longer exists"
        fi
        return 0
      fi
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
    # -gt: whole seconds; a 5 s steady window that began in the first second still fits in a
    # health-timeout of 5 (the input's minimum).
    if [ "$(date +%s)" -gt "$deadline" ]; then
      fd_out health "fail not healthy within ${timeout} s (status $status, health $health, restarts $restarts)"
      return 0
    fi
    # docker inspect is cheap (~20 ms): a finer poll finds the healthy container sooner.
    sleep 0.05
  done
}

# Runs a long compose command with its output in a file that is streamed to the runner, so a
# dropped connection cannot kill it half-way (a write to a dead pipe would): the container is
# recreated all the same, and the next deploy finds a running service.
# While it runs, the command holds the project's "busy" lock (lock.sh waits for it): once the
# connection is gone the deploy lock is released, but the next deploy must not run compose on
# the same project before this one has finished.
fd_detached() {
  local log pid rc=0 busy=""
  if ! tail --version 2>/dev/null | grep -q GNU; then "$@"; return; fi
  if command -v flock >/dev/null 2>&1; then
    mkdir -p -- "${TMPDIR:-/tmp}/fresh-deploy-locks"
    busy="${TMPDIR:-/tmp}/fresh-deploy-locks/$(printf '%s\n%s' "$(pwd -P)" "${FD_PROJECT_NAME:-}" | sha256sum | cut -c1-16).busy"
  fi
  log=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-log.XXXXXX")
  (
    if [ -n "$busy" ]; then exec 8>>"$busy"; flock 8; fi
    "$@"
  ) >"$log" 2>&1 </dev/null &
  pid=$!
  # -s: how often tail looks whether compose has exited; the deploy waits that long at most.
  tail -n +1 -s 0.02 -f --pid="$pid" -- "$log" || true
  wait "$pid" || rc=$?
  rm -f -- "$log"
  return "$rc"
}

# Prints the service container's facts after an up; sets FD_CID.
FD_CID=""
fd_report_container() {
  local id image started config_image
  FD_CID=$(fd_service_cid "$FD_SERVICE")
  [ -n "$FD_CID" ] || fd_die "compose reported success, but service $FD_SERVICE has no container"
  IFS=$'\t' read -r id image started config_image < <(docker inspect --format \
    '{{.ID}}{{"\t"}}{{.Image}}{{"\t"}}{{.State.StartedAt}}{{"\t"}}{{.Config.Image}}' "$FD_CID")
  FD_CID=$id
  fd_out container-id "$id"
  fd_out image-id "$image"
  fd_out started-at "$started"
  fd_out config-image "$config_image"
}
