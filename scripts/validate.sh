#!/usr/bin/env bash
# Validates action.yml and every workflow (.github/workflows/*.yml, examples/workflows/*.yml)
# against the GitHub Actions schemas with action-validator (@action-validator/cli, a wasm build:
# nothing is downloaded at install or run time). Exits 1 when any file has an error.
#
# action-validator 0.6.0 ships a schema that predates `runs.using: node24`, so action.yml is
# validated through a copy that says node20, and `using` is checked here on its own.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

validator=node_modules/.bin/action-validator
if [[ ! -x $validator ]]; then
  echo "validate: $validator not found: run npm ci" >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
checked=0

validate() { # validate FILE [AS]: AS is the path handed to the validator (its name picks the schema)
  local file=$1 as=${2:-$1} out
  checked=$((checked + 1))
  if out=$("$validator" "$as" 2>&1); then
    echo "ok      $file"
  else
    echo "FAILED  $file" >&2
    printf '%s\n' "$out" >&2
    failed=$((failed + 1))
  fi
}

# action.yml: `using` must be a Node runtime GitHub runs; the rest goes to the schema.
using=$(sed -n 's/^[[:space:]]*using:[[:space:]]*["'\'']\{0,1\}\([A-Za-z0-9]*\).*/\1/p' action.yml | head -n 1)
case $using in
  node20 | node24) ;;
  *)
    echo "FAILED  action.yml: runs.using is '${using}', expected node20 or node24" >&2
    failed=$((failed + 1))
    ;;
esac
sed 's/^\([[:space:]]*using:[[:space:]]*["'\'']\{0,1\}\)node24/\1node20/' action.yml >"$tmp/action.yml"
validate action.yml "$tmp/action.yml"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml examples/workflows/*.yml examples/workflows/*.yaml)
for f in "${workflows[@]}"; do
  validate "$f"
done

# Steps that use this action: their `with:` keys against action.yml's inputs.
if ((${#workflows[@]} > 0)) && ! node scripts/check-uses.mjs "${workflows[@]}"; then
  failed=$((failed + 1))
fi

if ((failed > 0)); then
  echo "validate: $failed problem(s) found in $checked files checked" >&2
  exit 1
fi
echo "validate: $checked files valid"
