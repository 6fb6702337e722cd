# shellcheck shell=bash
# sync (sync: git): fetch and check out FD_REF detached. Refuses a working tree with uncommitted
# changes to tracked files unless FD_DISCARD=true; never deletes untracked files.
# The compose files are looked for after the checkout: those of ref count (the commit being
# deployed may add or move them).
# In: FD_PROJECT_DIR FD_REF FD_DISCARD FD_SERVICE (+ compose vars)
# Out: dirty FILE (repeated, exit 5), untracked FILE (repeated, exit 7), previous-head, head,
#      service-build

fd_enter_dir
export GIT_TERMINAL_PROMPT=0
previous=$(git rev-parse HEAD 2>/dev/null || true)
fd_out previous-head "$previous"

dirty=$(git status --porcelain --untracked-files=no)
if [ -n "$dirty" ]; then
  if [ "$FD_DISCARD" != "true" ]; then
    while IFS= read -r line; do fd_out dirty "${line:3}"; done <<<"$dirty"
    exit 5
  fi
  echo "sync-discard-changes: true: discarding uncommitted changes to tracked files:"
  printf '  %s\n' "$dirty"
fi

if [ -n "$(git remote)" ]; then
  remote=$(git remote | grep -x origin || git remote | sed -n 1p)
  echo "fetching from $remote"
  git fetch --quiet --prune --tags -- "$remote" >&2
fi

full_sha=no
if [[ "$FD_REF" =~ ^[0-9a-f]{40}$ ]]; then full_sha=yes; fi
# The runner refuses these already (input ref); here too, as git fetch would take "a:b" for a
# refspec and "-x" for an option.
if [ "$full_sha" = no ]; then
  case $FD_REF in -* | +*) fd_input_error ref "is not a branch, tag or commit SHA" ;; esac
  git check-ref-format --allow-onelevel "$FD_REF" || fd_input_error ref "is not a branch, tag or commit SHA (git check-ref-format)"
fi
target=""
if [ "$full_sha" = no ] && [ -n "${remote:-}" ] && git show-ref --verify --quiet "refs/remotes/$remote/$FD_REF"; then
  target=$(git rev-parse --verify --end-of-options "refs/remotes/$remote/$FD_REF^{commit}")
fi
if [ -z "$target" ]; then
  target=$(git rev-parse --verify --quiet --end-of-options "$FD_REF^{commit}" 2>/dev/null || true)
fi
if [ -z "$target" ] && [ -n "${remote:-}" ]; then
  # A commit not on any fetched branch (e.g. a pull request head): fetch it by name.
  if git fetch --quiet -- "$remote" "$FD_REF" >&2 2>/dev/null; then
    target=$(git rev-parse --verify "FETCH_HEAD^{commit}")
  fi
fi
[ -n "$target" ] || fd_input_error ref "not found in $(pwd) (after fetching)"

# Untracked files are never deleted: not by --force, and not as git does for ignored files
# (expendable to git: a checkout of a commit that tracks .env overwrites an ignored .env
# silently). Refused, with the list, when ref tracks a path that exists here untracked.
in_the_way=$(
  cd -- "$(git rev-parse --show-toplevel)" &&
    LC_ALL=C comm -12 <(git ls-tree -r --name-only "$target" | LC_ALL=C sort) <(git ls-files --others | LC_ALL=C sort)
)
if [ -n "$in_the_way" ]; then
  while IFS= read -r line; do fd_out untracked "$line"; done <<<"$in_the_way"
  exit 7
fi
if [ "$FD_DISCARD" = "true" ]; then
  # Discards the changes to tracked files only; the checkout below still refuses to overwrite
  # an untracked file (no --force).
  git reset --quiet --hard
fi
git checkout --quiet --detach "$target" --
head=$(git rev-parse HEAD)
if [ "$full_sha" = yes ] && [ "$head" != "$FD_REF" ]; then
  fd_die "after checkout HEAD is $head, not $FD_REF"
fi
fd_out head "$head"
echo "checked out $head (was ${previous:-nothing})"
fd_resolve_files
fd_service_info
