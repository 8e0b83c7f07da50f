#!/bin/sh
# jobs_git.sh - playbooks from a git repository (drover job run --playbook
# git+URL//PATH[@REF]): droverd fetches with the real git, over file:// and over ssh:// from
# a repository on an sshd test node, runs the playbook with its role, fetches again when the
# branch moves, and refuses bad URLs, missing refs and missing paths with clear errors.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 git; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml
isnt() { ok "$1" [ "$2" != "$3" ]; }

nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT
cat >"$T/droverd" <<EOF
#!/bin/sh
exec ip netns exec $NODES_HUB $top_builddir/droverd "\$@"
EOF
cat >"$T/drover" <<EOF
#!/bin/sh
exec ip netns exec $NODES_HUB $top_builddir/drover "\$@"
EOF
chmod +x "$T/droverd" "$T/drover"
DROVERD=$T/droverd
DROVER=$T/drover
ok "droverd starts" droverd_start "$T/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login
pub=$("$DROVER" settings ssh-key)
node() { nodes_exec ssh -q -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" \
	-o StrictHostKeyChecking=yes root@"$(nodes_addr "$1")" "$2"; }
key() { cut -d' ' -f1,2 "$NODES_DIR/node$1/seed/etc/ssh/drover_host_ed25519_key.pub"; }
for i in 1 2; do
	echo "$pub" | node $i 'cat >>.ssh/authorized_keys'
	"$DROVER" host create --name node$i --ip "$(nodes_addr $i)" --mac "52:54:00:00:01:0$i" >/dev/null
	"$DROVER" host update node$i --ssh-host-key "$(key $i)" >/dev/null
done

# A repository: site.yml applies the role motd from roles/ beside it.
R=$T/repo
mkdir -p "$R/play/roles/motd/tasks" "$R/play/roles/motd/defaults"
cat >"$R/play/site.yml" <<'EOF'
- hosts: all
  gather_facts: false
  roles:
    - motd
EOF
cat >"$R/play/roles/motd/defaults/main.yml" <<'EOF'
motd_text: version one
EOF
cat >"$R/play/roles/motd/tasks/main.yml" <<'EOF'
- name: the message of the day
  copy:
    content: "{{ motd_text }}\n"
    dest: /etc/drover-git-motd
EOF
g() { git -C "$R" -c user.name=t -c user.email=t@example.org "$@"; }
g init -q -b main
g add -A && g commit -qm one && g tag v1

job() { # job ARGS...: run and follow, output in $T/out, status in $rc
	"$DROVER" job run "$@" --follow >"$T/job.out" 2>&1
	rc=$?
}
job --playbook "git+file://$R//play/site.yml@main" --hosts node1,node2
is "a playbook from a file:// repository at a branch runs" "$rc" 0
like "the job says which commit" "$(cat "$T/job.out")" "playbook play/site.yml from file://$R at main \\(commit [0-9a-f]{40}\\)"
is "its role ran on node1" "$(node 1 'cat /etc/drover-git-motd')" "version one"
is "and on node2" "$(node 2 'cat /etc/drover-git-motd')" "version one"
ok "the repository is cached in the state directory" ls -d "$T/state/git/"*.git

# The branch moves: the next run fetches the new commit; the tag stays.
sed -i 's/version one/version two/' "$R/play/roles/motd/defaults/main.yml"
g commit -qam two
job --playbook "git+file://$R//play/site.yml@main" --hosts node1
is "after a new commit on the branch" "$rc" 0
is "the new commit's playbook runs" "$(node 1 'cat /etc/drover-git-motd')" "version two"
job --playbook "git+file://$R//play/site.yml@v1" --hosts node1
is "a tag is a ref too" "$(node 1 'cat /etc/drover-git-motd')" "version one"
c1=$(g rev-parse v1)
job --playbook "git+file://$R//play/site.yml@$c1" --hosts node2
is "and a commit id" "$rc" 0
mv "$R" "$R.away"
job --playbook "git+file://$R//play/site.yml@$c1" --hosts node2
is "a commit fetched before runs while the repository is away" "$rc" 0
job --playbook "git+file://$R//play/site.yml@main" --hosts node2
isnt "a branch is always fetched" "$rc" 0
mv "$R.away" "$R"
job --playbook "git+file://$R//play/site.yml" --hosts node2
is "without a ref: the remote's HEAD" "$(node 2 'cat /etc/drover-git-motd')" "version two"

# Over ssh:// from a repository on node2, with droverd's key; the host key is checked
# against <state_dir>/git/known_hosts.
tar -C "$T" -cf - repo | node 2 'mkdir -p /srv && tar -C /srv -xf - && git config --global --add safe.directory "*"'
spec="git+ssh://root@$(nodes_addr 2)/srv/repo//play/site.yml@v1"
job --playbook "$spec" --hosts node1
isnt "an ssh:// host whose key is not known is refused" "$rc" 0
like "saying so" "$(cat "$T/job.out")" "Host key verification failed"
echo "$(nodes_addr 2) $(key 2)" >"$T/state/git/known_hosts"
job --playbook "$spec" --hosts node1
is "with its key in git/known_hosts, ssh:// fetches" "$rc" 0
is "and the tag's playbook ran" "$(node 1 'cat /etc/drover-git-motd')" "version one"

# Bad specs are refused by the API, naming the field.
bad() { "$DROVER" job run --playbook "$1" --hosts node1 2>&1; }
like "http:// is refused" "$(bad "git+http://example.org/r.git//site.yml")" \
	"playbook: only https://, ssh:// and file:// URLs are fetched"
like "a spec without // is refused" "$(bad "git+https://example.org/r.git")" \
	"playbook: expected git\\+URL//PATH\\[@REF\\]: '//' separates"
like "a path leaving the repository is refused" "$(bad "git+file://$R//../etc/passwd")" \
	"must stay inside the repository"
like "a bad ref is refused" "$(bad "git+file://$R//play/site.yml@a..b")" \
	"a..b: not a git branch, tag or commit name"
# ... and what only the fetch can tell fails the job with a clear message.
job --playbook "git+file://$R//play/site.yml@nosuch" --hosts node1
isnt "a missing ref fails the job" "$rc" 0
like "saying which" "$(cat "$T/job.out")" "file://$R has no branch, tag or commit nosuch"
job --playbook "git+file://$R//play/nosuch.yml@main" --hosts node1
isnt "a missing path fails the job" "$rc" 0
like "naming the path and the commit" "$(cat "$T/job.out")" "file://$R at main \\(commit [0-9a-f]{12}\\) has no file play/nosuch.yml"
job --playbook "git+file://$T/nosuch//site.yml" --hosts node1
isnt "a repository that is not there fails the job" "$rc" 0
like "with git's reason" "$(cat "$T/job.out")" "git fetch of file://$T/nosuch: fatal: .*nosuch"
job --playbook "git+https://drover:s3cret-token@127.0.0.1:9/r.git//site.yml" --hosts node1
isnt "an unreachable https:// repository fails the job" "$rc" 0
like "the URL is shown without its credentials" "$(cat "$T/job.out")" "https://\\*\\*\\*@127.0.0.1:9/r.git"
is "the password is in no output" "$(cat "$T/job.out" | grep -c s3cret)" 0
is "nor in droverd's log" "$(cat "$T/droverd.log" | grep -c s3cret)" 0
ok "droverd still serves" "$DROVER" job list
done_testing
