#!/bin/sh
# template_cli.sh - drover template render as users run it on their own templates.
. "$top_srcdir/tests/lib/tap.sh"
DROVER=$top_builddir/drover
d=$TAP_TMP

cat >"$d/ks.tmpl" <<'T'
# kickstart for {{ host.name }}
{% include "disk.tmpl" %}
{% for p in packages | sort %}
{{ p }}
{% endfor %}
rootpw --iscrypted {{ rootpw | default('!') }}
T
cat >"$d/disk.tmpl" <<'T'
part / --size={{ (disk_gb | int) * 1024 }}
T
printf 'host:\n  name: n1.example.test\npackages: [vim, curl]\ndisk_gb: "20"\n' >"$d/vars.yml"
printf '{"rootpw": "$6$x"}\n' >"$d/vars.json"

out=$("$DROVER" template render "$d/ks.tmpl" -e @"$d/vars.yml" -e @"$d/vars.json" \
	--trim-blocks 2>&1)
is "renders with includes, YAML and JSON vars, trim_blocks" "$out" \
"# kickstart for n1.example.test
part / --size=20480
curl
vim
rootpw --iscrypted \$6\$x"
out=$("$DROVER" template render "$d/disk.tmpl" -e disk_gb=2 2>&1)
is "-e k=v sets a string variable" "$out" "part / --size=2048"
out=$("$DROVER" template render "$d/ks.tmpl" -e @"$d/vars.yml" -e '{"packages": ["zsh"]}' \
	--trim-blocks 2>&1 | sed -n 3p)
is "a later -e JSON object wins" "$out" "zsh"

out=$("$DROVER" template render "$d/ks.tmpl" 2>&1)
is "an undefined variable exits 1" "$?" 1
like "and names the template and line" "$out" "ks\.tmpl:1: 'host' is undefined"
out=$("$DROVER" template render "$d/ks.tmpl" --lenient 2>&1)
like "--lenient renders undefined as empty" "$out" '^# kickstart for $'
printf '{%% if x %%}\nno end\n' >"$d/bad.tmpl"
out=$("$DROVER" template render "$d/bad.tmpl" -e x=1 2>&1)
like "a syntax error names file, line and what was expected" "$out" 'bad\.tmpl:[0-9]+:.*endif'
printf 'a: [1, 2\n' >"$d/bad.yml"
like "a broken vars file names file:line:column" \
	"$("$DROVER" template render "$d/disk.tmpl" -e @"$d/bad.yml" 2>&1)" 'bad\.yml:[0-9]+:[0-9]+'
like "a missing template is an error naming it" \
	"$("$DROVER" template render "$d/nope.tmpl" 2>&1)" 'nope\.tmpl'
done_testing
