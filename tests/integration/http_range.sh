#!/bin/sh
# http_range.sh - byte ranges on droverd's file replies (kernels and initrds under
# /pxe/files, the same code as the repository publications under /content): curl -r,
# suffix and open ranges, 416, several ranges (the whole file), If-Range with the ETag or
# the date, conditional GET (304), HEAD, and curl -C - resuming a partial download.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

root=$TAP_TMP/tftproot
mkdir -p "$root/boot"
head -c 3000000 /dev/urandom >"$root/boot/initrd.img"
printf 'tftp:\n  root: %s\n' "$root" >"$TAP_TMP/droverd.yml"
ok "droverd starts" droverd_start "$TAP_TMP/state" --config "$TAP_TMP/droverd.yml"
F=$DROVERD_URL/pxe/files/boot/initrd.img
I=$root/boot/initrd.img
cd "$TAP_TMP" || exit 1

# code ARGS...: the status curl got.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# bytes FILE FIRST COUNT: COUNT bytes of FILE from FIRST, in hex.
bytes() { dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
hex() { od -An -tx1 | tr -d ' \n'; }

curl -s -D h0 -o whole "$F"
ok "a whole GET is byte for byte" cmp whole "$I"
like "it says ranges are accepted" "$(cat h0)" 'Accept-Ranges: bytes'
etag=$(sed -n 's/^ETag: \(.*\)\r$/\1/p' h0)
modified=$(sed -n 's/^Last-Modified: \(.*\)\r$/\1/p' h0)
like "with an ETag" "$etag" '^"[0-9a-f-]+"$'
like "and Last-Modified" "$modified" 'GMT$'

curl -s -D h1 -r 0-99 -o r1 "$F"
like "curl -r 0-99 is a 206" "$(head -1 h1)" '^HTTP/1.1 206'
like "with Content-Range" "$(cat h1)" 'Content-Range: bytes 0-99/3000000'
is "and the first 100 bytes" "$(hex <r1)" "$(bytes "$I" 0 100)"
is "curl -r 2999990- is the last 10 bytes" "$(curl -s -r 2999990- "$F" | hex)" \
	"$(bytes "$I" 2999990 10)"
is "a suffix range (-16) is the last 16 bytes" "$(curl -s -H 'Range: bytes=-16' "$F" | hex)" \
	"$(bytes "$I" 2999984 16)"
is "a range past the end is cut to the file" "$(curl -s -r 2999999-5000000 "$F" | hex)" \
	"$(bytes "$I" 2999999 1)"
is "a middle range of 1 MB" "$(curl -s -r 1000000-1999999 "$F" | sha256sum)" \
	"$(dd if="$I" bs=1000000 skip=1 count=1 2>/dev/null | sha256sum)"
curl -s -D h2 -o /dev/null -r 3000000- "$F"
like "a range starting past the end is a 416" "$(head -1 h2)" '^HTTP/1.1 416'
like "naming the size" "$(cat h2)" 'Content-Range: bytes \*/3000000'
is "several ranges: the whole file (200)" "$(code -r 0-1,5-6 "$F")" 200
is "a malformed range is ignored (200)" "$(code -H 'Range: bytes=x-y' "$F")" 200
is "a range of another unit is ignored (200)" "$(code -H 'Range: lines=1-2' "$F")" 200
is "If-Range with the ETag: the range (206)" "$(code -r 5-9 -H "If-Range: $etag" "$F")" 206
is "If-Range with the date: the range (206)" "$(code -r 5-9 -H "If-Range: $modified" "$F")" 206
is "If-Range with another ETag: the whole file (200)" \
	"$(curl -s -r 5-9 -H 'If-Range: "other"' "$F" | wc -c)" 3000000
is "If-None-Match with the ETag: 304" "$(code -H "If-None-Match: $etag" "$F")" 304
is "If-Modified-Since the date: 304" "$(code -H "If-Modified-Since: $modified" "$F")" 304
is "If-Modified-Since an older date: 200" \
	"$(code -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT' "$F")" 200
curl -s -I -r 0-99 "$F" >h3
like "HEAD with a range: 206" "$(head -1 h3)" '^HTTP/1.1 206'
like "and Content-Length 100" "$(cat h3)" 'Content-Length: 100'
head -c 1234567 "$I" >partial
ok "curl -C - resumes a partial download" curl -sf -C - -o partial "$F"
ok "the resumed file is byte for byte" cmp partial "$I"
touch "$I"
is "after the file changed, its old ETag no longer matches If-Range" \
	"$(curl -s -r 5-9 -H "If-Range: $etag" "$F" | wc -c)" 3000000
is "the empty file has no satisfiable range" "$(: >"$root/boot/empty"; code -r 0-1 \
	"$DROVERD_URL/pxe/files/boot/empty")" 416
like "droverd is healthy" "$(curl -s "$DROVERD_URL/api/v2/status")" '"store": *"ok"'

done_testing
