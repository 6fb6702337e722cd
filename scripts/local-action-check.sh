#!/usr/bin/env bash
# Runs the action under @github/local-action (a dry run of examples/app over the local
# transport, inputs from .env.example) and fails unless it reached the dry-run verdict:
# local-action itself exits 0 even when the action fails.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(npm run --silent local-action 2>&1) || { printf '%s\n' "$out"; exit 1; }
if ! printf '%s\n' "$out" | grep -q "'verdict'.*'dry-run'"; then
  printf '%s\n' "$out" | tail -40
  echo "local-action: the dry run did not reach verdict dry-run" >&2
  exit 1
fi
echo "local-action: dry run ok (verdict dry-run)"
