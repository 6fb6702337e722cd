# shellcheck shell=sh
# Removes bytecode under "$1": __pycache__ directories, then *.pyc/*.pyo files outside them.
# POSIX sh and no temporary file (a read_only: true container has no writable /tmp): the same
# text runs on the host and, through `docker exec -i … sh -s`, in the container.
# Prints "DIRS FILES" (what was removed) and exits 0 when no bytecode is left. When some could
# not be deleted (permissions, a read-only file system) or a directory could not be read, it
# prints then "left N", up to 10 lines "path PATH" and "error MESSAGE", and exits 1: the caller
# retries as root or warns. A __pycache__ that stays but holds no file any more (a mount point
# inside the tree) is neither left nor counted as removed: no bytecode remains in it.
# Where find -print0, xargs -0 -P, tr and grep exist (GNU, busybox), one walk lists what to
# delete and several rm run at once: deleting is mostly waiting on the filesystem (journal,
# discard, overlayfs whiteouts), and 20,000 files go 2-4x sooner that way. Elsewhere find runs
# rm itself, one walk per kind.
set -eu
root=$1
# find takes a path that begins with "-" for an expression.
case $root in -*) root=./$root ;; esac
if [ ! -d "$root" ]; then echo "missing"; exit 0; fi
# Walked from "$root/.": a root that is itself a __pycache__ (a volume mounted there) is walked
# into, not taken for a directory to remove (a mount point cannot be).
top=$root/.
nl='
'
failed=""
total=0
dirs=0
if command -v tr >/dev/null 2>&1 && command -v grep >/dev/null 2>&1 &&
  printf 'x\0' | xargs -0 -P 2 -n 1 true >/dev/null 2>&1 &&
  find "$top" -prune -print0 >/dev/null 2>&1; then
  # One walk lists both kinds (find does not enter a __pycache__ it lists, so a file it lists
  # lies outside them), kept in memory with NUL -> newline, newline -> \001. A walk that fails
  # (a directory it cannot read) ends the list with a line that no path can be.
  marker="$(printf '\001')walk-error"
  list=$({ find "$top" \( -type d -name __pycache__ -prune -print0 \) -o \( -type f \( -name '*.pyc' -o -name '*.pyo' \) -print0 \) 2>/dev/null || printf '%s\0' "$marker"; } | tr '\n\000' '\001\n')
  case $list in
    "$marker") failed=yes; list="" ;;
    *"$nl$marker") failed=yes; list=${list%"$nl$marker"} ;;
  esac
  if [ -n "$list" ]; then
    # A path ending in __pycache__ is a directory, the rest are files.
    total=$(($(printf '%s\n' "$list" | wc -l)))
    dirs=$(($(printf '%s\n' "$list" | grep -c '__pycache__$' || true)))
    printf '%s\n' "$list" | tr '\n\001' '\000\n' | xargs -0 -P 8 -n 64 rm -rf -- 2>/dev/null || failed=yes
  fi
else
  # One walk per kind: a "x" per path (a path may hold a newline), then the batch is deleted by
  # find's own rm. The files' walk skips every __pycache__, deleted or not.
  # shellcheck disable=SC2016 # expanded by the inner sh
  del='for f do printf x; done; rm -rf -- "$@" 2>/dev/null'
  n=$(find "$top" -type d -name __pycache__ -prune -exec sh -c "$del" purge {} + 2>/dev/null) || failed=yes
  dirs=${#n}
  n=$(find "$top" \( -type d -name __pycache__ -prune \) -o \( -type f \( -name '*.pyc' -o -name '*.pyo' \) -exec sh -c "$del" purge {} + \) 2>/dev/null) || failed=yes
  n=${#n}
  total=$((dirs + n))
fi

if [ -z "$failed" ]; then
  echo "$dirs $((total - dirs))"
  exit 0
fi

# Something failed: a second walk says what is left. Per batch of paths: "left DIRS FILES KEPT"
# (KEPT: emptied __pycache__ that stay), up to 10 "path P" and the first "error M" (rm's own
# message, from deleting the path once more).
# shellcheck disable=SC2016 # expanded by the inner sh
check='r=$0 nl="
" d=0 n=0 k=0 shown=0 err=""
for f do
  kind=""
  case $f in
    */__pycache__)
      if [ -r "$f" ] && [ -x "$f" ]; then
        for x in "$f"/* "$f"/.[!.]* "$f"/..?*; do
          if [ -e "$x" ] || [ -L "$x" ]; then kind=d; break; fi
        done
      else
        kind=d
      fi ;;
    *) kind=f ;;
  esac
  if [ -z "$kind" ]; then k=$((k + 1)); continue; fi
  if [ "$kind" = d ]; then d=$((d + 1)); else n=$((n + 1)); fi
  if [ -z "$err" ]; then
    err=$(rm -rf -- "$f" 2>&1 || true)
    err=${err%%"$nl"*}
    case $err in *"$r/./"*) err=${err%%"$r/./"*}$r/${err#*"$r/./"} ;; esac
  fi
  if [ "$shown" -lt 10 ]; then
    shown=$((shown + 1))
    case $f in "$r/./"*) f=$r/${f#"$r/./"} ;; esac
    case $f in *"$nl"*) f=$(printf "%s" "$f" | tr "$nl" "?") ;; esac
    printf "path %s\n" "$f"
  fi
done
echo "left $d $n $k"
if [ -n "$err" ]; then printf "error %s\n" "$err"; fi'
report=$(find "$top" \( -type d -name __pycache__ -prune -exec sh -c "$check" "$root" {} + \) -o \( -type f \( -name '*.pyc' -o -name '*.pyo' \) -exec sh -c "$check" "$root" {} + \) 2>&1) || true

# Sums the batches; any other line is find's own complaint (a directory it could not read).
printf '%s\n' "$report" | {
  ld=0 lf=0 lk=0 shown=0 paths="" err="" walk=""
  while IFS= read -r line; do
    case $line in
      "left "*)
        counts=${line#left }
        ld=$((ld + ${counts%% *}))
        counts=${counts#* }
        lf=$((lf + ${counts% *}))
        lk=$((lk + ${counts#* }))
        ;;
      "path "*)
        if [ "$shown" -lt 10 ]; then paths="$paths$line$nl"; shown=$((shown + 1)); fi ;;
      "error "*) if [ -z "$err" ]; then err=${line#error }; fi ;;
      "") ;;
      *) if [ -z "$walk" ]; then walk=$line; fi ;;
    esac
  done
  removed_dirs=$((dirs - ld - lk))
  removed_files=$((total - dirs - lf))
  [ "$removed_dirs" -ge 0 ] || removed_dirs=0
  [ "$removed_files" -ge 0 ] || removed_files=0
  echo "$removed_dirs $removed_files"
  if [ $((ld + lf)) -eq 0 ] && [ -z "$walk" ]; then exit 0; fi
  echo "left $((ld + lf))"
  printf '%s' "$paths"
  if [ -n "$err" ]; then
    printf 'error %s\n' "$err"
  elif [ -n "$walk" ]; then
    printf 'error %s\n' "$walk"
  fi
  exit 1
}
