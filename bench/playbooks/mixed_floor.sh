#!/bin/sh
# mixed_floor.sh DIR KEY KNOWN_HOSTS PLAY REPO PUBKEY ADDR... - the "floor" for the
# mixed play (bench/playbooks/mixed/site.yml with its apt part): one OpenSSH connection per
# host kept open (ControlMaster), then one `ssh` command per task through it, doing that
# task's work directly, hosts in parallel, every host finishing a task before the next
# starts (the linear strategy both tools use). Run inside the hub (mixed.sh runs it; root).
#
# Every command checks before it changes, as an idempotent tool must (the second run of the
# same script is the re-run floor) and prints "changed" when it changed something; the
# tasks that never touch a host (assert, set_fact, debug) cost nothing here. Facts are one
# command reading only what the play uses (host name, distribution and its version); the
# templates are rendered here from them and sent as files. Files go through ssh's stdin.
# Prints "MILLISECONDS CHANGED_ON_FIRST_HOST FAILURES".
set -u
dir=$1 key=$2 kh=$3 play=$4 repo=$5 pubkey=$6
shift 6
hosts="$*"
o="-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$kh -i $key -T"
first=$1
fails=0
run=$dir/run
rm -rf "$run"
mkdir -p "$run"
t0=$(date +%s%N)
masters=
for a in $hosts; do
	# shellcheck disable=SC2086
	ssh $o -o ControlMaster=yes -o ControlPath="$run/cm-$a" -N "root@$a" &
	masters="$masters $!"
done
for a in $hosts; do
	i=0
	while [ ! -S "$run/cm-$a" ] && [ "$i" -lt 5000 ]; do
		sleep 0.002
		i=$((i + 1))
	done
done
tlast=$(date +%s%N)
echo "connect $(((tlast - t0) / 1000000))" >"$run/times"

# task NAME CMD [STDIN]: CMD on every host at once (STDIN: a file; @H@ in its name is the
# host's address), then wait for all; output to $run/NAME-ADDR.
task() {
	pids=
	for a in $hosts; do
		in=$(printf '%s' "${3:-/dev/null}" | sed "s/@H@/$a/g")
		# shellcheck disable=SC2086
		ssh $o -o ControlMaster=no -o ControlPath="$run/cm-$a" "root@$a" "$2" \
			<"$in" >"$run/$1-$a" 2>&1 &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || { fails=$((fails + 1)); echo "floor: task $1 failed" >&2; }
	done
	now=$(date +%s%N)
	echo "$1 $(((now - tlast) / 1000000))" >>"$run/times"
	tlast=$now
}

# put DEST MODE: write stdin to DEST unless DEST already holds it; MODE ("" = leave).
put() {
	m=
	[ -n "$2" ] && m="; [ \"\$(stat -c %a $1)\" = $2 ] || { chmod $2 $1; echo changed; }"
	echo "cat >$1.floor; if cmp -s $1.floor $1; then rm $1.floor; else mv $1.floor $1; echo changed; fi$m"
}
# dir_ PATH MODE: a directory with that mode.
dir_() {
	echo "[ -d $1 ] || { mkdir -p $1; echo changed; }; [ \"\$(stat -c %a $1)\" = $2 ] || { chmod $2 $1; echo changed; }"
}

# facts: what the play reads (ansible_hostname, _distribution, _distribution_version)
task facts '. /etc/os-release; uname -n; echo "$NAME"; cat /etc/debian_version'
for a in $hosts; do
	{
		read -r hn
		read -r dist
		read -r ver
	} <"$run/facts-$a"
	hn=${hn%%.*} dist=${dist%% *}
	mkdir -p "$run/h-$a"
	{
		echo "; Ansible managed"
		printf '[bench]\nhost = %s\nport = 8080\nworkers = 4\n' "$hn"
		printf 'feature.auth = on\nfeature.cache = on\nfeature.metrics = on\n'
	} >"$run/h-$a/app.ini"
	printf 'Welcome to %s (%s %s).\nThis host runs bench on port 8080.\n' "$hn" "$dist" "$ver" \
		>"$run/h-$a/motd"
done
printf '# managed\nname=bench\nport=8080\n' >"$run/a.conf"
printf 'token=abc123\n' >"$run/c.conf"
printf '{\n    "features": [\n        "auth",\n        "cache",\n        "metrics"\n    ],\n    "name": "bench"\n}\n' \
	>"$run/app.json"
printf 'deb [trusted=yes] %s ./\n' "$repo" >"$run/bench.list"
cp "$pubkey" "$run/key.pub"
k=$(cat "$pubkey")
c=/opt/bench/conf
b=$c/b.conf

task t1 "$(dir_ /opt/bench 755)"
task t2 "$(dir_ $c 755)"
task t3 "$(dir_ /opt/bench/data 750)"
task t4 "[ -e $c/a.conf ] || { cat >$c/a.conf; echo changed; }" "$run/a.conf"
task t5 "[ -e $b ] || { cat >$b; echo changed; }" "$play/files/b.conf"
task t6 "$(put $c/c.conf 600)" "$run/c.conf"
task t7 "$(put $c/app.ini '')" "$run/h-@H@/app.ini"
task t8 "$(put /opt/bench/motd 644)" "$run/h-@H@/motd"
task t9 "grep -qxF workers=4 $c/a.conf || { echo workers=4 >>$c/a.conf; echo changed; }"
task t10 "grep -qx level=info $b || { if grep -q ^level= $b; then sed -i 's/^level=.*/level=info/' $b; else echo level=info >>$b; fi; echo changed; }"
task t11 "grep -qx enabled=true $b || { sed -i '/^\\[main\\]/a enabled=true' $b; echo changed; }"
blk='# BEGIN ANSIBLE MANAGED BLOCK
[extra]
features=auth,cache,metrics
# END ANSIBLE MANAGED BLOCK'
task t12 "[ \"\$(sed -n '/^# BEGIN ANSIBLE MANAGED BLOCK\$/,/^# END ANSIBLE MANAGED BLOCK\$/p' $b)\" = '$blk' ] || { sed -i '/^# BEGIN ANSIBLE MANAGED BLOCK\$/,/^# END ANSIBLE MANAGED BLOCK\$/d' $b; printf '%s\\n' '$blk' >>$b; echo changed; }"
task t13 "! grep -q old-host $b || { sed -i s/old-host/new-host/g $b; echo changed; }"
task t14 "[ -e /opt/bench/data/stamp ] || { touch /opt/bench/data/stamp; echo changed; }"
task t15 "[ \"\$(readlink /opt/bench/current)\" = $c ] || { ln -sfn $c /opt/bench/current; echo changed; }"
task t16 "[ -e /opt/bench/data/initialised ] || { touch /opt/bench/data/initialised; echo changed; }"
task t17 "cat /etc/hostname"
task t18 "ls $c | wc -l"
task t19 "getent group benchgrp >/dev/null || { groupadd benchgrp; echo changed; }"
task t20 "if u=\$(getent passwd benchuser); then [ \"\${u##*:}\" = /bin/sh ] || { usermod -s /bin/sh benchuser; echo changed; }; else useradd -m -s /bin/sh benchuser; echo changed; fi"
task t21 "id -nG benchuser | grep -qw benchgrp || { usermod -aG benchgrp benchuser; echo changed; }"
task t22 "stat -c '%s %a %U %Y' $c/a.conf"
task t25 "[ -z \"\$(find $c ! -user root -o ! -group root)\" ] || { chown -R root:root $c; echo changed; }"
task t26 "$(put /opt/bench/data/app.json '')" "$run/app.json"
task t27 "[ ! -e /opt/bench/data/obsolete.tmp ] || { rm -rf /opt/bench/data/obsolete.tmp; echo changed; }"
task t28 "[ ! -e /opt/bench/data/obsolete.lock ] || { rm /opt/bench/data/obsolete.lock; echo changed; }"
ak=/home/benchuser/.ssh/authorized_keys
task t29 "[ -d /home/benchuser/.ssh ] || { install -d -m 700 -o benchuser -g benchuser /home/benchuser/.ssh; echo changed; }; grep -qxF '$k' $ak 2>/dev/null || { echo '$k' >>$ak; chown benchuser:benchuser $ak; chmod 600 $ak; echo changed; }"
# the apt part only when mixed.sh imported it into the play
if grep -q 'import_tasks: apt.yml' "$play/site.yml"; then
	task apt1 "$(put /etc/apt/sources.list '')" /dev/null
	task apt2 "[ ! -e /etc/apt/sources.list.d/debian.sources ] || { rm /etc/apt/sources.list.d/debian.sources; echo changed; }"
	task apt3 "$(put /etc/apt/sources.list.d/bench.list '')" "$run/bench.list"
	task apt4 "f=/var/lib/apt/periodic/update-success-stamp; [ -e \$f ] || f=/var/lib/apt/lists; [ \$((\$(date +%s) - \$(stat -c %Y \$f))) -lt 3600 ] || DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null; [ \"\$(dpkg-query -W -f='\${db:Status-Status}' drover-bench-hello 2>/dev/null)\" = installed ] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q drover-bench-hello >/dev/null && echo changed; }"
fi
t1=$(date +%s%N)
for p in $masters; do
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
[ -n "${FLOOR_TIMES:-}" ] && cp "$run/times" "$FLOOR_TIMES"
# changed tasks on the first host
n=0
for f in "$run"/*-"$first"; do
	grep -q '^changed$' "$f" && n=$((n + 1))
done
echo "$(((t1 - t0) / 1000000)) $n $fails"
