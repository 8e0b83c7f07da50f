#!/bin/sh
# ssh_transport.sh - the SSH connection backend and facts against three real sshd test
# nodes (tests/lib/nodes.sh): the C driver tests/unit/test_ssh_transport does the work;
# this script brings the nodes up, kills node3 when the driver asks, checks the node saw
# one session for the driver's 200 commands, and compares facts with ansible-core's setup.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
DRIVER=$top_builddir/tests/unit/test_ssh_transport

nodes_up 4 || { echo "Bail out! nodes_up failed"; exit 1; }
echo "# 4 nodes up in ${NODES_START_MS} ms"
ready=$TAP_TMP/kill-ready
cut=$TAP_TMP/cut-ready
facts=$TAP_TMP/facts.json

# node3 dies once the driver says it runs a command there
(
	i=0
	while [ ! -e "$ready" ] && [ "$i" -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -e "$ready" ] && nodes_kill 3
) &
killer=$!
# node4's link goes down (its packets vanish: no RST, no FIN) once the driver runs there
(
	i=0
	while [ ! -e "$cut" ] && [ "$i" -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -e "$cut" ] && ip -n "$NODES_HUB" link set v4 down
) &
cutter=$!

accepted_before=$(grep -c "Accepted publickey" "$NODES_DIR/node1/sshd.log")
out=$(nodes_exec env \
	DROVER_TEST_SSH_ADDR="$(nodes_addr 1)" \
	DROVER_TEST_SSH_KEY="$NODES_KEY" \
	DROVER_TEST_SSH_KNOWN_HOSTS="$NODES_KNOWN_HOSTS" \
	DROVER_TEST_SSH_HOST_KEY="$(cut -d' ' -f1,2 \
		"$NODES_DIR/node1/seed/etc/ssh/drover_host_ed25519_key.pub")" \
	DROVER_TEST_SSH_PASSWORD="$NODES_PASSWORD" \
	DROVER_TEST_SSH_UNREACHABLE=198.18.3.254 \
	DROVER_TEST_SSH_KILL_ADDR="$(nodes_addr 3)" \
	DROVER_TEST_SSH_KILL_READY="$ready" \
	DROVER_TEST_SSH_CUT_ADDR="$(nodes_addr 4)" \
	DROVER_TEST_SSH_CUT_READY="$cut" \
	DROVER_TEST_SSH_FACTS_OUT="$facts" \
	CMOCKA_MESSAGE_OUTPUT=TAP "$DRIVER" 2>&1)
rc=$?
wait "$killer" "$cutter"
printf '%s\n' "$out" | sed 's/^/# /'
ok "the SSH driver passes (exec, stdin, output, timeout, put/get, host keys, auth, \
unreachable, killed node, cut link, facts)" test "$rc" -eq 0
like "it ran all 14 tests" "$out" "^1\.\.14$"

# The driver opened node1 this many times: group (1), accept-new (2), recorded key (1),
# right password (1) = 5 sessions for ~230 commands and transfers; 200 of those
# commands ran in the first session.
accepted=$(($(grep -c "Accepted " "$NODES_DIR/node1/sshd.log") - accepted_before))
is "node1 saw 5 logins for the driver's 5 connections (one session per connection)" \
	"$accepted" 5

# node3 is gone; nodes 1 and 2 still serve
ok "node3's sshd is gone" sh -c "! kill -0 $(cat "$NODES_DIR/node3/pid") 2>/dev/null"
ok "node2 still answers" nodes_exec ssh -o BatchMode=yes -o ConnectTimeout=5 \
	-o UserKnownHostsFile="$NODES_KNOWN_HOSTS" -i "$NODES_KEY" "root@$(nodes_addr 2)" true

# Writes on a node stay in its overlay.
nodes_exec ssh -o BatchMode=yes -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" -i "$NODES_KEY" \
	"root@$(nodes_addr 2)" "echo x >/etc/drover-overlay-test" 2>/dev/null
ok "a file written on a node is not on the machine" test ! -e /etc/drover-overlay-test

if command -v ansible >/dev/null 2>&1 && [ -s "$facts" ]; then
	(cd "$TAP_TMP" && ANSIBLE_SSH_ARGS="-o ControlMaster=no" \
		nodes_exec ansible -i "$NODES_INVENTORY" node1 -m setup >"$TAP_TMP/setup.out" 2>&1)
	cmp=$(python3 "$top_srcdir/tests/lib/facts_compare.py" "$facts" "$TAP_TMP/setup.out" 2>&1)
	rc=$?
	printf '%s\n' "$cmp" | sed 's/^/# /'
	ok "facts match ansible-core's setup module on the same node" test "$rc" -eq 0
else
	echo "# ansible not installed: facts not compared with ansible-core"
fi

done_testing
