#!/bin/sh
# play_net.sh - get_url, uri, unarchive, known_hosts, git and reboot over SSH against test
# nodes (tests/lib/nodes.sh), with a real HTTP server on the hub (tests/lib/httpd.py),
# real tar/unzip/git/ssh-keygen on the nodes: drover on node1, ansible-playbook on node2,
# the same recaps; second runs change nothing; check mode on node3 predicts the first run
# and changes nothing; bad input fails naming the task and the argument.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 git tar unzip zip xz curl ssh-keygen; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
DROVER=$top_builddir/drover
T=$TAP_TMP
PORT=8080
BASE=http://198.18.0.1:$PORT

nodes_up 3 || { echo "Bail out! nodes_up failed"; exit 1; }
httpd=
trap '[ -n "$httpd" ] && kill "$httpd" 2>/dev/null; nodes_down; rm -rf "$TAP_TMP"' EXIT

# what the server offers: a text file, its SHA256SUMS, a zip and a tar.xz
W=$T/www
mkdir -p "$W" "$T/src/d" "$T/play/files"
printf 'hello from the hub\n' >"$W/file.txt"
(cd "$W" && sha256sum file.txt >SHA256SUMS)
printf 'zipped\n' >"$T/src/d/z.txt"
printf 'tarred\n' >"$T/src/d/t.txt"
chmod 0640 "$T/src/d/t.txt"
(cd "$T/src" && zip -qr "$W/a.zip" d/z.txt && tar -cJf "$W/b.tar.xz" d/t.txt &&
	tar -czf "$T/play/files/c.tar.gz" d)
SHA=$(sha256sum "$W/file.txt" | cut -d' ' -f1)
nodes_exec python3 "$top_srcdir/tests/lib/httpd.py" 198.18.0.1 "$PORT" "$W" \
	>"$T/httpd.log" 2>&1 &
httpd=$!
tries=0
until grep -q listening "$T/httpd.log" 2>/dev/null || [ "$tries" -ge 500 ]; do
	tries=$((tries + 1))
	sleep 0.01
done

sshn() {
	n=$1
	shift
	nodes_exec ssh -i "$NODES_KEY" -o UserKnownHostsFile="$NODES_KNOWN_HOSTS" -o BatchMode=yes \
		root@"$(nodes_addr "$n")" "$@"
}
# a bare repository on every node (file://), with a tag v1 and then one more commit
for i in 1 2 3; do
	sshn "$i" 'set -e; git init -q --bare -b main /srv/repo.git; d=$(mktemp -d);
		git -C "$d" init -q -b main; cd "$d"; git config user.email t@t; git config user.name t;
		echo one >f; git add f; git commit -qm one; git tag v1; echo two >f; git commit -qam two;
		git push -q /srv/repo.git main v1; rm -rf "$d"' || echo "# repo on node$i failed"
done

inv=$T/inventory
{
	cat "$NODES_INVENTORY"
	printf 'ansible_ssh_known_hosts_file=%s\n' "$NODES_KNOWN_HOSTS"
} >"$inv"
KEY=$(cut -d' ' -f1,2 "$NODES_DIR/node1/seed/etc/ssh/drover_host_ed25519_key.pub")
KEY2=$(cut -d' ' -f1,2 "$NODES_DIR/node2/seed/etc/ssh/drover_host_ed25519_key.pub")

cat >"$T/play/net.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - name: download
      get_url: url={{ base }}/file.txt dest=/root/file.txt mode=0640
    - name: download with a checksum
      get_url: url={{ base }}/file.txt dest=/root/file2.txt checksum=sha256:{{ sha }}
    - name: download with a checksum file
      get_url:
        url: "{{ base }}/file.txt"
        dest: /root/file3.txt
        checksum: "sha256:{{ base }}/SHA256SUMS"
        headers: {X-Test: drover}
    - name: a directory
      file: path=/root/dl state=directory
    - name: download into a directory
      get_url: url={{ base }}/file.txt dest=/root/dl/
      ignore_errors: "{{ ansible_check_mode }}"  # the directory is not made in check mode
    - name: post JSON
      uri:
        url: "{{ base }}/echo"
        method: POST
        body_format: json
        body: {a: 1, b: [x, y]}
        return_content: true
      register: echo
    - assert:
        that:
          - "echo.json.json == {'a': 1, 'b': ['x', 'y']}"
          - echo.json.headers['content-type'] == 'application/json'
          - echo.status == 200 and not echo.changed
      when: not ansible_check_mode
    - name: a status that is expected
      uri: url={{ base }}/status/201 status_code=201
    - name: a body to a file (304 once it is there)
      uri: url={{ base }}/file.txt dest=/root/uri.txt status_code=200,304
    - name: a tar.gz from the controller
      file: path=/root/untar state=directory
    - unarchive: src=c.tar.gz dest=/root/untar
      ignore_errors: "{{ ansible_check_mode }}"
    - name: a zip from a URL
      file: path=/root/unzip state=directory
    - unarchive: src={{ base }}/a.zip dest=/root/unzip remote_src=yes
      ignore_errors: "{{ ansible_check_mode }}"
    - name: a tar.xz already on the host
      get_url: url={{ base }}/b.tar.xz dest=/root/b.tar.xz
    - file: path=/root/untxz state=directory
    - unarchive: src=/root/b.tar.xz dest=/root/untxz remote_src=yes
      ignore_errors: "{{ ansible_check_mode }}"
    - name: a known host
      known_hosts: path=/root/kh name=example.test key="example.test {{ key }}"
    - name: a hashed known host
      known_hosts: path=/root/kh name=hashed.test key="hashed.test {{ key }}" hash_host=yes
    - name: a clone
      git: repo=file:///srv/repo.git dest=/root/wc
    - name: a tag
      git: repo=file:///srv/repo.git dest=/root/wc1 version=v1
P

cd "$T/play" || exit 1
E="-e target=node1 -e base=$BASE -e sha=$SHA"
rund() {
	nodes_exec "$DROVER" play -i "$inv" "$@" >"$T/play.out" 2>&1
	rc=$?
}
runa() {
	nodes_exec env ANSIBLE_NOCOLOR=1 ANSIBLE_HOST_KEY_CHECKING=True ansible-playbook \
		-i "$NODES_INVENTORY" --private-key "$NODES_KEY" -u root "$@" >"$T/ansible.out" 2>&1
	arc=$?
}
counts() { grep -E "^$1 +: ok=" "$2" | tail -1 | sed -E 's/^[^:]*: //; s/ +/ /g'; }
recap() { grep -E "^$1 +: ok=" "$T/play.out" | tail -1 | sed -E "s/.* $2=([0-9]+).*/\1/"; }

# check mode on node3 first: it predicts and changes nothing
K3=$(cut -d' ' -f1,2 "$NODES_DIR/node3/seed/etc/ssh/drover_host_ed25519_key.pub")
rund net.yml -e target=node3 -e "base=$BASE" -e "sha=$SHA" -e "key='$K3'" --check
is "check mode: exit 0" "$rc" 0
cp "$T/play.out" "$T/check.out"
is "check mode wrote nothing" "$(sshn 3 'ls /root/file.txt /root/wc /root/kh /root/dl 2>&1 | grep -c "No such"')" 4
if command -v ansible-playbook >/dev/null 2>&1; then
	runa net.yml -e target=node3 -e "base=$BASE" -e "sha=$SHA" -e "key='$K3'" --check
	is "check mode: the same recap as ansible-playbook --check" \
		"$(counts node3 "$T/check.out")" "$(counts node3 "$T/ansible.out")"
fi

# first run: drover on node1, ansible-playbook on node2
rund net.yml $E -e "key='$KEY'"
is "first run: exit 0" "$rc" 0
cp "$T/play.out" "$T/first.out"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/play.out" | grep -E "fatal|FAILED" | head -5
is "every file arrived" "$(sshn 1 'cat /root/file.txt /root/file2.txt /root/file3.txt /root/dl/file.txt /root/uri.txt; stat -c %a /root/file.txt')" \
	"hello from the hub
hello from the hub
hello from the hub
hello from the hub
hello from the hub
640"
is "unarchived: tar.gz from the controller, zip from a URL, tar.xz on the host" \
	"$(sshn 1 'cat /root/untar/d/t.txt /root/untar/d/z.txt /root/unzip/d/z.txt /root/untxz/d/t.txt; stat -c %a /root/untxz/d/t.txt')" \
	"tarred
zipped
zipped
tarred
640"
is "known_hosts: the plain line, and a hashed one ssh-keygen finds" \
	"$(sshn 1 'grep -c "^example.test ssh-ed25519" /root/kh; grep -c "^|1|" /root/kh; ssh-keygen -F hashed.test -f /root/kh | grep -c ssh-ed25519')" "1
1
1"
is "git: a clone at the branch head and one at the tag" \
	"$(sshn 1 'cat /root/wc/f /root/wc1/f')" "two
one"
if command -v ansible-playbook >/dev/null 2>&1; then
	runa net.yml -e target=node2 -e "base=$BASE" -e "sha=$SHA" -e "key='$KEY2'"
	is "ansible-playbook: exit 0" "$arc" 0
	[ "$arc" -eq 0 ] || grep -E "fatal|FAILED" "$T/ansible.out" | head -5 | sed 's/^/# /'
	is "first run: the same recap as ansible-playbook" \
		"$(counts node1 "$T/first.out")" "$(counts node2 "$T/ansible.out")"
fi
rund net.yml $E -e "key='$KEY'"
is "second run: exit 0" "$rc" 0
is "second run: changed=0" "$(recap node1 changed)" 0
if command -v ansible-playbook >/dev/null 2>&1; then
	runa net.yml -e target=node2 -e "base=$BASE" -e "sha=$SHA" -e "key='$KEY2'"
	is "second run: the same recap as ansible-playbook" \
		"$(counts node1 "$T/play.out")" "$(counts node2 "$T/ansible.out")"
fi
cat >"$T/play/uri.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - uri:
        url: "{{ base }}/echo"
        method: PUT
        body_format: form-urlencoded
        body: {name: a b, x: "1&2"}
        headers: {X-Token: secret}
      register: r
    - uri: url={{ base }}/redirect return_content=true
      register: red
    - uri: url={{ base }}/cookie
      register: ck
    - assert:
        that:
          - r.json.method == 'PUT'
          - r.json.body == 'name=a+b&x=1%262'
          - r.json.headers['x-token'] == 'secret'
          - r.json.headers['content-type'] == 'application/x-www-form-urlencoded'
          - red.redirected and red.content == 'hello from the hub\n' and red.status == 200
          - ck.cookies.session == 'abc' and ck.cookies_string == 'session=abc'
P
rund uri.yml $E
is "uri: methods, form bodies, headers, redirects, cookies" "$rc" 0
[ "$rc" -eq 0 ] || grep -E "fatal|FAILED|Assertion" "$T/play.out" | head -5 | sed 's/^/# /'

# an update: a new commit upstream moves the clone; local edits fail without force
sshn 1 'set -e; d=$(mktemp -d); git clone -q /srv/repo.git "$d/w"; cd "$d/w"; git config user.email t@t;
	git config user.name t; echo three >f; git commit -qam three; git push -q origin main; rm -rf "$d"'
cat >"$T/play/git.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - git: repo=file:///srv/repo.git dest=/root/wc force={{ force | default(false) }}
      register: g
    - debug: msg="{{ g.before }} {{ g.after }}"
P
rund git.yml $E
is "git: an upstream commit is pulled (changed)" "$(recap node1 changed):$(sshn 1 cat /root/wc/f)" "1:three"
[ "$rc" -eq 0 ] || tail -5 "$T/play.out" | sed 's/^/# /'
sshn 1 'echo local >>/root/wc/f'
rund git.yml $E
is "git: local modifications fail without force" "$rc" 2
like "git: the message says so" "$(cat "$T/play.out")" 'Local modifications exist in the destination: /root/wc \(force=no\)'
rund git.yml $E -e force=true
is "git: force discards them" "$(recap node1 changed):$(sshn 1 cat /root/wc/f)" "1:three"

# bad input: a wrong checksum, a missing file, a bad argument, an unknown handler
cat >"$T/play/bad.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - name: wrong checksum
      get_url: url={{ base }}/file.txt dest=/root/bad.txt checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      ignore_errors: true
    - name: not found
      get_url: url={{ base }}/nope.txt dest=/root/nope.txt
      ignore_errors: true
    - name: not an archive
      unarchive: src=/root/file.txt dest=/root remote_src=yes
      ignore_errors: true
    - name: unexpected status
      uri: url={{ base }}/status/500
      ignore_errors: true
    - name: bad checksum format
      get_url: url={{ base }}/file.txt dest=/root/x.txt checksum=sha256
      ignore_errors: true
P
rund bad.yml $E
out=$(cat "$T/play.out")
like "wrong checksum: named, and no file left" "$out" 'The checksum for /root/bad.txt did not match 0123456789abcdef'
is "the bad download is not kept" "$(sshn 1 'ls /root/bad.txt 2>&1 | grep -c "No such"')" 1
like "a 404 fails the download" "$out" '"msg": "Request failed".*"status_code": 404'
like "not an archive: no handler" "$out" 'Failed to find handler for'
like "an unexpected status" "$out" 'Status code was 500 and not \[200\]: HTTP Error 500'
like "a checksum without an algorithm" "$out" 'The checksum parameter has to be in format <algorithm>:<checksum>'
cat >"$T/play/badarg.yml" <<'P'
- hosts: node1
  gather_facts: false
  tasks:
    - get_url: url=http://x/ dest=/tmp/x nosuch=1
P
rund badarg.yml
like "an unknown argument names the module and the argument" "$(cat "$T/play.out")" \
	'unsupported parameter for \(get_url\) module: nosuch'

# async with poll 0: the job outlives the play; async_status follows it
cat >"$T/play/async.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - shell: sleep 1; echo done; echo err >&2
      async: 30
      poll: 0
      register: job
    - async_status: jid={{ job.ansible_job_id }}
      register: st
      until: st.finished
      retries: 30
      delay: 1
    - assert:
        that: [st.stdout == 'done', st.stderr == 'err', st.rc == 0, st.cmd is string]
    - file: path=/root/async-file state=touch
      async: 30
      poll: 0
      register: j2
    - async_status: jid={{ j2.ansible_job_id }}
      register: st2
      until: st2.finished
      retries: 10
      delay: 1
    - async_status: jid={{ j2.ansible_job_id }} mode=cleanup
    - name: not every action can run in the background
      copy: content=x dest=/root/async-copy
      async: 30
      poll: 0
      ignore_errors: true
    - name: a job that outlives the play
      shell: sleep 8; echo late > /root/async-late
      async: 60
      poll: 0
P
sshn 1 'rm -rf /root/.ansible_async'  # (the overlay shows the machine's own)
rund async.yml $E
is "async poll 0 and async_status: exit 0" "$rc" 0
like "copy refuses async as Ansible's does" "$(cat "$T/play.out")" 'async is not supported for this task'
[ "$rc" -eq 0 ] || grep -E "fatal|FAILED" "$T/play.out" | head -5 | sed 's/^/# /'
is "the job is still running when the play ends" "$(sshn 1 'cat /root/async-late 2>&1 | grep -c "No such"')" 1
i=0
until sshn 1 'test -f /root/async-late' || [ "$i" -ge 30 ]; do
	sleep 1
	i=$((i + 1))
done
is "and finishes after it" "$(sshn 1 'cat /root/async-late')" late
is "the job files are under ~/.ansible_async" "$(sshn 1 'ls /root/.ansible_async | grep -c "^j.*\.rc$"')" 2
if command -v ansible-playbook >/dev/null 2>&1; then
	runa async.yml -e target=node2
	is "async: the same recap as ansible-playbook" \
		"$(counts node1 "$T/play.out")" "$(counts node2 "$T/ansible.out")"
fi

# become with su and a password (-K, then ansible_become_password), logged in as a user
sshn 1 'useradd -m -s /bin/sh -p "*" alice && mkdir -p ~alice/.ssh && cp /root/.ssh/authorized_keys ~alice/.ssh/ &&
	chown -R alice: ~alice/.ssh'
cat >"$T/play/su.yml" <<'P'
- hosts: node1
  gather_facts: false
  vars:
    ansible_user: alice  # (play vars win over the inventory's ansible_user=root)
  become: true
  become_method: su
  tasks:
    - command: id -un
      register: id
      changed_when: false
    - copy: content="root's\n" dest=/root/su-file mode=0600
    - command: id -un
      become: false
      register: me
      changed_when: false
    - assert:
        that: [id.stdout == 'root', id.stderr == '', me.stdout == 'alice']
P
printf '%s\n' "$NODES_PASSWORD" | nodes_exec "$DROVER" play -i "$inv" -K su.yml >"$T/play.out" 2>&1
rc=$?
is "become su with the password from -K: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || grep -E "fatal|ERROR" "$T/play.out" | head -3 | sed 's/^/# /'
is "the file belongs to root" "$(sshn 1 'stat -c %U:%a /root/su-file')" "root:600"
nodes_exec "$DROVER" play -i "$inv" su.yml -e ansible_become_password=wrong >"$T/play.out" 2>&1
is "a wrong su password: exit 2" "$?" 2
like "the failure says su refused" "$(cat "$T/play.out")" 'become \(su to root\) failed: .*Authentication failure'
nodes_exec "$DROVER" play -i "$inv" su.yml -e "ansible_become_password=$NODES_PASSWORD" >"$T/play.out" 2>&1
is "the password as a variable: exit 0, nothing left to change" "$?:$(recap node1 changed)" "0:0"

# reboot: a new boot id, the test command, the session back for the next task
before=$(nodes_boot_id 1)
cat >"$T/play/reboot.yml" <<'P'
- hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - reboot: reboot_timeout=60 test_command="test -f /root/file.txt" post_reboot_delay=1
      register: rb
    - command: cat /proc/sys/kernel/random/boot_id
      register: id
      changed_when: false
    - debug: var=id.stdout
    - assert:
        that: [rb.rebooted, rb.changed]
P
rund reboot.yml $E
is "reboot: exit 0" "$rc" 0
after=$(nodes_boot_id 1)
ok "reboot: a new boot id" test -n "$after" -a "$before" != "$after"
like "reboot: the next task ran on the new boot" "$(cat "$T/play.out")" "$after"
if command -v ansible-playbook >/dev/null 2>&1; then
	b2=$(nodes_boot_id 2)
	runa reboot.yml -e target=node2
	if [ "$arc" -eq 0 ]; then
		is "reboot: the same recap as ansible-playbook" \
			"$(counts node1 "$T/play.out")" "$(counts node2 "$T/ansible.out")"
		ok "ansible-playbook rebooted node2 too" test "$b2" != "$(nodes_boot_id 2)"
	else
		# The comparison needs the peer's own reboot to work; ours is checked above.
		echo "# ansible-playbook exited $arc; node2's boot id before '$b2', now '$(nodes_boot_id 2)'"
		grep -E -A4 'fatal|FAILED|UNREACHABLE|ERROR' "$T/ansible.out" | sed 's/^/# /' | head -30
		sed 's/^/# node2: /' "$NODES_DIR/node2/sshd.log" | tail -10
		skip "reboot: the same recap as ansible-playbook" "ansible-playbook's own reboot of node2 failed (above)"
		skip "ansible-playbook rebooted node2 too" "ansible-playbook's own reboot of node2 failed (above)"
	fi
fi
rund reboot.yml $E --check
is "reboot in check mode: no reboot" "$(nodes_boot_id 1)" "$after"
done_testing
