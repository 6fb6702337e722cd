# shellcheck shell=bash
# cutover (strategy: start-first, the new container proven): the new container takes the
# service's name (and aliases) on every project network; after FD_CUTOVER_WAIT seconds, in which
# proxies' DNS caches learn it, the old one is stopped (with stop-timeout: it finishes what it
# serves; Docker's DNS drops it as it stops, and a proxy that still tries it is refused and
# tries the new one) and removed. The service ends with the new container alone.
# Runs as one detached unit (fd_detached): a connection dropped half-way cannot leave the
# service without a container under its name; the unit finishes the cutover.
# In: FD_SF_OLD FD_SF_NEW FD_SF_NETWORKS ("NET ALIAS..." lines) FD_CUTOVER_WAIT FD_STOP_TIMEOUT
#     FD_RENEW_ANON (+ compose)
# Out: cutover-named SECONDS (when the new one had the name), cutover-stopped SECONDS

fd_lock_guard cutover
fd_enter_project
: "${FD_CUTOVER_WAIT:?}"
# shellcheck disable=SC2016 # the unit's own script, expanded by the unit
FD_CUTOVER_UNIT='set -u
rec=$FD_UNIT_REC old=$1 new=$2 wait=$3 stop=$4 renew=$5 nets=$6
unset FD_UNIT_REC
t0=$(date +%s.%N)
while read -r net aliases; do
  [ -n "$net" ] || continue
  args=()
  for a in $aliases; do args+=(--alias "$a"); done
  docker network disconnect "$net" "$new" >/dev/null || exit 4
  docker network connect ${args[@]+"${args[@]}"} "$net" "$new" >/dev/null || exit 4
  echo "+ new container ${new:0:12} joined $net as: ${aliases:-(no alias)}"
done <<<"$nets"
t1=$(date +%s.%N)
printf "%scutover-named %s\n" "$rec" "$(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.1f\", b - a }")"
echo "waiting $wait s for proxies to see it, then stopping ${old:0:12}"
sleep "$wait"
if [ -n "$stop" ]; then docker stop -t "$stop" "$old" >/dev/null || exit 5; else docker stop "$old" >/dev/null || exit 5; fi
if [ "$renew" = true ]; then docker rm -v "$old" >/dev/null || exit 6; else docker rm "$old" >/dev/null || exit 6; fi
t2=$(date +%s.%N)
echo "+ old container ${old:0:12} stopped and removed"
printf "%scutover-stopped %s\n" "$rec" "$(awk -v a="$t1" -v b="$t2" "BEGIN { printf \"%.1f\", b - a }")"'
# From a file (removed when the unit ends), so that the log shows its arguments, not its text.
unit=$(mktemp "${TMPDIR:-/tmp}/fresh-deploy-cutover.XXXXXX")
printf '%s\n' "$FD_CUTOVER_UNIT" >"$unit"
rc=0
# The result lines' prefix (the run's nonce) through the environment, not the arguments, which
# the log and ps show: nothing the app prints may learn it.
FD_UNIT_REC=$FD_REC fd_detached --rm "$unit" bash "$unit" "$FD_SF_OLD" "$FD_SF_NEW" "$FD_CUTOVER_WAIT" "${FD_STOP_TIMEOUT:-}" "$FD_RENEW_ANON" "$FD_SF_NETWORKS" || rc=$?
case $rc in
  0) ;;
  4) fd_die "the new container ${FD_SF_NEW:0:12} could not take the service's name (docker network connect failed); the old container ${FD_SF_OLD:0:12} still serves" ;;
  5) fd_die "the old container ${FD_SF_OLD:0:12} could not be stopped (docker stop failed) after the new container ${FD_SF_NEW:0:12} took the service's name" ;;
  *) fd_die "the cutover failed (exit $rc) after the new container ${FD_SF_NEW:0:12} took the service's name" ;;
esac
