# droverd.sh - start and stop a real droverd for a test: a free loopback port, a temporary
# state directory, a known admin password. Source tap.sh first.
: "${top_builddir:?run through make check, or set top_builddir}"
DROVERD=$top_builddir/droverd
DROVER=$top_builddir/drover
DROVERD_PID=
DROVERD_URL=
ADMIN_PASSWORD=integration-secret

# droverd_start STATE_DIR [ARGS...]: start it and wait until it logs its URL (10 s at most).
droverd_start() {
	state=$1
	shift
	: >"$TAP_TMP/droverd.log"
	DROVER_ADMIN_PASSWORD=$ADMIN_PASSWORD "$DROVERD" --listen 127.0.0.1:0 \
		--state-dir "$state" "$@" >>"$TAP_TMP/droverd.log" 2>&1 &
	DROVERD_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		DROVERD_URL=$(sed -n 's|.* ready in .* at \(http[s]*://[^ ]*\)/ .*|\1|p' \
			"$TAP_TMP/droverd.log")
		[ -n "$DROVERD_URL" ] && break
		kill -0 "$DROVERD_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	export DROVER_SERVER=$DROVERD_URL
	[ -n "$DROVERD_URL" ]
}

# droverd_stop [SIGNAL]: stop it and wait (10 s at most, then SIGKILL).
droverd_stop() {
	[ -n "$DROVERD_PID" ] || return 0
	kill -"${1:-TERM}" "$DROVERD_PID" 2>/dev/null
	i=0
	while kill -0 "$DROVERD_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$DROVERD_PID" 2>/dev/null
	wait "$DROVERD_PID" 2>/dev/null
	DROVERD_PID=
}

# The user config of the CLI lives in the test's own directory.
export DROVER_CONFIG="$TAP_TMP/cli.yml"
trap 'droverd_stop KILL; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TAP_TMP"' EXIT
