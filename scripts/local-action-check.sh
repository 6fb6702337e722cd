#!/usr/bin/env bash
# Runs the action under @github/local-action (a dry run of examples/app over the local
# transport, inputs from .env.example) and fails unless it reached the dry-run verdict:
# local-action itself exits 0 even when the action fails.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GITHUB_OUTPUT="$work/output" GITHUB_STATE="$work/state" GITHUB_STEP_SUMMARY="$work/summary"
: >"$GITHUB_OUTPUT"; : >"$GITHUB_STATE"; : >"$GITHUB_STEP_SUMMARY"
out=$(npm run --silent local-action 2>&1) || { printf '%s\n' "$out" | tail -40; exit 1; }
if ! grep -qx 'dry-run' "$GITHUB_OUTPUT" || ! grep -q '^verdict<<' "$GITHUB_OUTPUT"; then
  printf '%s\n' "$out" | tail -40
  echo "local-action: the dry run did not reach verdict dry-run" >&2
  exit 1
fi
echo "local-action: dry run ok (verdict dry-run, summary $(wc -l <"$GITHUB_STEP_SUMMARY") lines)"
