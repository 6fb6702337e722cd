#!/usr/bin/env bash
# Demo: deploys examples/app on this machine with the bundled action (local transport), changes
# its code, deploys again and shows that the new code is what runs. Needs a running Docker
# engine with compose; uses python:3.12-slim when it can, else a locally built base image.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-18080}

docker info >/dev/null 2>&1 || { echo "Docker is not running: run 'bash .ci/setup.sh' as root first" >&2; exit 1; }
if [ -z "${BASE_IMAGE:-}" ]; then
  if docker image inspect python:3.12-slim >/dev/null 2>&1 || timeout 60 docker pull -q python:3.12-slim >/dev/null 2>&1; then
    BASE_IMAGE=python:3.12-slim
  else
    BASE_IMAGE=fresh-deploy/python-base:bookworm
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || FRESH_DEPLOY_BASE_IMAGE=$BASE_IMAGE bash "$repo/.ci/setup.sh"
  fi
fi
echo "base image: $BASE_IMAGE"

work=$(mktemp -d /tmp/fresh-deploy-demo.XXXXXX)
cp -r "$repo/examples/app" "$work/app"
printf 'BASE_IMAGE=%s\nAPP_PORT=%s\n' "$BASE_IMAGE" "$port" >"$work/app/.env"

deploy() {
  local ref=$1 out="$work/output-$1"
  : >"$out"; : >"$work/state"; : >"$work/summary"
  env GITHUB_OUTPUT="$out" GITHUB_STATE="$work/state" GITHUB_STEP_SUMMARY="$work/summary" RUNNER_TEMP="$work" \
    "INPUT_PROJECT-DIR=$work/app" "INPUT_COMPOSE-PROJECT-NAME=fresh-deploy-demo" INPUT_SERVICE=backend \
    "INPUT_REF=$ref" "INPUT_VERIFY-URL=http://127.0.0.1:$port/version" "INPUT_VERIFY-EXPECT=$ref" \
    INPUT_PORT=22 INPUT_SSH-STRICT=true INPUT_CONNECT-TIMEOUT=15 INPUT_COMPOSE-COMMAND=auto INPUT_SYNC=none \
    INPUT_SYNC-DISCARD-CHANGES=false INPUT_PURGE=true INPUT_SOURCE-DIR=src INPUT_CONTAINER-SOURCE-DIR=/app/src \
    INPUT_BUILD-NO-CACHE=false INPUT_BUILD-PULL=false INPUT_RENEW-ANON-VOLUMES=true INPUT_HEALTH-TIMEOUT=120 \
    INPUT_VERIFY=true INPUT_VERIFY-FROM=host INPUT_VERIFY-TIMEOUT=60 INPUT_VERIFY-INTERVAL=1 INPUT_STALE-RETRIES=1 \
    INPUT_ROLLBACK=true INPUT_LOCK-TIMEOUT=600 INPUT_DRY-RUN=false \
    node "$repo/dist/index.js" | grep -v '^::debug::'
  echo "-> verdict $(sed -n '/^verdict<</{n;p}' "$out"), verified $(sed -n '/^verified<</{n;p}' "$out")"
  echo "-> http://127.0.0.1:$port/version says: $(curl -s "http://127.0.0.1:$port/version")"
}

echo "== deploy 1: version 1"
deploy demo-rev-1
sed -i 's/VERSION = .*/VERSION = "2"/' "$work/app/src/app/version.py"
echo "== deploy 2: the code changed to version 2"
deploy demo-rev-2
echo "== job summary of deploy 2"
cat "$work/summary"
echo
echo "The demo service keeps running (project fresh-deploy-demo, port $port)."
echo "Stop it with: docker compose -p fresh-deploy-demo --project-directory $work/app down"
