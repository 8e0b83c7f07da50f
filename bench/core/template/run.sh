#!/bin/sh
# Benchmark: parse + render a 1,000-line kickstart-like template with ~200 variables,
# with our engine (C, built from build/libdrover.a) and with python3-jinja2 on the same
# input, both verified to give the same output. Run from anywhere after building in build/.
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
n=${N:-2000}
pn=${PN:-100}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$top/bench/core/template/gen.py" "$work"
libs=$(pkg-config --libs jansson yaml-0.1 libcrypto libpcre2-8)
cc -O2 -std=gnu11 -I"$top" -I"$build" $(pkg-config --cflags jansson) \
	"$top/bench/core/template/bench.c" "$build/libdrover.a" $libs -lm -o "$work/bench"
ours=$("$work/bench" "$work/bench.tmpl" "$work/bench.json" "$n" 2>"$work/ours.out")
theirs=$(/usr/bin/python3 - "$work" "$pn" <<'PY'
import json, sys, time, jinja2
work, n = sys.argv[1], int(sys.argv[2])
src = open(work + "/bench.tmpl").read()
v = json.load(open(work + "/bench.json"))
env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                         finalize=lambda x: "" if x is None else x)
t0 = time.perf_counter()
for _ in range(n):
    out = env.from_string(src).render(v)
t1 = time.perf_counter()
open(work + "/theirs.out", "w").write(out)
print("%.1f" % ((t1 - t0) / n * 1e6))
PY
)
if cmp -s "$work/ours.out" "$work/theirs.out"; then same=identical; else same=DIFFERENT; fi
echo "template: $(wc -l <"$work/bench.tmpl") lines, output $(wc -c <"$work/ours.out") bytes ($same)"
echo "drover:  $ours us per parse+render ($n iterations)"
echo "jinja2:  $theirs us per parse+render ($pn iterations)"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio:   %.1fx faster\n", b / a }'
[ "$same" = identical ]
