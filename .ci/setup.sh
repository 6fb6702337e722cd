#!/usr/bin/env bash
# Installs and starts what the integration tests need on a fresh Debian (bookworm) machine, as
# root: Docker engine, compose v1 and v2, OpenSSH, shellcheck, a local python base image
# and a local nginx image (no registry is reachable here). Idempotent: a second run only checks.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
BASE_IMAGE=${FRESH_DEPLOY_BASE_IMAGE:-fresh-deploy/python-base:bookworm}
# The reverse proxy of the start-first tests and example (GitHub's runners: nginx:stable).
NGINX_IMAGE=${FRESH_DEPLOY_NGINX_IMAGE:-fresh-deploy/nginx:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=${FRESH_DEPLOY_SETUP_DIR:-/var/tmp/fresh-deploy-setup}
mkdir -p "$WORK"

log() { printf '== setup: %s\n' "$*"; }

need=()
for pkg in docker.io docker-compose openssh-server openssh-client debootstrap shellcheck git iproute2 curl wget util-linux; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log"; exit 1; }
fi

# Compose v2: not in bookworm; trixie's docker-compose package carries the CLI plugin (a static
# binary). Fetched with a separate sources list so the system stays on bookworm.
PLUGIN=/usr/libexec/docker/cli-plugins/docker-compose
if ! [ -x "$PLUGIN" ]; then
  log "fetching the compose v2 plugin from trixie"
  t="$WORK/trixie"
  mkdir -p "$t/lists/partial" "$t/cache/archives/partial" "$t/deb"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$t/sources.list"
  apt_t=(-o "Dir::Etc::SourceList=$t/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$t/lists"
    -o "Dir::Cache=$t/cache" -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0)
  apt-get "${apt_t[@]}" update -qq
  (cd "$t/deb" && apt-get "${apt_t[@]}" download docker-compose 2>/dev/null)
  dpkg -x "$t"/deb/docker-compose_*.deb "$t/x"
  install -D -m 0755 "$t/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN"
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  (setsid dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/dockerd.log; exit 1; }
fi
mkdir -p /run/sshd

# A Debian image with one package, from debootstrap (no registry is reachable here):
# debootstrap_image IMAGE PACKAGE CMD-JSON.
debootstrap_image() {
  local image=$1 package=$2 cmd=$3 root="$WORK/rootfs-$2"
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  log "building the image $image (Debian bookworm with $package) with debootstrap (about a minute)"
  rm -rf "$root"
  debootstrap --variant=minbase --include="$package" bookworm "$root" "$MIRROR" >"$WORK/debootstrap-$package.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap-$package.log"; exit 1; }
  tar -C "$root" -c . | docker import -c "CMD $cmd" - "$image" >/dev/null
  rm -rf "$root"
}
debootstrap_image "$BASE_IMAGE" python3 '["python3"]'
debootstrap_image "$NGINX_IMAGE" nginx '["nginx","-g","daemon off;"]'

log "docker $(docker version --format '{{.Server.Version}}'), $(docker compose version --short) (v2), $(docker-compose version --short) (v1), base image $BASE_IMAGE, nginx image $NGINX_IMAGE"
