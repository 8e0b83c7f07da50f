# playcmp.sh - drover next to ansible-playbook on two SSH test nodes (tests/lib/nodes.sh):
# drover plays node1, ansible-playbook node2, and their task lines and recaps are compared.
# Source tap.sh and nodes.sh first, then call playcmp_init after nodes_up 2.
#
#   on I CMD          run CMD on node I over ssh
#   drv PLAYBOOK ARGS drover on node1: output in $T/play.out, exit code in $rc
#   ans PLAYBOOK ARGS ansible-playbook on node2: output in $T/ansible.out, exit code $arc
#   recap FIELD       FIELD of node1's recap in $T/play.out
#   same NAME         two test points: our task lines and recap are ansible-playbook's
#   cycle NAME PB ARGS check mode predicts the first run, the second run changes nothing,
#                     each step compared with ansible-playbook
#   $PLAY_ARGS        extra arguments for both (word-split), $have_ansible
playcmp_init() {
	# scratch space of our own under /var/tmp: runs in parallel have been seen to lose
	# directories under /tmp mid-run
	rmdir "$TAP_TMP" 2>/dev/null
	TAP_TMP=$(mktemp -d /var/tmp/drover-playcmp.XXXXXX)
	T=$TAP_TMP
	inv=$T/inventory
	{
		echo "[nodes]"
		echo "node1 ansible_host=$(nodes_addr 1)"
		echo "node2 ansible_host=$(nodes_addr 2)"
		echo "[nodes:vars]"
		echo "ansible_user=root"
		echo "ansible_ssh_private_key_file=$NODES_KEY"
		echo "ansible_ssh_known_hosts_file=$NODES_KNOWN_HOSTS"
		echo "ansible_python_interpreter=/usr/bin/python3"
	} >"$inv"
	have_ansible=false
	command -v ansible-playbook >/dev/null 2>&1 && have_ansible=true
}

on() { # on I CMD: run CMD on node I
	i=$1
	shift
	nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
		-o BatchMode=yes root@"$(nodes_addr "$i")" "$@"
	on_rc=$?
	[ "$on_rc" -ne 255 ] || tail -n 5 "$NODES_DIR/node$i/sshd.log" | sed 's/^/# sshd: /' >&2
	return "$on_rc"
}
# drv PLAYBOOK ARGS: drover on node1; output in $T/play.out, exit code in $rc
drv() {
	nodes_exec "$DROVER" play -i "$inv" -l node1 $PLAY_ARGS "$@" \
		>"$T/play.out" 2>&1
	rc=$?
}
# ans PLAYBOOK ARGS: ansible-playbook on node2; output in $T/ansible.out
ans() {
	nodes_exec env ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=True \
		ANSIBLE_SSH_ARGS="-o UserKnownHostsFile=$NODES_KNOWN_HOSTS" \
		ansible-playbook -i "$inv" -l node2 $PLAY_ARGS "$@" \
		>"$T/ansible.out" 2>&1
	arc=$?
}
recap() {
	grep -E "^node1 +: ok=" "$T/play.out" | tail -1 | sed -E "s/.* $1=([0-9]+).*/\1/"
}
# lines FILE: the task banners and per-host status words, host names made equal
lines() {
	grep -E '^(TASK \[|(ok|changed|skipping|fatal|failed): \[node)' "$1" |
		sed -E 's/\*+$//; s/node[0-9]/nodeX/; s/^(ok|changed|skipping|fatal|failed): \[nodeX\].*/\1/'
}
counts() { grep -E "^node[0-9] +: ok=" "$1" | tail -1 | sed -E 's/^[^:]*: //; s/ +/ /g'; }
# same NAME: our task lines and recap are ansible-playbook's
same() {
	$have_ansible || return 0
	is "$1: the same task lines as ansible-playbook" "$(lines "$T/play.out")" \
		"$(lines "$T/ansible.out")"
	is "$1: the same recap as ansible-playbook" "$(counts "$T/play.out")" \
		"$(counts "$T/ansible.out")"
	[ "$(counts "$T/play.out")" = "$(counts "$T/ansible.out")" ] ||
		grep -E '^(fatal|failed):' "$T/ansible.out" | head -5 | cut -c1-600 | sed 's/^/# ansible: /'
	return 0
}
# cycle NAME PLAYBOOK ARGS: check mode predicts, the first run changes as predicted,
# the second changes nothing; each compared with ansible-playbook
cycle() {
	name=$1
	shift
	drv "$@" --check
	is "$name: check mode exit 0" "$rc" 0
	predicted=$(recap changed)
	$have_ansible && ans "$@" --check && same "$name (check mode)"
	drv "$@"
	is "$name: exit 0" "$rc" 0
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/play.out" | tail -20
	is "$name: changed as check mode predicted" "$(recap changed)" "$predicted"
	$have_ansible && ans "$@" && same "$name"
	drv "$@"
	is "$name: second run changed=0" "$(recap changed)" 0
	$have_ansible && ans "$@" && same "$name (second run)"
}

