# shellcheck shell=bash
# image-files: the source files as the image itself holds them, in a throwaway container of the
# image with no network and no mount of the service (the heal asks when the container's differing
# files all lie in mounts: then a rebuild cannot help). The entrypoint is bypassed.
# In: FD_IMAGE FD_CONTAINER_SOURCE_DIR FD_FINGERPRINT_SH FD_SOURCE_NAMES
# Out: image-dir yes|no|error, if SHA PATH lines

names=()
while IFS= read -r n; do [ -z "$n" ] || names+=("$n"); done <<<"${FD_SOURCE_NAMES:-*.py}"
rc=0
out=$(docker run --rm --network none --entrypoint sh -- "$FD_IMAGE" -c "$FD_FINGERPRINT_SH" fingerprint "$FD_CONTAINER_SOURCE_DIR" "${names[@]}" 2>&1) || rc=$?
case "$rc" in
  0)
    fd_out image-dir yes
    while IFS= read -r line; do [ -z "$line" ] || fd_out if "$line"; done <<<"$out"
    ;;
  3) fd_out image-dir no ;;
  *) fd_out image-dir "error exit $rc: ${out:0:300}" ;;
esac
