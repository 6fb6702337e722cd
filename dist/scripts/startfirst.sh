# shellcheck shell=bash
# startfirst (strategy: start-first): one new container of the service next to the running one,
# from the image build.sh just built, stamped with this run's labels (the override file), on the
# project's networks but not under the service's name (nor its other aliases): a proxy that
# resolves the service sends it nothing until the cutover (cutover.sh). The old one is left alone.
# Without a running container (a first deploy, a stopped service) there is nothing to keep
# serving: rebuild.sh recreates as usual (this script then leaves FD_SKIP_REBUILD unset).
# In: FD_PROJECT_DIR FD_SERVICE FD_REF FD_OVERRIDE_YAML FD_KNOWN_CID (+ FD_KNOWN_CID_SET=yes: the
#     snapshot's, or the runner's in a heal) (+ compose)
# Out: start-first-skipped REASON, or old-container-id, sf-network "NET ALIAS...", then the new
#      container's container-id image-id started-at config-image
# Sets FD_CID (the new container), FD_SF_ACTIVE=yes and FD_SKIP_REBUILD=yes for the steps after it.

fd_lock_guard rebuild
fd_enter_project
export FRESH_DEPLOY_REVISION="$FD_REF"
if [ "${FD_KNOWN_CID_SET:-}" = "yes" ]; then old=$FD_KNOWN_CID; else old=$(fd_service_cid); fi
old_running=false
[ -z "$old" ] || old_running=$(docker inspect --format '{{.State.Running}}' "$old" 2>/dev/null || echo false)
if [ "$old_running" != "true" ]; then
  why="no running container of service $FD_SERVICE: nothing to keep serving, so it is recreated as with strategy: recreate"
  fd_out start-first-skipped "$why"
  echo "$why"
else
  project=$(docker inspect --format '{{index .Config.Labels "com.docker.compose.project"}}' "$old")
  list_service() {
    docker ps -a -q --no-trunc --filter "label=com.docker.compose.project=$project" \
      --filter "label=com.docker.compose.service=$FD_SERVICE" --filter "label=com.docker.compose.oneoff=False"
  }
  before=$(list_service)
  new=""
  # Whatever fails from here on: the new container goes, the old one was never touched.
  sf_fail() {
    local rc=$? c
    for c in $(list_service); do
      if [ "$c" != "$old" ] && ! grep -qxF -- "$c" <<<"$before"; then docker rm -f -v -- "$c" >/dev/null 2>&1 || true; fi
    done
    fd_die "$1 (exit $rc); the new container was removed, the old container ${old:0:12} was not touched and still serves"
  }
  override=$(fd_write_override)
  fd_compose_argv "$override"
  # --no-recreate: the running container stays as it is, whatever changed in the config.
  fd_detached --rm "$override" "${FD_ARGV[@]}" up --no-start --no-build --no-deps --no-recreate --scale "$FD_SERVICE=2" "$FD_SERVICE" \
    || sf_fail "compose could not create a second container of service $FD_SERVICE"
  for c in $(list_service); do
    if [ "$c" != "$old" ] && ! grep -qxF -- "$c" <<<"$before"; then new=$c; fi
  done
  [ -n "$new" ] || sf_fail "compose made no new container of service $FD_SERVICE (is another, stopped one in the way? $(list_service | tr '\n' ' '))"
  name=$(docker inspect --format '{{.Name}}' "$new") || sf_fail "could not inspect the new container"
  name=${name#/}
  echo "new container ${new:0:12} ($name) next to ${old:0:12}; hidden from the service's name until the cutover"
  # Each network: its aliases but the container's own name and id (which docker resolves anyway)
  # are what the cutover gives it back; until then it is reconnected without any.
  nets=$(docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{"\t"}}{{range $v.Aliases}}{{.}} {{end}}{{"\n"}}{{end}}' "$new") \
    || sf_fail "could not read the new container's networks"
  while IFS=$'\t' read -r net aliases; do
    [ -n "$net" ] || continue
    keep=()
    for a in $aliases; do
      if [ "$a" = "$name" ] || [[ "$new" == "$a"* ]]; then continue; fi
      keep+=("$a")
    done
    fd_out sf-network "$net ${keep[*]}"
    docker network disconnect "$net" "$new" >/dev/null || sf_fail "docker network disconnect $net from the new container failed"
    docker network connect "$net" "$new" >/dev/null || sf_fail "docker network connect $net to the new container failed"
  done <<<"$nets"
  docker start "$new" >/dev/null || sf_fail "the new container of service $FD_SERVICE could not start"
  fd_out old-container-id "$old"
  fd_report_container "$new"
  # shellcheck disable=SC2034 # read by verify.sh and the runner's script wrapper (scripts.ts)
  FD_SF_ACTIVE=yes FD_SKIP_REBUILD=yes
fi
