# shellcheck shell=bash
# purge: removes bytecode under source-dir on the host and, in the running service container,
# in what survives the recreate: its volumes and bind mounts at, under or above
# container-source-dir, and the PYTHONPYCACHEPREFIX directory when a mount holds it. The
# container's writable layer is replaced by the recreate and is not walked (20,000 files there
# took ~3 s). The host's and the container's purges run at once.
# The purge serves the verdict and never blocks the deploy: what the deploy user cannot delete
# on the host is deleted as root through Docker; what is still left is a warning with its
# paths, and the bytecode probe decides whether it matters.
# In: FD_PROJECT_DIR FD_SERVICE FD_SOURCE_DIR FD_CONTAINER_SOURCE_DIR FD_PURGE_SH (+ compose)
#     FD_KNOWN_CID_SET=yes: FD_KNOWN_CID is the container the snapshot found (empty: none), no
#     lookup
# Out: purged-host "DIRS FILES"|missing, purged-container "DIRS FILES"|skip REASON,
#      purge-warning TEXT (any number)

fd_lock_guard purge
fd_enter_project
# The snapshot just found the container (under the deploy lock): no second compose lookup.
if [ "${FD_KNOWN_CID_SET:-}" = "yes" ]; then cid=$FD_KNOWN_CID; else cid=$(fd_service_cid); fi

# Paths are compared as strings: no doubled or trailing slashes.
fd_norm() {
  local p=$1
  while [[ $p == *//* ]]; do p=${p//\/\//\/}; done
  [ "$p" = / ] || p=${p%/}
  printf '%s' "$p"
}
# fd_within A B: A is B or lies under it.
fd_within() { [ "$1" = "$2" ] || [[ $1 == "${2%/}"/* ]]; }
# One line of at most 300 characters, for a message.
fd_flat() { local t=${1//$'\n'/ }; printf '%s' "${t:0:300}"; }
fd_real() { realpath -m -- "$1" 2>/dev/null || printf '%s' "$1"; }

# fd_purge_parse TEXT: reads purge-tree.sh's output (one or several roots): P_DIRS P_FILES
# (removed), P_COUNTED (a count came), P_MISSING, P_LEFT, P_PATHS (up to 10), P_ERR.
fd_purge_parse() {
  local line
  P_DIRS=0 P_FILES=0 P_COUNTED="" P_MISSING="" P_LEFT=0 P_PATHS=() P_ERR=""
  while IFS= read -r line; do
    if [[ $line =~ ^([0-9]+)\ ([0-9]+)$ ]]; then
      P_DIRS=$((P_DIRS + BASH_REMATCH[1])) P_FILES=$((P_FILES + BASH_REMATCH[2])) P_COUNTED=yes
    elif [[ $line =~ ^left\ ([0-9]+)$ ]]; then
      P_LEFT=$((P_LEFT + BASH_REMATCH[1]))
    else
      case $line in
        missing) P_MISSING=yes ;;
        "path "*) if [ "${#P_PATHS[@]}" -lt 10 ]; then P_PATHS+=("${line#path }"); fi ;;
        "error "*) if [ -z "$P_ERR" ]; then P_ERR=${line#error }; fi ;;
        "") ;;
        *) if [ -z "$P_ERR" ]; then P_ERR=$line; fi ;;
      esac
    fi
  done <<<"$1"
}
# P_PATHS as one line, each path with the prefix $1 replaced by $2 (a container's view of a host
# directory shown as the host's).
fd_purge_paths() {
  local p out=()
  for p in ${P_PATHS[@]+"${P_PATHS[@]}"}; do
    if [ -n "${1-}" ] && [[ $p == "$1"* ]]; then p=$2${p#"$1"}; fi
    out+=("$p")
  done
  if [ "$P_LEFT" -gt "${#out[@]}" ]; then out+=("…"); fi
  local text=""
  for p in ${out[@]+"${out[@]}"}; do text+="${text:+, }$p"; done
  printf '%s' "$text"
}

host_dir=""
if [ -n "$FD_SOURCE_DIR" ] && [ -d "$FD_SOURCE_DIR" ]; then host_dir=$(cd -- "$FD_SOURCE_DIR" && pwd -P); fi

# One inspect: state, image, working dir, environment and mounts (\x1f between fields, \x1e
# between items, \x1d between a mount's fields: none of them is in a path or a variable).
running="" image="" workdir="" envs="" mount_list=""
if [ -n "$cid" ]; then
  info=$(docker inspect --format '{{.State.Running}}{{"\x1f"}}{{.Image}}{{"\x1f"}}{{.Config.WorkingDir}}{{"\x1f"}}{{range .Config.Env}}{{.}}{{"\x1e"}}{{end}}{{"\x1f"}}{{range .Mounts}}{{.Type}}{{"\x1d"}}{{.Source}}{{"\x1d"}}{{.Destination}}{{"\x1d"}}{{.RW}}{{"\x1e"}}{{end}}' "$cid" 2>/dev/null) || info=""
  IFS=$'\x1f' read -r -d '' running image workdir envs mount_list <<<"$info" || true
  mount_list=${mount_list%$'\n'}
fi

# The trees that outlive the recreate: each volume or bind mount at, under or above
# container-source-dir (only the part under it), and the same for PYTHONPYCACHEPREFIX. A bind
# mount of the host's source-dir is left to the host's purge (counted once, and retried as
# root there). exec_dir: where the container sees the host's source-dir through a writable
# bind mount, for that retry.
csd=$(fd_norm "$FD_CONTAINER_SOURCE_DIR")
prefix=""
while IFS= read -r -d $'\x1e' e; do
  case $e in PYTHONPYCACHEPREFIX=?*) prefix=${e#PYTHONPYCACHEPREFIX=} ;; esac
done <<<"$envs"
if [ -n "$prefix" ]; then
  [[ $prefix == /* ]] || prefix=${workdir:-/}/$prefix
  prefix=$(fd_norm "$prefix")
fi
targets=() covered="" exec_dir=""
while IFS=$'\x1d' read -r -d $'\x1e' type source dest rw; do
  case $type in bind | volume) ;; *) continue ;; esac
  dest=$(fd_norm "$dest")
  for want in "$csd" ${prefix:+"$prefix"}; do
    if fd_within "$dest" "$want"; then t=$dest
    elif fd_within "$want" "$dest"; then t=$want
    else continue; fi
    if [ "$type" = bind ] && [ -n "$host_dir" ] && fd_within "$(fd_real "$source${t#"$dest"}")" "$host_dir"; then
      covered=$t
      continue
    fi
    targets+=("$t")
  done
  if [ "$type" = bind ] && [ "$rw" = true ] && [ -n "$host_dir" ] && [ -z "$exec_dir" ]; then
    src_real=$(fd_real "$source")
    if fd_within "$host_dir" "$src_real"; then exec_dir=$dest${host_dir#"$src_real"}; fi
  fi
done <<<"$mount_list"
# A tree inside another one is walked with it.
walk=()
for t in ${targets[@]+"${targets[@]}"}; do
  keep=yes
  for u in "${targets[@]}" ${walk[@]+"${walk[@]}"}; do
    if [ "$u" != "$t" ] && fd_within "$t" "$u"; then keep=""; fi
  done
  for u in ${walk[@]+"${walk[@]}"}; do if [ "$u" = "$t" ]; then keep=""; fi; done
  if [ -n "$keep" ]; then walk+=("$t"); fi
done

# The container's purge runs while the host's does: one docker exec (~0.1 s), as root, since
# what lies in a volume belongs to whoever wrote it (the image's root-owned files copied into a
# new volume, for an app that runs as another user). Exit 90: no find in the container.
no_find=90
container_pid=""
if [ -n "$cid" ] && [ "$running" = "true" ] && [ "${#walk[@]}" -gt 0 ]; then
  echo "purging inside container ${cid:0:12}, as root: ${walk[*]}"
  in_container=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-purge.XXXXXX")
  trap 'rm -f -- "$in_container"' EXIT
  # shellcheck disable=SC2016 # expanded in the container
  docker exec -u 0 -i "$cid" sh -s -- "$FD_PURGE_SH" "${walk[@]}" >"$in_container" 2>&1 <<<'command -v find >/dev/null 2>&1 || exit '"$no_find"'
tree=$1
shift
rc=0
for t do sh -c "$tree" purge "$t" </dev/null || rc=$?; done
exit "$rc"' &
  container_pid=$!
fi

host_rc=0
host=$(sh -c "$FD_PURGE_SH" purge "$FD_SOURCE_DIR" 2>&1 </dev/null) || host_rc=$?
fd_purge_parse "$host"
if [ -n "$P_MISSING" ]; then
  fd_out purged-host missing
else
  host_dirs=$P_DIRS host_files=$P_FILES
  if [ "$host_rc" != 0 ]; then
    # What the deploy user could not delete (root-owned __pycache__ written through a bind
    # mount by a container that runs as root): as root through Docker, which the deploy user
    # may use. In the running container when it bind-mounts source-dir (~0.1 s), else in a
    # one-off container of the service's own image (local, never pulled).
    first_err=${P_ERR:-exit $host_rc} first_left=$P_LEFT
    user=$(id -un 2>/dev/null || id -u)
    where="$(pwd)/$FD_SOURCE_DIR"
    if [ -n "$exec_dir" ] && [ "$running" = "true" ]; then
      how="docker exec -u 0 into container ${cid:0:12}, where it is $exec_dir"
      from=$exec_dir
      retry_rc=0
      retry=$(docker exec -u 0 -i "$cid" sh -s -- "$exec_dir" 2>&1 <<<"$FD_PURGE_SH") || retry_rc=$?
    elif [ -n "$image" ] && [ -n "$host_dir" ]; then
      img=${image#sha256:}
      how="a one-off container of image ${img:0:12}, as root"
      from=/fresh-deploy-purge
      retry_rc=0
      retry=$(docker run --rm -i -u 0 --network none --entrypoint sh \
        --mount "type=bind,\"source=${host_dir//\"/\"\"}\",target=$from" "$image" -s -- "$from" 2>&1 <<<"$FD_PURGE_SH") || retry_rc=$?
    else
      how=""
    fi
    if [ -z "$how" ]; then
      fd_out purge-warning "could not delete $first_left bytecode path(s) under $where on the host as $user ($first_err), and service $FD_SERVICE has no container whose image could delete them as root: $(fd_purge_paths); the bytecode probe decides whether they matter"
    else
      fd_purge_parse "$retry"
      host_dirs=$((host_dirs + P_DIRS)) host_files=$((host_files + P_FILES))
      if [ "$retry_rc" = 0 ]; then
        echo "deleted $((P_DIRS + P_FILES)) bytecode item(s) under $where that $user could not ($first_err) as root through Docker ($how)"
      elif [ -n "$P_COUNTED" ]; then
        fd_out purge-warning "could not delete $P_LEFT bytecode path(s) under $where on the host, as $user ($first_err) nor as root through Docker ($how: ${P_ERR:-exit $retry_rc}): $(fd_purge_paths "$from" "$host_dir"); the bytecode probe decides whether they matter"
      else
        P_PATHS=() P_LEFT=0
        fd_purge_parse "$host"
        fd_out purge-warning "could not delete $first_left bytecode path(s) under $where on the host as $user ($first_err), and deleting them as root through Docker failed ($how: exit $retry_rc, $(fd_flat "$retry")): $(fd_purge_paths); the bytecode probe decides whether they matter"
      fi
    fi
  fi
  fd_out purged-host "$host_dirs $host_files"
fi

if [ -z "$cid" ]; then
  fd_out purged-container "skip no container yet"
elif [ "$running" != "true" ]; then
  fd_out purged-container "skip container not running"
elif [ -z "$container_pid" ]; then
  if [ -n "$covered" ]; then
    fd_out purged-container "skip its bind mount at $covered is source-dir on the host, purged there"
  else
    fd_out purged-container "skip no volume or bind mount at, under or above $csd (the recreate replaces the rest)"
  fi
else
  container_rc=0
  wait "$container_pid" || container_rc=$?
  c_out=$(cat -- "$in_container")
  rm -f -- "$in_container"
  trap - EXIT
  fd_purge_parse "$c_out"
  case $container_rc in
    0) fd_out purged-container "$P_DIRS $P_FILES" ;;
    # 126/127: docker found no sh to run.
    "$no_find" | 126 | 127) fd_out purged-container "skip no sh or find in the container" ;;
    *)
      if [ -n "$P_COUNTED" ]; then
        fd_out purged-container "$P_DIRS $P_FILES"
        fd_out purge-warning "could not delete $P_LEFT bytecode path(s) in container ${cid:0:12}, even as root (${P_ERR:-exit $container_rc}): $(fd_purge_paths); the bytecode probe decides whether they matter"
      else
        fd_out purged-container "skip the purge could not run in the container"
        fd_out purge-warning "could not purge bytecode in container ${cid:0:12} (${walk[*]}): exit $container_rc, $(fd_flat "$c_out"); the bytecode probe decides whether it matters"
      fi ;;
  esac
fi
