# shellcheck shell=sh
# http-client: one GET of URL with the first http client found, trying them in ORDER (words
# among curl, wget, python3, busybox). Runs on the target host (sh -c) or inside the service
# container (docker exec ... sh -c): so POSIX sh, and no temp files (a read_only container has
# no writable /tmp).
# Args: ORDER URL MAX_SECONDS PYTHON_CODE LIMIT_BYTES
# Out: the body on stdout (at most LIMIT_BYTES are read by the caller); on stderr, first
#      "fd-http-client NAME", then the client's response headers with each "HTTP/x NNN" status
#      line (redirects and proxy CONNECTs first, the final answer last). No client:
#      "fd-http-client none (looked for ...)", exit 127.
# Every client behaves alike: redirects followed, one request given up after MAX_SECONDS,
# proxies from the usual environment variables, a non-2xx answer's body kept.
order=$1 url=$2 max=$3 py=$4 limit=$5
looked=""
for c in $order; do
  case $c in
    curl)
      looked="$looked curl"
      if command -v curl >/dev/null 2>&1; then
        echo "fd-http-client curl" >&2
        # --globoff: [] and {} in the URL are characters, not curl's ranges. -D: the headers
        # of every hop to stderr, the final status line last.
        exec curl -sS -L --globoff --max-redirs 20 --max-time "$max" -D /dev/stderr -o - --url "$url"
      fi ;;
    wget)
      looked="$looked wget"
      if command -v wget >/dev/null 2>&1; then
        if wget --version 2>/dev/null | grep -q 'GNU Wget'; then
          echo "fd-http-client wget" >&2
          # --tries=1: GNU wget retries a timed-out read 20 times; the poll loop retries.
          exec wget -S --tries=1 --max-redirect=20 --content-on-error -T "$max" -O - -- "$url"
        fi
        echo "fd-http-client wget (busybox)" >&2
        exec wget -S -T "$max" -O - "$url"
      fi ;;
    python3)
      looked="$looked python3"
      if command -v python3 >/dev/null 2>&1; then
        echo "fd-http-client python3" >&2
        exec python3 -c "$py" "$url" "$max" "$limit"
      fi ;;
    busybox)
      looked="$looked busybox-wget"
      if command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx wget; then
        echo "fd-http-client busybox wget" >&2
        exec busybox wget -S -T "$max" -O - "$url"
      fi ;;
  esac
done
echo "fd-http-client none (looked for${looked})" >&2
exit 127
