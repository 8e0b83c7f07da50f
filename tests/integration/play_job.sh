#!/bin/sh
# play_job.sh - droverd's `playbook` job kind: the engine of `drover play` run as a job, its
# JSON events as the job's output and each host's recap as a job item.
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/droverd.sh"
command -v python3 >/dev/null || skip_all "python3 is not installed"
export DROVER_CONFIG=$TAP_TMP/cli.yml

out=$TAP_TMP/written
mkdir -p "$out"
ok "droverd starts" droverd_start "$TAP_TMP/state"
ok "login" env DROVER_PASSWORD=$ADMIN_PASSWORD "$DROVER" login

# params as JSON, built with python so the YAML keeps its newlines
params() {
	python3 -c 'import json, sys; print(json.dumps({"playbook_yaml": sys.argv[1],
	    "inventory_text": sys.argv[2], "extra_vars": {"out": sys.argv[3]}}))' "$1" "$2" "$3"
}
pb='- hosts: all
  gather_facts: false
  tasks:
    - copy: content="{{ inventory_hostname }}\n" dest={{ out }}/{{ inventory_hostname }}
    - command: cat {{ out }}/{{ inventory_hostname }}
      register: r
      changed_when: false
    - assert:
        that: r.stdout == inventory_hostname
'
inv='j1 ansible_connection=local
j2 ansible_connection=local
'
res=$("$DROVER" job run playbook --params "$(params "$pb" "$inv" "$out")" --follow 2>&1)
is "a playbook job succeeds" "$?" 0
like "its output is the JSON events" "$res" '"event":"recap"'
is "it ran on both hosts" "$(cat "$out/j1" "$out/j2")" "j1
j2"
id=$("$DROVER" --json job list | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["id"])')
show=$("$DROVER" --json job show "$id")
like "each host's recap is a job item" "$show" '"item": *"j2"'
like "the item says changed" "$show" '"state": *"changed"'

bad='- hosts: all
  gather_facts: false
  tasks:
    - fail: msg=boom
'
res=$("$DROVER" job run playbook --params "$(params "$bad" "$inv" "$out")" --follow 2>&1)
is "a failing playbook fails the job" "$?" 1
like "and the failure is in the output" "$res" 'boom'
res=$("$DROVER" job run playbook --params "$(params '- hosts: all
  taskz: []
' "$inv" "$out")" --follow 2>&1)
is "a playbook that does not load fails the job" "$?" 1
like "naming file:line:column" "$res" "playbook.yml:2:3: 'taskz' is not a valid attribute"
res=$("$DROVER" job run playbook -p inventory=x, --follow 2>&1)
is "missing playbook param fails" "$?" 1
like "and says what is required" "$res" 'playbook_yaml'
droverd_stop
done_testing
