#!/bin/sh
# jobs_patch.sh - patching end to end on sshd test nodes whose apt sources point at
# droverd's publication: hello 1.0-1 installed through a remote job (which also collects
# the package profiles), a sync brings hello 1.1-1 with an advisory, applicability marks
# the nodes, a patch run scheduled every minute applies it in batches with a pre and a post
# library playbook, the profiles update and the advisory no longer applies. Then a node
# whose apt is broken fails mid-run and the run stops at the failure threshold, and a run
# outside its maintenance window waits.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 curl nginx dpkg-deb apt-ftparchive apt-get gpg gpgconf xz; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
. "$top_srcdir/tests/lib/repos.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml
export GNUPGHOME=$T/gnupg
isnt() { ok "$1" [ "$2" != "$3" ]; }

nodes_up 3 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null; nginx_stop; droverd_stop KILL;
	gpgconf --homedir "$T/state/gnupg" --kill all 2>/dev/null; nodes_down; rm -rf "$T"' EXIT

# droverd, nginx (the upstream) and the CLI live in the hub namespace with the nodes.
for p in droverd drover; do
	printf '#!/bin/sh\nexec ip netns exec %s %s/%s "$@"\n' "$NODES_HUB" "$top_builddir" "$p" >"$T/$p"
	chmod +x "$T/$p"
done
DROVERD=$T/droverd
DROVER=$T/drover
nginx() { exec ip netns exec "$NODES_HUB" /usr/sbin/nginx "$@"; }
curl() { ip netns exec "$NODES_HUB" /usr/bin/curl "$@"; }
nssh() { # nssh I CMD: as root on node I with the nodes' own admin key
	i=$1
	shift
	nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes root@"$(nodes_addr "$i")" "$@"
}
items() {
	"$DROVER" --json job show "$1" | python3 -c 'import json,sys
for i in sorted(json.load(sys.stdin)["items"], key=lambda i: i["item"]):
    print(i["item"], i["state"])'
}
profile() { # profile HOST KEY
	curl -s -H "Authorization: Bearer $(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")" \
		"$DROVERD_URL/api/v2/hosts/$1/package_profile" |
		python3 -c "import json,sys; print(json.load(sys.stdin)$2)"
}

mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
	--quick-gen-key 'Upstream <up@example.org>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --armor --export up@example.org >"$T/up.asc"
www=$T/www
ok "fixture: hello 1.0-1 and world 1.0-1" apt_fixture "$www/deb" 1 up@example.org
echo '[]' >"$www/osv.json"
ok "nginx serves the upstream" nginx_start "$www"
ok "droverd starts" droverd_start "$T/state" --listen 198.18.0.1:0
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
"$DROVER" product create --name debian >/dev/null
ok "apt repository with OSV advisories" "$DROVER" repo create --product debian \
	--name bookworm-main --type apt --url "$NGINX_URL/deb" --distribution bookworm \
	--components main --architectures amd64 --gpg-key "$T/up.asc" \
	--errata-url "$NGINX_URL/osv.json"
ok "sync version 1" "$DROVER" repo sync bookworm-main --wait
lib=$DROVERD_URL/content/Library/default/bookworm-main

# Hosts: droverd's key authorized, host keys recorded, bound to Library/default.
pub=$("$DROVER" settings ssh-key)
curl -s "$DROVERD_URL/content/drover.gpg" >"$T/drover.asc"
i=1
while [ $i -le 3 ]; do
	echo "$pub" | nssh $i 'cat >>.ssh/authorized_keys'
	nssh $i "rm -f /etc/apt/sources.list.d/* && cat >/etc/apt/drover.asc && echo 'deb [signed-by=/etc/apt/drover.asc] $lib bookworm main' >/etc/apt/sources.list" <"$T/drover.asc"
	"$DROVER" host create --name node$i --ip "$(nodes_addr $i)" --mac "52:54:00:00:01:0$i" \
		-p content_view=default -p lifecycle_environment=Library >/dev/null
	"$DROVER" host update node$i --ssh-host-key \
		"$(cut -d' ' -f1,2 "$NODES_DIR/node$i/seed/etc/ssh/drover_host_ed25519_key.pub")" >/dev/null
	i=$((i + 1))
done

out=$("$DROVER" job run --command 'apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q -y install hello >/dev/null && cat /usr/share/hello/version' \
	--search 'name ~ node' --follow 2>&1)
is "a remote job installs hello from droverd's publication" "$?" 0
is "1.0-1 on every node" "$(echo "$out" | grep -c ': 1.0-1$')" 3
is "the job collected node1's profile" "$(profile node1 '["format"]')" apt
is "hello 1.0-1 is in it" "$(profile node1 '["packages"]' | grep -o "'name': 'hello', 'version': '1.0-1'")" \
	"'name': 'hello', 'version': '1.0-1'"
is "nothing applies yet" "$(profile node1 '["applicable_count"]')" 0

# Upstream publishes hello 1.1-1 and an advisory for it.
cat >"$www/osv.json" <<'EOF'
[{"id": "DSA-0001-1", "summary": "hello security update", "published": "2024-03-01T10:00:00Z",
  "aliases": ["CVE-2024-0002"],
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "hello"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1-1"}]}],
                "ecosystem_specific": {"urgency": "high"}}]}]
EOF
ok "fixture: hello 1.1-1" apt_fixture "$www/deb" 2 up@example.org
out=$("$DROVER" repo sync bookworm-main --wait 2>&1)
like "the sync brings the advisory" "$out" '1 errata'
is "applicability marks node1" "$(profile node1 '["applicable_count"]')" 1
is "with the DSA" "$(profile node1 '["applicable"]["applicable"][0]')" DSA-0001-1

# Pre and post steps: library playbooks (drain before, uncordon after).
cat >"$T/drain.yml" <<'P'
- hosts: all
  gather_facts: false
  tasks:
    - shell: date +%s%N >/tmp/drover-drained; sleep 0.01
P
cat >"$T/uncordon.yml" <<'P'
- hosts: all
  gather_facts: false
  tasks:
    - shell: date +%s%N >/tmp/drover-uncordoned
P
"$DROVER" playbook upload drain "$T/drain.yml" >/dev/null
"$DROVER" playbook upload uncordon "$T/uncordon.yml" >/dev/null

out=$("$DROVER" patch run --search 'name ~ node' --batch-size 2 --pre drain --post uncordon \
	--reboot if-needed --cve CVE-2024-0002 --window-cron '* * * * *' --window-duration 60 \
	--cron '* * * * *' --name patch-every-minute 2>&1)
like "a patch run scheduled every minute" "$out" "schedule [0-9]+ \(patch-every-minute\) created"
sid=$(echo "$out" | sed -n 's/^schedule \([0-9]*\) .*/\1/p')
pid=
i=0
while [ $i -lt 150 ] && [ -z "$pid" ]; do
	pid=$("$DROVER" --json job list --kind patch_run | python3 -c 'import json,sys
r = json.load(sys.stdin)["results"]; print(r[-1]["id"] if r else "")')
	[ -n "$pid" ] || sleep 0.5
	i=$((i + 1))
done
ok "the scheduler started a patch run" [ -n "$pid" ]
"$DROVER" schedule disable "$sid" >/dev/null
"$DROVER" job follow "$pid" >"$T/patch.out" 2>&1
is "the patch run succeeds" "$?" 0
out=$(cat "$T/patch.out")
like "in batches of two" "$out" "batch: hosts 1-2 of 3"
like "the last batch has the third node" "$out" "batch: hosts 3-3 of 3"
is "the pre step runs before each batch" "$(grep -c '^pre step' "$T/patch.out")" 2
is "and the post step after it" "$(grep -c '^post step' "$T/patch.out")" 2
is "every node patched" "$(items "$pid")" "node1 success
node2 success
node3 success"
show=$("$DROVER" job show "$pid")
like "job show lists the applied erratum per host" "$show" "node2 +success +DSA-0001-1 +no"
like "and the versions before and after" "$show" "node3: hello 1.0-1 -> 1.1-1"
# The same in the web UI's page of the run.
jar=$T/jar
curl -s -c "$jar" -b "$jar" "$DROVERD_URL/login" -o "$T/login.html"
lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$T/login.html")
curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode user=admin \
	--data-urlencode "password=$ADMIN_PASSWORD" --data-urlencode "login_token=$lt" "$DROVERD_URL/login"
page=$(curl -s -b "$jar" "$DROVERD_URL/ui/job_invocations/$pid" | tr -d '\n')
like "the run's page shows each host's erratum applied" "$page" \
	'node3 <small>[0-9.]+</small>.*<td data-label="Errata applied"><a href="/ui/errata/DSA-0001-1">DSA-0001-1</a>'
like "the package versions before and after" "$page" '<li>hello 1.0-1 → 1.1-1</li>'
like "and whether the host rebooted" "$page" '<td data-label="Rebooted">no</td>'
is "hello 1.1-1 is installed on node3" "$(nssh 3 cat /usr/share/hello/version)" 1.1-1
ok "node1 was drained before, patched, then uncordoned" nssh 1 \
	'd=$(cat /tmp/drover-drained) u=$(cat /tmp/drover-uncordoned) p=$(stat -c %Y /var/lib/dpkg/info/hello.list)
	[ "$d" -lt "$u" ] && [ $((d / 1000000000)) -le "$p" ] && [ "$p" -le $((u / 1000000000)) ]'
is "the profile was updated" "$(profile node3 '["packages"]' | grep -o "'name': 'hello', 'version': '1.1-1'")" \
	"'name': 'hello', 'version': '1.1-1'"
is "the advisory no longer applies" "$(profile node3 '["applicable_count"]')" 0
sched_jobs=$("$DROVER" --json job list --kind patch_run | python3 -c 'import json,sys; print(json.load(sys.stdin)["subtotal"])')
is "the disabled schedule ran once" "$sched_jobs" 1

# hello 1.2-1 with a second advisory; node2's apt is broken: the run stops at the threshold.
deb_build hello 1.2-1 "$www/deb/pool/main"
ok "fixture: hello 1.2-1" apt_fixture "$www/deb" 2 up@example.org
python3 - "$www/osv.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
a.append({"id": "DSA-0003-1", "summary": "hello again", "published": "2024-04-01T10:00:00Z",
          "affected": [{"package": {"ecosystem": "Debian:12", "name": "hello"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2-1"}]}]}]})
json.dump(a, open(sys.argv[1], "w"))
EOF
ok "sync the second advisory" "$DROVER" repo sync bookworm-main --wait
nssh 2 "echo 'deb [trusted=yes] file:/nonexistent bookworm main' >/etc/apt/sources.list.d/broken.list"
out=$("$DROVER" patch run --search 'name ~ node' --batch-size 1 --max-fail-percent 0 --timeout 120 \
	--reboot always --reboot-command 'touch /tmp/drover-rebooted' --follow 2>&1)
isnt "a run past its threshold fails" "$?" 0
like "saying why it stopped" "$out" "stopping: 1 of 2 hosts failed, more than the 0% allowed"
pid2=$("$DROVER" --json job list --kind patch_run | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')
is "node1 patched, node2 failed, node3 never started" "$(items "$pid2")" "node1 success
node2 failed
node3 skipped"
show=$("$DROVER" --json job show "$pid2")
like "node2's failure names the package manager" "$show" "the package manager failed"
like "node1 was rebooted (reboot always) and came back" "$(cat "$T/patch.out"; echo "$out")" "node1: back after the reboot"
ok "the reboot command ran on node1" nssh 1 test -e /tmp/drover-rebooted
is "node3 still has 1.1-1" "$(nssh 3 cat /usr/share/hello/version)" 1.1-1
is "node1 has 1.2-1" "$(nssh 1 cat /usr/share/hello/version)" 1.2-1

# Outside the maintenance window the run waits (and can be cancelled while it waits).
h=$((($(date -u +%k) + 3) % 24)) # %k: " 8", where %H's "08" is no octal number
out=$("$DROVER" --json patch run --hosts node3 --window-cron "0 $h * * *" --window-duration 30)
wid=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
i=0
while [ $i -lt 50 ] && ! "$DROVER" job show "$wid" 2>/dev/null | grep -q .; do sleep 0.1; i=$((i + 1)); done
sleep 1
like "a run outside its window waits for it" "$(curl -s -H "Authorization: Bearer $(sed -n 's/^token: "\(.*\)"/\1/p' "$DROVER_CONFIG")" "$DROVERD_URL/api/v2/jobs/$wid/output")" "waiting for the maintenance window"
ok "cancel the waiting run" "$DROVER" job cancel "$wid"
out=$("$DROVER" job follow "$wid" 2>&1)
like "it ends cancelled" "$out" "cancelled"
is "node3 was not touched" "$(nssh 3 cat /usr/share/hello/version)" 1.1-1

out=$("$DROVER" patch run --search 'name ~ node' --reboot sometimes 2>&1)
like "a bad reboot policy is refused naming the field" "$out" "reboot: expected never, if_needed or always"
out=$("$DROVER" patch run --search 'name ~ node' --pre nosuch 2>&1)
like "an unknown pre playbook is refused" "$out" "pre: no such playbook"
droverd_stop
done_testing
