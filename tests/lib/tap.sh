# tap.sh - TAP output for shell tests: plan, ok/not ok, skip-all. Source it.
tap_n=0
tap_failed=0

# plan N
plan() { echo "1..$1"; }

# done_testing: the plan at the end, for scripts whose count follows their code; the exit
# status says whether every test point passed.
done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# skip_all REASON: the whole script is skipped (automake counts it as SKIP).
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# ok DESCRIPTION COMMAND...: one test point from a command's exit status.
ok() {
	desc=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@" >"$TAP_TMP/out" 2>&1; then
		echo "ok $tap_n - $desc"
	else
		echo "not ok $tap_n - $desc"
		sed 's/^/# /' "$TAP_TMP/out" | head -30
		tap_failed=$((tap_failed + 1))
	fi
}

# is DESCRIPTION GOT EXPECTED
is() {
	tap_n=$((tap_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $tap_n - $1"
	else
		echo "not ok $tap_n - $1"
		printf '# got:      %s\n# expected: %s\n' "$2" "$3"
		tap_failed=$((tap_failed + 1))
	fi
}

# like DESCRIPTION GOT PATTERN (grep -E)
like() {
	tap_n=$((tap_n + 1))
	if printf '%s\n' "$2" | grep -qE -- "$3"; then
		echo "ok $tap_n - $1"
	else
		echo "not ok $tap_n - $1"
		printf '%s\n' "$2" | head -20 | sed 's/^/# got: /'
		printf '# expected to match: %s\n' "$3"
		tap_failed=$((tap_failed + 1))
	fi
}

# once_per_run: for a slow test whose checks do not depend on how droverd was built (the
# image e2e: minutes of mmdebstrap and TCG). tests/run-all runs it in its first pass and sets
# DROVER_SLOW_TESTS_DONE for the sanitizer pass and make distcheck, which skip it.
once_per_run() {
	[ -z "${DROVER_SLOW_TESTS_DONE:-}" ] ||
		skip_all "slow end-to-end test: tests/run-all ran it in its first pass"
}

# skip DESCRIPTION REASON: a test point that could not be run here (counted as SKIP).
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

TAP_TMP=$(mktemp -d /tmp/drover-tap.XXXXXX)
trap 'rm -rf "$TAP_TMP"' EXIT

# free_port: a TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice),
# for test servers that cannot report the port they bound themselves.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
