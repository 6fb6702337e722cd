# shellcheck shell=bash
# Common helpers, sent ahead of every step script that fresh-deploy runs on the target
# (`bash -s`, script on stdin). The runner defines the FD_* variables above this file as
# single-quoted data; nothing here evaluates them as code.
#
# Protocol: lines "@@fd-NONCE KEY VALUE" on stdout are results for the runner; everything else
# is log. FD_NONCE is drawn by the runner for each run: a build or an app that prints a line
# like "@@fd health pass" cannot make a result (it cannot know the nonce, which is not exported).
set -euo pipefail
umask 077

FD_REC="@@fd-${FD_NONCE:?the runner passes FD_NONCE} "

# A relative project-dir is relative to where the script starts: the SSH user's home, or the
# runner's working directory (local transport). Made absolute here, once: steps that share one
# script cd into it one after the other (preflight then lock, snapshot then purge ...).
case ${FD_PROJECT_DIR:-} in '' | /*) ;; *) FD_PROJECT_DIR=$PWD/$FD_PROJECT_DIR ;; esac
fd_out() { printf '%s%s %s\n' "$FD_REC" "$1" "${2-}"; }

# An input that the target shows to be wrong (missing dir, unknown service): exit 2.
fd_input_error() {
  fd_out input-error "$1 $2"
  exit 2
}

fd_die() {
  printf 'fresh-deploy: %s\n' "$*" >&2
  exit 3
}

# The target's time, for "the container started after the deploy began". %N is GNU: BSD and
# busybox date print it literally (or drop it), so anything but digits.digits falls back to
# whole seconds, which only moves the start earlier.
fd_now() {
  local t
  t=$(date +%s.%N 2>/dev/null) || t=""
  case $t in '' | *[!0-9.]* | .* | *. | *.*.*) date +%s ;; *) printf '%s\n' "$t" ;; esac
}

# A pause without a process. The waits below poll; on small VMs a fork costs milliseconds of
# CPU, and a sleep(1) child every 20 ms was a visible share of a deploy's CPU. bash's read -t on
# a pipe that nobody writes (opened read-write through /dev/fd, so it never reaches end of file)
# times out in place. Where that does not work (read ends at once), sleep(1) does the waiting.
# Opens a pipe that nobody writes, read-write (through /dev/fd, so a read never reaches end of
# file), in the descriptor named by $1; fails where that does not work.
fd_quiet_pipe() {
  local fd _
  { exec {fd}<> <(:); } 2>/dev/null || return 1
  # A timeout is a status above 128; anything else (end of file, an error) would spin.
  if read -r -t 0.01 -u "$fd" _; then :; elif [ $? -gt 128 ]; then printf -v "$1" %s "$fd"; return 0; fi
  exec {fd}>&-
  return 1
}
FD_NAP_FD=""
fd_nap_open() {
  [ -n "$FD_NAP_FD" ] || fd_quiet_pipe FD_NAP_FD || FD_NAP_FD=-
}
fd_nap() {
  fd_nap_open
  if [ "$FD_NAP_FD" != - ]; then
    read -r -t "$1" -u "$FD_NAP_FD" _ || true
  else
    sleep "$1" 2>/dev/null || sleep 1
  fi
}

# The rollback tag that snapshot.sh makes in the background: done, or the deploy stops here.
FD_TAG_PID=""
FD_TAG=""
fd_tag_wait() {
  [ -n "$FD_TAG_PID" ] || return 0
  wait "$FD_TAG_PID" || fd_die "could not tag the running image as $FD_TAG for a rollback"
  FD_TAG_PID=""
}

# Whether process $1 lives. kill -0 fails with EPERM for another user's process, which lives
# all the same: only "No such process" (ESRCH) means gone.
fd_pid_alive() {
  local err
  err=$(export LC_ALL=C; kill -0 "$1" 2>&1) && return 0
  case $err in *"No such process"*) return 1 ;; esac
  return 0
}

# A lock directory or file that fresh-deploy will not use: a record for the runner, then exit 3.
fd_lock_refuse() {
  fd_out lock-error "$1"
  fd_die "$1"
}

# The directory of the deploy locks (lock.sh) and of the busy lock (fd_detached), per deploy
# user: ~/.cache/fresh-deploy/locks (without a home: /tmp/fresh-deploy-UID/locks), made 0700
# and checked, in FD_LOCK_DIR.
# Not ${TMPDIR:-/tmp}: a shared, predictable name that another local user can create first (the
# deploy user then cannot write it), fill with symlinks (KEY.info -> ~/.ssh/authorized_keys,
# truncated by the next deploy), or whose flock they can hold forever.
# Not $XDG_RUNTIME_DIR: a runner service has none (a deploy from a terminal and one from the
# runner would take different locks), and logind deletes it when the user's last session ends,
# with the busy lock of a compose command that a dropped connection left running.
# The price: deploys of one project by two different users do not exclude each other (README).
FD_LOCK_DIR=""
fd_lock_dir() {
  local uid home d p owner mode i=0 paths=()
  [ -z "$FD_LOCK_DIR" ] || return 0
  uid=$(id -u)
  home=${HOME:-}
  if [ -z "$home" ]; then home=$(getent passwd "$uid" 2>/dev/null | cut -d: -f6) || home=""; fi
  d=""
  case $home in
    /?*) if [ -d "$home" ] && mkdir -p -- "${home%/}/.cache/fresh-deploy/locks" 2>/dev/null; then d=${home%/}/.cache/fresh-deploy/locks; fi ;;
  esac
  # A user without a home to write in (a system account): a directory of its uid in /tmp, held
  # to the same checks (one that another user made first is refused, never used).
  if [ -z "$d" ]; then
    d=/tmp/fresh-deploy-$uid/locks
    if ! mkdir -p -- "$d" 2>/dev/null; then
      fd_lock_refuse "cannot create the deploy lock directory $d ($(mkdir -p -- "$d" 2>&1 || true)); the deploy user has no writable home (HOME=${home:-unset}) for ~/.cache/fresh-deploy/locks either: give it one, or remove ${d%/*} if another user made it"
    fi
  fi
  # The two directories made here must be real directories (no symlink) of the deploy user;
  # above them (.cache, the home, its parents) each is the user's or root's. None may be
  # writable by group or others (above them: unless sticky, as /tmp), or another user could
  # swap or fill the lock directory.
  for p in "$d" "${d%/*}"; do
    if [ -L "$p" ] || [ ! -d "$p" ]; then
      fd_lock_refuse "the deploy lock directory $p is a symbolic link or not a directory; fresh-deploy never follows one there: remove it (rm $p) and deploy again"
    fi
  done
  # Ours first (stat needs no access to them), then the physical path above them.
  paths=("$d" "${d%/*}")
  p=$(cd -P -- "${d%/*/*}" 2>/dev/null && pwd) || fd_lock_refuse "cannot enter ${d%/*/*}, above the deploy lock directory $d"
  while :; do
    paths+=("$p")
    [ "$p" != / ] || break
    p=${p%/*}
    p=${p:-/}
  done
  while read -r owner mode; do
    p=${paths[i]}
    i=$((i + 1))
    if [ "$owner" != "$uid" ] && { [ "$i" -le 2 ] || [ "$owner" != 0 ]; }; then
      fd_lock_refuse "the deploy lock directory $p belongs to uid $owner, not to the deploy user (uid $uid): another user could take or plant the lock there. Remove it, or give it to the deploy user (chown), and deploy again"
    fi
    if (( 8#$mode & 8#022 )) && { [ "$i" -le 2 ] || (( (8#$mode & 8#1000) == 0 )); }; then
      fd_lock_refuse "the deploy lock directory $p is writable by group or others (mode $mode): another user could take or plant the lock there. Run chmod go-w $p and deploy again"
    fi
  done < <(stat -c '%u %a' -- "${paths[@]}")
  FD_LOCK_DIR=$d
}

# The lock key of a project: its real path ($1) and the compose project name.
fd_lock_key() { printf '%s\n%s' "$1" "${FD_PROJECT_NAME:-}" | sha256sum | cut -c1-16; }

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

# Into project-dir, without looking for the compose files: with sync: git they are those of
# ref, which may not be checked out yet (the commit that adds them, an empty work tree).
fd_enter_dir() {
  cd -- "$FD_PROJECT_DIR" 2>/dev/null || fd_input_error project-dir "no such directory on the target"
  read -r -a FD_COMPOSE <<<"${FD_COMPOSE_CMD:-docker compose}"
}

fd_enter_project() {
  fd_enter_dir
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
# v1 and v2 alike; v1 has no "required", which means true); then checks source-dir
# (fd_source_info). $1: the output of compose config (read here when not given).
# shellcheck disable=SC2120 # preflight.sh and sync.sh pass the config they read
fd_service_info() {
  local config info found build ctx dockerfile deps
  if [ $# -gt 0 ]; then
    config=$1
  else
    config=$(fd_compose config 2>&1) || { printf '%s\n' "$config" >&2; fd_die "compose config failed for the files in $(pwd)"; }
  fi
  info=$(printf '%s\n' "$config" | awk -v svc="$FD_SERVICE" '
    function value(line) { sub(/^ *[a-z]+: */, "", line); if (line ~ /^["\047].*["\047]$/) line = substr(line, 2, length(line) - 2); return line }
    /^services:/ { in_services = 1; next }
    in_services && /^[^ ]/ { in_services = 0 }
    in_services && /^  [^ ]/ {
      cur = $0; sub(/^  /, "", cur); sub(/:[[:space:]]*$/, "", cur); gsub(/["\047]/, "", cur)
      if (cur == svc) found = 1
      in_build = 0; in_deps = 0
      next
    }
    in_services && cur == svc && /^    [^ ]/ { in_build = 0; in_deps = 0 }
    in_services && cur == svc && /^    build:/ { build = 1; in_build = 1; next }
    in_services && cur == svc && /^    depends_on:/ { in_deps = 1; next }
    in_build && /^      context:/ { ctx = value($0) }
    in_build && /^      dockerfile:/ { dockerfile = value($0) }
    in_deps && /^      [^ -]/ {
      dep = $0; sub(/^ */, "", dep); sub(/:[[:space:]]*$/, "", dep); gsub(/["\047]/, "", dep)
      n++; name[n] = dep; cond[n] = "service_started"; req[n] = "true"
      next
    }
    in_deps && n && /^        condition:/ { v = $2; gsub(/["\047]/, "", v); cond[n] = v }
    in_deps && n && /^        required:/ { v = $2; gsub(/["\047]/, "", v); req[n] = v }
    END {
      printf "%s\037%s\037%s\037%s\037", (found ? "yes" : "no"), (build ? "yes" : "no"), ctx, dockerfile
      for (i = 1; i <= n; i++) printf "%s%s:%s:%s", (i > 1 ? " " : ""), name[i], cond[i], req[i]
      printf "\n"
    }')
  IFS=$'\x1f' read -r found build ctx dockerfile deps <<<"$info"
  if [ "$found" != "yes" ]; then
    fd_input_error service "not defined in $(IFS=,; printf '%s' "${FD_FILES[*]}") (services: $(fd_compose config --services 2>/dev/null | tr '\n' ' '))"
  fi
  fd_out service-build "$build"
  fd_out service-deps "$deps"
  # compose v2 prints the project's name first; later steps look containers up by it.
  local project
  project=$(printf '%s\n' "$config" | sed -n '1s/^name: *"\{0,1\}\([a-z0-9_-]*\)"\{0,1\} *$/\1/p')
  fd_out project-name "$project"
  # strategy: start-first: the runner reads container_name, ports and network_mode from
  # compose's own (normalized) config with a YAML parser, and refuses before anything changes.
  if [ "${FD_STRATEGY:-}" = "start-first" ]; then
    fd_out service-config "$(printf '%s\n' "$config" | base64 | tr -d '\n')"
    fd_out service-running "$(fd_running_count "${FD_PROJECT_NAME:-$project}")"
  fi
  fd_source_info "$ctx" "$dockerfile"
}

# How many containers of the service run ($1: the compose project's name, when known; else
# compose ps finds them, as v1 without -p must).
fd_running_count() {
  local ids
  if [ -n "$1" ]; then
    docker ps -q --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=$FD_SERVICE" \
      --filter "label=com.docker.compose.oneoff=False" --filter status=running 2>/dev/null | grep -c . || true
    return 0
  fi
  ids=$(fd_compose ps -q "$FD_SERVICE" 2>/dev/null || true)
  [ -n "$ids" ] || { echo 0; return 0; }
  # shellcheck disable=SC2086 # container ids, one word each
  docker inspect --format '{{.State.Running}}' $ids 2>/dev/null | grep -c '^true$' || true
}

# source-dir (FD_SOURCE_DIR, empty: the source and bytecode probes are off) must exist in
# project-dir: a bad input otherwise, refused before anything changes. When it lies inside the
# service's build context ($1, $2 its Dockerfile): where it lies there (source-in-context), and
# the .dockerignore that the build applies (Dockerfile.dockerignore first, as BuildKit does).
fd_source_info() {
  local ctx=$1 dockerfile=$2 src rel ignore="" ctx_shown dirs
  [ -n "${FD_SOURCE_DIR:-}" ] || return 0
  if [ ! -d "$FD_SOURCE_DIR" ]; then
    ctx_shown=""
    if [ -n "$ctx" ] && [ -d "$ctx" ]; then
      ctx=$(cd -- "$ctx" && pwd -P)
      case "$ctx/" in "$(pwd -P)/"*) rel=${ctx#"$(pwd -P)"}; ctx_shown=".$rel" ;; *) ctx_shown=$ctx ;; esac
      ctx_shown="; the service's build context is $ctx_shown"
    fi
    dirs=$(find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' 2>/dev/null | sed 's|^\./||' | sort | head -n 10 | awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $0 }')
    fd_input_error source-dir "no such directory in project-dir $(pwd -P)${ctx_shown}; its directories: ${dirs:-none}. Set source-dir to the directory (relative to project-dir) that holds the code the image is built from, or to '' to turn the source and bytecode probes off"
  fi
  [ -n "$ctx" ] && [ -d "$ctx" ] || return 0
  src=$(cd -- "$FD_SOURCE_DIR" && pwd -P)
  ctx=$(cd -- "$ctx" && pwd -P)
  case "$src/" in
    "$ctx/"*) rel=${src#"$ctx"}; rel=${rel#/} ;;
    *) return 0 ;;
  esac
  fd_out source-in-context "${rel:-.}"
  case "$dockerfile" in /*) ;; '') dockerfile=$ctx/Dockerfile ;; *) dockerfile=$ctx/$dockerfile ;; esac
  if [ -f "$dockerfile.dockerignore" ]; then ignore=$dockerfile.dockerignore; elif [ -f "$ctx/.dockerignore" ]; then ignore=$ctx/.dockerignore; fi
  [ -z "$ignore" ] || fd_out dockerignore "$(head -c 65536 -- "$ignore" | base64 | tr -d '\n')"
}

# A hint for a container-source-dir that does not exist in container $1 ($2: its working
# directory, read here when not given): the image's WORKDIR, where the build context puts
# source-dir under it, and which of these places exist in the container.
fd_csd_hint() {
  local cid=$1 workdir=${2-} w cands=() found
  [ -n "$workdir" ] || workdir=$(docker inspect --format '{{.Config.WorkingDir}}' "$cid" 2>/dev/null || true)
  [ -n "$workdir" ] || workdir=/
  w=${workdir%/}
  case "${FD_SOURCE_IN_CONTEXT:-}" in
    "") ;;
    .) cands+=("$workdir") ;;
    *) cands+=("$w/$FD_SOURCE_IN_CONTEXT") ;;
  esac
  cands+=("$w/${FD_SOURCE_DIR##*/}" "$workdir")
  # shellcheck disable=SC2016 # expanded in the container
  found=$(docker exec "$cid" sh -c 'for d do [ -d "$d" ] && printf "%s\n" "$d"; done; exit 0' sh "${cands[@]}" 2>/dev/null | awk '!seen[$0]++' | tr '\n' ' ')
  printf "the image's WORKDIR is %s" "$workdir"
  [ -z "${FD_SOURCE_IN_CONTEXT:-}" ] || printf ", and source-dir is %s in the service's build context" "$FD_SOURCE_IN_CONTEXT"
  if [ -n "$found" ]; then printf '; of the likely places, these exist in the container: %s(set container-source-dir to where the Dockerfile copies source-dir)' "$found"
  else printf '; none of %s exists in the container (set container-source-dir to where the Dockerfile copies source-dir)' "${cands[*]}"; fi
  printf ", or set source-dir: '' to turn the source and bytecode probes off"
}

# rebuild.sh, when the running container lacked container-source-dir: does a one-off container of
# the new image (the service's configuration and mounts, its own entrypoint bypassed) have it?
# Refuses (input error) when it does not, with the likely places that exist there. $1: override.
fd_csd_check_new_image() {
  local out rc=0 cands=() workdir found
  [ -z "${FD_SOURCE_IN_CONTEXT:-}" ] || [ "$FD_SOURCE_IN_CONTEXT" = . ] || cands+=("$FD_SOURCE_IN_CONTEXT")
  cands+=("${FD_SOURCE_DIR##*/}")
  # shellcheck disable=SC2016 # expanded in the container
  out=$(fd_compose --override "$1" run --rm --no-deps -T --entrypoint sh "$FD_SERVICE" -c \
    '[ -d "$1" ] && exit 0; printf "workdir %s\n" "${PWD:-/}"; w=${PWD%/}; shift
     for d do [ -d "$w/$d" ] && printf "found %s\n" "$w/$d"; done; printf "found %s\n" "${PWD:-/}"; exit 9' \
    sh "$FD_CONTAINER_SOURCE_DIR" "${cands[@]}" 2>/dev/null) || rc=$?
  if [ "$rc" = 0 ]; then
    echo "container-source-dir $FD_CONTAINER_SOURCE_DIR exists in the new image: going on"
    return 0
  fi
  # No sh in the image, or compose could not run it: the probes decide after the switch.
  [ "$rc" = 9 ] || { echo "fresh-deploy: warning: could not check container-source-dir in the new image (exit $rc); the probes decide" >&2; return 0; }
  workdir=$(printf '%s\n' "$out" | sed -n 's/^workdir //p' | head -n 1)
  found=$(printf '%s\n' "$out" | sed -n 's/^found //p' | awk '!seen[$0]++' | tr '\n' ' ')
  fd_input_error container-source-dir "does not exist in the running container ${FD_KNOWN_CID:0:12} of service $FD_SERVICE nor in the new image (checked before the switch: the running container was not touched and still serves); in the new image, WORKDIR is ${workdir:-/} and these likely places exist: ${found}(set container-source-dir to where the Dockerfile copies source-dir), or set source-dir: '' to turn the source and bytecode probes off"
}

# --no-cache does not reach BuildKit's copy of the build context: it sends only the files whose
# metadata changed, so a same-size edit with a kept mtime still builds the old bytes (a heal
# that cannot heal). Its local-context records go first (all of them: they are not named by
# project; the next build of another project sends its whole context once more). An engine
# without BuildKit has no such records and nothing to prune.
fd_prune_context_cache() {
  if docker builder prune -f --filter type=source.local >/dev/null 2>&1; then
    echo "pruned the builder's cached build contexts (type=source.local): the whole context is sent again"
  fi
  return 0
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
# Prints the result "health pass|fail DETAIL". Leaves the last inspect in FD_STATE (FD_STATE_FORMAT's
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
  local cid=$1 timeout=$2 deadline state status running restarting exitcode restarts health stable_since="" first_restarts="" polls=0
  deadline=$(( ${EPOCHSECONDS:-$(date +%s)} + timeout ))
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
      if [ -z "$stable_since" ]; then stable_since=${EPOCHSECONDS:-$(date +%s)}; first_restarts=$restarts; fi
      if [ "$restarts" != "$first_restarts" ]; then stable_since=""; fi
      if [ -n "$stable_since" ] && [ $(( ${EPOCHSECONDS:-$(date +%s)} - stable_since )) -ge 5 ]; then
        fd_out health "pass running, restart count $restarts steady for 5 s"
        return 0
      fi
    else
      stable_since=""
    fi
    # -gt: whole seconds; a 5 s steady window that began in the first second still fits in a
    # health-timeout of 5 (the input's minimum).
    if [ "${EPOCHSECONDS:-$(date +%s)}" -gt "$deadline" ]; then
      fd_out health "fail not healthy within ${timeout} s (status $status, health $health, restarts $restarts)"
      return 0
    fi
    # Each docker inspect is a Go CLI start (~0.1 s of CPU on a small VM) and a request to the
    # engine: poll finely while a quick start is likely, then every 0.25 s. A healthcheck
    # flips at most once per its interval anyway.
    polls=$(( polls + 1 ))
    if [ "$polls" -le 10 ]; then fd_nap 0.1; else fd_nap 0.25; fi
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
busy=$1 log=$2 rmfile=$3 done_fd=$4
shift 4
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
# Wakes the follower at once (it waits on this pipe between reads of the log).
if [ -n "$done_fd" ]; then { printf . >&"$done_fd"; } 2>/dev/null || true; fi
exit "$rc"'
# Sets FD_BUSY to the project's "busy" lock file, which a detached unit holds while it runs
# (lock.sh waits for it). Not through $(...): a refusal must stop the script, not a subshell.
FD_BUSY=""
fd_busy_file() {
  fd_lock_dir
  FD_BUSY="$FD_LOCK_DIR/$(fd_lock_key "$(pwd -P)").busy"
  if [ -L "$FD_BUSY" ]; then fd_lock_refuse "$FD_BUSY is a symbolic link; fresh-deploy never writes through one: remove it and deploy again"; fi
}
fd_detached() {
  local log pid rc=0 busy="" rmfile="" done_fd=""
  if [ "${1-}" = "--rm" ]; then rmfile=$2; shift 2; fi
  if command -v flock >/dev/null 2>&1; then fd_busy_file; busy=$FD_BUSY; fi
  log=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-log.XXXXXX")
  # Opened before the unit starts, so that its output is read even once the unit removed the file.
  exec 7<"$log"
  fd_quiet_pipe done_fd || done_fd=""
  if command -v setsid >/dev/null 2>&1; then
    # Not a process group leader (a background job of a shell without job control), so setsid
    # makes the new session in place, without a fork: $! is the unit.
    # shellcheck disable=SC2094 # the unit gets the log's name to remove it, never reads it
    setsid bash -c "$FD_UNIT_SH" fd-unit "$busy" "$log" "$rmfile" "$done_fd" "$@" >>"$log" 2>&1 </dev/null &
    pid=$!
  else
    set -m
    # shellcheck disable=SC2094 # as above
    bash -c "$FD_UNIT_SH" fd-unit "$busy" "$log" "$rmfile" "$done_fd" "$@" >>"$log" 2>&1 </dev/null &
    pid=$!
    set +m
  fi
  # A follow loop that any POSIX system runs (GNU tail -f --pid is not on busybox or macOS):
  # cat reads what was added since the last round, through the shared descriptor's offset.
  # Between rounds it waits on the pipe that the unit writes when it ends: the end is seen at
  # once, and the log is read 4 times a second rather than 50 (each round is a fork).
  while kill -0 "$pid" 2>/dev/null; do
    cat <&7 || true
    if [ -n "$done_fd" ]; then
      if read -r -t 0.25 -n 1 -u "$done_fd" _; then break; fi
    else
      sleep 0.1 2>/dev/null || sleep 1
    fi
  done
  wait "$pid" || rc=$?
  cat <&7 || true
  exec 7<&-
  if [ -n "$done_fd" ]; then exec {done_fd}>&-; fi
  return "$rc"
}

# Waits (up to $1 seconds) until no detached unit (fd_detached) of the project runs: one that a
# dropped connection left running holds the busy lock until it ends. Without flock: no wait.
# Run after fd_enter_project. Returns 1 when the unit still runs at the end.
fd_wait_detached() {
  local busy
  command -v flock >/dev/null 2>&1 || return 0
  fd_busy_file
  busy=$FD_BUSY
  exec 8>>"$busy"
  if ! flock -n 8; then
    echo "waiting up to $1 s for a detached step that a lost connection left running"
    if ! flock -w "$1" 8; then
      exec 8>&-
      return 1
    fi
  fi
  exec 8>&-
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

# Prints the facts of container $1 (default: the service's, after an up); sets FD_CID.
FD_CID=""
fd_report_container() {
  local id image started config_image
  FD_CID=${1:-$(fd_service_cid "$FD_SERVICE")}
  [ -n "$FD_CID" ] || fd_die "compose reported success, but service $FD_SERVICE has no container"
  IFS=$'\t' read -r id image started config_image < <(docker inspect --format \
    '{{.ID}}{{"\t"}}{{.Image}}{{"\t"}}{{.State.StartedAt}}{{"\t"}}{{.Config.Image}}' "$FD_CID")
  FD_CID=$id
  fd_out container-id "$id"
  fd_out image-id "$image"
  fd_out started-at "$started"
  fd_out config-image "$config_image"
}

# POSIX sh that kills every process whose environment holds $1 (NAME=VALUE, unique to one hook):
# the hook's processes, children included, wherever it runs (`docker exec` into a container).
# One grep over every environ file: a process per pid would take seconds on a busy host.
# shellcheck disable=SC2016,SC2034 # expanded by the sh that runs it; used by smoke.sh
FD_KILL_BY_ENV='grep -lF -- "$1" /proc/[0-9]*/environ 2>/dev/null | while IFS= read -r f; do p=${f#/proc/}; kill -9 "${p%/environ}" 2>/dev/null; done; exit 0'

# fd_hook_run WHAT TIMEOUT STOP_FUNCTION COMMAND...: runs a hook with its output streamed to the
# runner as it comes; once TIMEOUT seconds have passed, STOP_FUNCTION stops it (the hook's own
# processes, not only the client that started them). Prints hook-exit CODE and, when stopped,
# hook-timeout TIMEOUT; returns the hook's status (124 when stopped).
fd_hook_run() {
  local what=$1 timeout=$2 stop=$3 pid watchdog rc=0 flag
  shift 3
  flag=$(mktemp -d "${TMPDIR:-/tmp}/fresh-deploy-hook.XXXXXX")
  "$@" </dev/null 2>&1 &
  pid=$!
  # The watchdog's sleep must not hold the session's output open after the hook is done.
  (
    trap 'kill "$s" 2>/dev/null; exit 0' TERM
    sleep "$timeout" &
    s=$!
    wait "$s"
    : >"$flag/timeout"
    "$stop"
    kill "$pid"
  ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  wait "$pid" || rc=$?
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  fd_out hook-exit "$rc"
  if [ -e "$flag/timeout" ]; then
    fd_out hook-timeout "$timeout"
    echo "fresh-deploy: $what ran longer than hook-timeout ($timeout s) and was stopped"
    rc=124
  fi
  rm -rf -- "$flag"
  return "$rc"
}

# In: FD_SERVICE_DEPS (FD_SERVICE_DEPS_KNOWN=yes when read) FD_HEALTH_TIMEOUT. Called by rebuild.sh, and
# by build.sh before a pre-deploy hook (migrations need the database running).
# The service's dependencies: `up --no-deps` never starts them, so a first deploy (or one
# after a dependency stopped) would start the service without its database. Those not running
# are started with --no-recreate (compose starts their own dependencies the same way; a running
# container is never recreated); then each must meet its depends_on condition, as compose's own
# `up` would require. One that does not is an error naming it, before the service is touched.
start_dependencies() {
  local deps=() dep name condition required cid state stopped=() result
  if [ "${FD_SERVICE_DEPS_KNOWN:-}" != "yes" ]; then
    FD_SERVICE_DEPS=$(fd_service_info | sed -n "s/^${FD_REC}service-deps //p")
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
    fd_compose_argv ""
    fd_detached "${FD_ARGV[@]}" up -d --no-recreate "${stopped[@]}" ||
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
            result=$(fd_wait_health "$cid" "$FD_HEALTH_TIMEOUT" | sed -n "s/^${FD_REC}health //p")
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
