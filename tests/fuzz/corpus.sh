#!/bin/sh
# corpus.sh - run each fuzz target over its seed corpus (and any crash reproducers saved
# there), so what the fuzzer found stays fixed in every build, with or without clang.
. "$top_srcdir/tests/lib/tap.sh"
out=$("$top_builddir/tests/fuzz/fuzz_api_corpus" "$top_srcdir"/tests/fuzz/corpus/* 2>&1)
rc=$?
is "fuzz_api runs its whole corpus" "$rc" 0
like "every input was fed" "$(printf '%s\n' "$out" | tail -1)" \
	"^1\\.\\.$(ls "$top_srcdir"/tests/fuzz/corpus | wc -l)\$"
done_testing
