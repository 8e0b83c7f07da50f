# droverd.sh - start droverd for a benchmark. Source it after setting build (the build
# directory) and tmp (a scratch directory); cleanup on EXIT is the caller's.
pid=

# bench_droverd_start: droverd on a free loopback port with state in $tmp/state; sets pid
# and url once it logs that it is ready.
bench_droverd_start() {
	: >"$tmp/log"
	DROVER_ADMIN_PASSWORD=bench-password-1 "$build/droverd" --listen 127.0.0.1:0 \
		--state-dir "$tmp/state" >"$tmp/log" 2>&1 &
	pid=$!
	url=
	while [ -z "$url" ]; do
		url=$(sed -n 's|.* ready in .* at \(http://[^ ]*\)/ .*|\1|p' "$tmp/log")
		kill -0 $pid 2>/dev/null || { cat "$tmp/log"; exit 1; }
	done
}
