#!/bin/sh
# play_local.sh - `drover play` end to end over the local connection: every file module
# changes on the first run and not on the second, check mode predicts and touches nothing,
# --diff shows changes, keywords behave as ansible-playbook's (compared line by line when
# ansible-playbook is installed), bad input fails clearly with ansible-playbook's exit codes.
. "$top_srcdir/tests/lib/tap.sh"
DROVER=$top_builddir/drover
F=$top_srcdir/tests/fixtures/play
d=$TAP_TMP
cd "$F" || exit 1

# play PLAYBOOK ARGS...: run drover, output in $d/out, exit code in $rc
play() {
	"$DROVER" play -i inventory.ini "$@" >"$d/play.out" 2>&1
	rc=$?
}
# recap FIELD: the number after FIELD= in the last recap line of $d/out
recap() {
	grep -E '^[a-z0-9]+ +: ok=' "$d/play.out" | tail -1 | sed -E "s/.* $1=([0-9]+).*/\1/"
}

# --- file modules: first run changes, second does not, check mode predicts -------------
w=$d/files
mkdir -p "$w/check" "$w/real"
play modules.yml -e d="$w/check" --check
is "check mode: exit 0" "$rc" 0
predicted=$(recap changed)
ok "check mode: nothing written" test -z "$(ls -A "$w/check")"
play modules.yml -e d="$w/real" --diff
is "first run: exit 0" "$rc" 0
is "first run: changed as check mode predicted" "$(recap changed)" "$predicted"
ok "first run changed every task" test "$(recap changed)" -eq 13
like "--diff shows the new file's lines" "$(cat "$d/play.out")" '^\+line 2$'
is "copy content" "$(cat "$w/real/c1")" "abc"
is "copy mode" "$(stat -c %a "$w/real/c1")" 600
is "copy of a directory" "$(cat "$w/real/tree/sub/two")" 2
is "copy of a directory's contents" "$(cat "$w/real/tree2/one")" 1
is "template with trim_blocks" "$(cat "$w/real/t1")" "x=42
line 0
line 1
line 2"
is "template mode" "$(stat -c %a "$w/real/t1")" 640
is "file directory mode" "$(stat -c %a "$w/real/dir1/sub")" 750
is "file link" "$(readlink "$w/real/link1")" c1
is "lineinfile order" "$(cat "$w/real/conf")" "first
a=1
b=2"
play modules.yml -e d="$w/real"
is "second run: changed=0" "$(recap changed)" 0
play modules.yml -e d="$w/real" --check
is "check mode after a run: changed=0" "$(recap changed)" 0
before=$(cd "$w/real" && find . -type f -exec sha1sum {} + | sort)
play modules_after.yml -e d="$w/real" --check --diff --skip-tags verify
is "check mode on edits: exit 0" "$rc" 0
ok "check mode predicts edits" test "$(recap changed)" -gt 0
predicted=$(recap changed)
like "--diff shows a replaced line" "$(cat "$d/play.out")" '^\+a=3$'
is "check mode changed no file" "$(cd "$w/real" && find . -type f -exec sha1sum {} + | sort)" "$before"
play modules_after.yml -e d="$w/real" --skip-tags verify
is "edits: exit 0" "$rc" 0
is "edits changed as predicted" "$(recap changed)" "$predicted"
play modules_after.yml -e d="$w/real" --tags verify
is "verify: exit 0" "$rc" 0
is "hard link" "$(stat -c %i "$w/real/hard1")" "$(stat -c %i "$w/real/c2")"
is "symbolic mode u+x" "$(stat -c %a "$w/real/c1")" 700
is "lineinfile edits" "$(cat "$w/real/conf")" "a=3
b=2
after-b
via-link"
is "lineinfile through a link edits its target, the link stays" \
	"$(stat -c %F "$w/real/conf-link")" "symbolic link"
is "replace with backreferences" "$(cat "$w/real/ports")" "listen 22
listen 80"
is "blockinfile removed" "$(cat "$w/real/block")" ""
is "fetch" "$(cat "$w/real/fetched/db1$w/real/c2")" hello
is "fetch flat" "$(cat "$w/real/flat.txt")" hello
play modules_after.yml -e d="$w/real"
is "edits second run: changed=0" "$(recap changed)" 0

mkdir -p "$w/keys"
play authorized_key.yml -e d="$w/keys"
is "authorized_key: exit 0" "$rc" 0
is "authorized_key: changes exactly when the file changes" "$(recap changed)" 4
is "authorized_key: the last key removed" "$(cat "$w/keys/keys")" ""

# --- keywords, compared with ansible-playbook -----------------------------------------------
# norm FILE: banners and per-host status lines, host lines sorted within each task.
norm() {
	python3 - "$1" <<'PY'
import re, sys
out, block = [], []
def flush():
    out.extend(sorted(block)); block.clear()
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if re.match(r'^(PLAY|TASK|RUNNING HANDLER|PLAY RECAP|NO MORE HOSTS)', line):
        flush()
        b = re.sub(r' \*+$', '', line)
        if b.startswith('TASK [meta') or (out and out[-1] == b):
            continue
        out.append(b)
        continue
    m = re.match(r'^(ok|changed|fatal|failed|skipping|included|\.\.\.ignoring)(: \[[^\]]+\])?( => \(item=[^)]*\))?', line)
    if m:
        block.append(re.sub(r'included: \S+/', 'included: ', m.group(0)))
    elif re.match(r'^\S+\s+: ok=', line):
        block.append(re.sub(r'\s+', ' ', line))
flush()
print('\n'.join(out))
PY
}
for pb in keywords serial roles tags; do
	o=$d/$pb
	mkdir -p "$o.1" "$o.2"
	"$DROVER" play -i inventory.ini "$pb.yml" -e out="$o.1" >"$o.drover" 2>&1
	drc=$?
	case $pb in serial) want=2 ;; *) want=0 ;; esac
	is "$pb.yml: exit code" "$drc" "$want"
	if command -v ansible-playbook >/dev/null 2>&1; then
		ANSIBLE_NOCOLOR=1 ansible-playbook -i inventory.ini "$pb.yml" -e out="$o.2" \
			>"$o.ansible" 2>&1
		is "$pb.yml: same exit code as ansible-playbook" "$drc" "$?"
		is "$pb.yml: same task results as ansible-playbook" "$(norm "$o.drover")" \
			"$(norm "$o.ansible")"
	fi
done
out=$(cat "$d/keywords.drover")
like "handlers run in definition order" "$(grep -A1 'RUNNING HANDLER' "$d/keywords.drover" | grep -o 'HANDLER \[[a-z]*' | tr '\n' ' ')" \
	'HANDLER \[first HANDLER \[second HANDLER \[third $'
like "until retried" "$out" 'FAILED - RETRYING: \[web1\]: until \(5 retries left\)'
like "run_once ran on one host" "$(grep -A2 'TASK \[run once\]' "$d/keywords.drover")" 'changed: \[web1\]'
like "delegate_to localhost" "$out" 'changed: \[web1 -> localhost\]'
like "roles: dependency first, with its parameters" "$(cat "$d/roles.drover")" 'set by base'
like "roles: defaults < play vars" "$(cat "$d/roles.drover")" '"default value role var from play"'
like "precedence: host_vars > group_vars child > parent" "$(cat "$d/roles.drover")" '"host_web1 web all app"'
for t in a b always; do
	:
done
"$DROVER" play -i inventory.ini tags.yml --tags b >"$d/tags" 2>&1
is "--tags b runs b and always" "$(grep -o 'TASK \[[a-z ]*\]' "$d/tags" | tr '\n' ' ')" \
	"TASK [tagged b] TASK [always] "
"$DROVER" play -i inventory.ini tags.yml --skip-tags always,a >"$d/tags" 2>&1
is "--skip-tags" "$(grep -o 'TASK \[[a-z ]*\]' "$d/tags" | tr '\n' ' ')" \
	"TASK [tagged b] TASK [untagged] TASK [in tagged block] "

# --- output modes --------------------------------------------------------------------------
"$DROVER" play -i inventory.ini tags.yml --json >"$d/json" 2>&1
is "--json: exit 0" "$?" 0
ok "--json: every line is a JSON object" python3 -c '
import json, sys
for l in open(sys.argv[1]): assert isinstance(json.loads(l), dict)' "$d/json"
like "--json: recap event" "$(tail -1 "$d/json")" '"event": ?"recap"'
play tags.yml --list-tasks
like "--list-tasks" "$(cat "$d/play.out")" 'tagged a	TAGS: \[.a.\]'
play serial.yml --list-hosts
like "--list-hosts" "$(cat "$d/play.out")" 'hosts \(4\):'
play keywords.yml --syntax-check
is "--syntax-check: exit 0" "$rc" 0
play tags.yml -v --tags a
like "-v shows results" "$(cat "$d/play.out")" 'ok: \[db1\] => \{'
play tags.yml --start-at-task untagged
is "--start-at-task" "$(grep -o 'TASK \[[a-z ]*\]' "$d/play.out" | tr '\n' ' ')" \
	"TASK [untagged] TASK [always] TASK [in tagged block] "

# --- bad input -------------------------------------------------------------------------------
play malformed.yml
is "malformed YAML: exit 4 (as ansible-playbook)" "$rc" 4
like "malformed YAML: names the file and line" "$(cat "$d/play.out")" 'malformed.yml:5'
play unknown_module.yml
is "unknown module: exit 4" "$rc" 4
like "unknown module: file:line:column" "$(cat "$d/play.out")" \
	"unknown_module.yml:5:7: 'no_such_module' is not a valid task keyword or module name"
play bad_args.yml
is "wrong argument type: exit 2" "$rc" 2
like "wrong argument type: says so" "$(cat "$d/play.out")" \
	"argument 'backup' is of type str and we were unable to convert to bool"
play undefined.yml
is "undefined variable: exit 2" "$rc" 2
like "undefined variable: named" "$(cat "$d/play.out")" "'nope' is undefined"
play unreachable.yml
is "unreachable host: exit 4" "$rc" 4
like "unreachable host: reported apart" "$(cat "$d/play.out")" 'UNREACHABLE!.*unknown connection type'
play no-such-playbook.yml
is "missing playbook: exit 1" "$rc" 1
"$DROVER" play --bogus x.yml >"$d/play.out" 2>&1
is "bad option: exit 5" "$?" 5
"$DROVER" play -i "$d/nope.ini" tags.yml >"$d/play.out" 2>&1
is "a missing inventory is a warning, as in ansible-playbook: exit 0" "$?" 0
like "the warning names it" "$(cat "$d/play.out")" "Unable to parse $d/nope.ini as an inventory source"
ANSIBLE_INVENTORY_UNPARSED_FAILED=true "$DROVER" play -i "$d/nope.ini" tags.yml >"$d/play.out" 2>&1
is "an error with ANSIBLE_INVENTORY_UNPARSED_FAILED: exit 1" "$?" 1
printf -- '- hosts: all\n  tasks:\n    - import_tasks: no-such-file.yml\n' >"$d/noimport.yml"
"$DROVER" play -i localhost, -c local "$d/noimport.yml" >"$d/play.out" 2>&1
is "a missing imported task file: exit 1, as ansible-playbook" "$?" 1
printf -- '- hosts: all\n  roles: [no-such-role]\n' >"$d/norole.yml"
"$DROVER" play -i localhost, -c local "$d/norole.yml" >"$d/play.out" 2>&1
is "a missing role: exit 1, as ansible-playbook" "$?" 1

# A failure a rescue section catches, under serial with max_fail_percentage: 0: the rescue
# runs (the failure does not end the batch first), a failing rescue fails the host, and the
# recap counts rescued=1 and failed=1, as ansible-playbook's does.
cat >"$d/rescue.yml" <<'P'
- hosts: all
  gather_facts: false
  serial: 1
  max_fail_percentage: 0
  tasks:
    - block:
        - command: /bin/false
          register: r
      rescue:
        - debug: msg="rescuing {{ r is failed }}"
        - fail: msg="stop here"
P
"$DROVER" play -i localhost, -c local "$d/rescue.yml" >"$d/play.out" 2>&1
is "a failing rescue under max_fail_percentage: exit 2" "$?" 2
like "the rescue ran" "$(cat "$d/play.out")" '"msg": "rescuing True"'
like "rescued=1 and failed=1 in the recap" "$(cat "$d/play.out")" 'ok=1 +changed=0 +unreachable=0 +failed=1 +skipped=0 +rescued=1'

# A block's when holds for each of its tasks (and its rescue): false here, so every task of
# the blocks is skipped, as ansible-playbook skips them.
cat >"$d/blockwhen.yml" <<'P'
- hosts: all
  gather_facts: false
  tasks:
    - set_fact:
        needed: "{{ false or false }}"
    - name: a block with when and rescue
      when: needed | bool
      block:
        - command: /bin/true
      rescue:
        - debug: msg=rescue
    - block:
        - block:
            - command: /bin/true
      when: needed
P
"$DROVER" play -i localhost, -c local "$d/blockwhen.yml" >"$d/play.out" 2>&1
is "block when false: exit 0" "$?" 0
like "every task of the blocks is skipped" "$(cat "$d/play.out")" 'ok=1 +changed=0 +unreachable=0 +failed=0 +skipped=2'

# command with creates= (as argv and as free form): skipped when the file exists, and the
# command held for the result is freed then too (the ASan build checks leaks at exit).
cat >"$d/creates.yml" <<P
- hosts: all
  gather_facts: false
  tasks:
    - command: touch $d/created creates=$d/created
    - command:
        argv: [touch, $d/created]
        creates: $d/created
P
"$DROVER" play -i localhost, -c local "$d/creates.yml" >"$d/play.out" 2>&1
is "command with creates: exit 0" "$?" 0
like "the first ran, the second did not" "$(cat "$d/play.out")" 'ok=2 +changed=1 +unreachable=0 +failed=0'

done_testing
