#!/bin/sh
# jobs_git.sh - playbooks from a git repository (drover job run --playbook
# git+URL//PATH[@REF]): droverd fetches with the real git, over file:// and over ssh:// from
# a repository on an sshd test node, runs the playbook with its role, fetches again when the
# branch moves, and refuses bad URLs, missing refs and missing paths with clear errors.
# A private repository over https (nginx with TLS and basic authentication in front of git
# http-backend): a URL with user:token@ becomes a git credential (encrypted; only its name
# stays in the job), the job clones with it, and nothing a viewer reads (API, CLI, pages),
# no log, no process's command line or environment and no file of the state directory has
# the token in plain text; a wrong credential fails naming the repository, not the secret;
# credentials an older version left in params and audit rows move at start.
. "$top_srcdir/tests/lib/tap.sh"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for c in sshd ssh ip unshare python3 git nginx fcgiwrap openssl sqlite3 curl; do
	command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip_all "needs $c"
done
. "$top_srcdir/tests/lib/nodes.sh"
. "$top_srcdir/tests/lib/droverd.sh"
T=$TAP_TMP
export DROVER_CONFIG=$T/cli.yml
isnt() { ok "$1" [ "$2" != "$3" ]; }

# A test CA for the https:// git server: it joins the system trust store in droverd's own
# mount namespace, as an operator's CA would with update-ca-certificates.
mkdir -p "$T/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=drover-test-ca -keyout "$T/tls/ca.key" -out "$T/tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$T/tls/server.key" -out "$T/tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/tls/ext"
openssl x509 -req -in "$T/tls/server.csr" -CA "$T/tls/ca.crt" -CAkey "$T/tls/ca.key" \
	-CAcreateserial -days 2 -extfile "$T/tls/ext" -out "$T/tls/server.crt" 2>/dev/null
cat /etc/ssl/certs/ca-certificates.crt "$T/tls/ca.crt" >"$T/tls/bundle.crt"

NGINX_PID= FCGI_PID=
nodes_up 2 || { echo "Bail out! nodes_up failed"; exit 1; }
trap 'kill $NGINX_PID $FCGI_PID 2>/dev/null; droverd_stop KILL; nodes_down; rm -rf "$T"' EXIT
cat >"$T/droverd" <<EOF
#!/bin/sh
exec ip netns exec $NODES_HUB unshare -m sh -c \
	'mount --bind "\$0" /etc/ssl/certs/ca-certificates.crt && exec "\$@"' \
	"$T/tls/bundle.crt" $top_builddir/droverd "\$@"
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
like "the URL is shown without its credentials, with the credential made of them" \
	"$(cat "$T/job.out")" "git fetch \\(credential https://127.0.0.1:9/r.git\\) of https://127.0.0.1:9/r.git: fatal: unable to access"
is "the password is in no output" "$(cat "$T/job.out" | grep -c s3cret)" 0
is "nor in droverd's log" "$(cat "$T/droverd.log" | grep -c s3cret)" 0
ok "droverd still serves" "$DROVER" job list

# --- A private repository over https, with basic authentication.
TOKEN=tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
WRONG=bad-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$T/token.pat" # what the greps below look for
printf '%s\n' "$WRONG" >"$T/wrong.pat"
N=$T/nginx
mkdir -p "$N/tmp" "$T/srv/private"
git clone -q --bare "$R" "$T/srv/private/site.git"
printf 'deploy:%s\n' "$(openssl passwd -apr1 -in "$T/token.pat")" >"$N/htpasswd"
cat >"$N/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log;
events { worker_connections 64; }
http {
	access_log $N/access.log;
	client_body_temp_path $N/tmp/body;
	fastcgi_temp_path $N/tmp/fastcgi;
	proxy_temp_path $N/tmp/proxy;
	uwsgi_temp_path $N/tmp/uwsgi;
	scgi_temp_path $N/tmp/scgi;
	server {
		listen 127.0.0.1:8443 ssl;
		ssl_certificate $T/tls/server.crt;
		ssl_certificate_key $T/tls/server.key;
		location /private/ {
			auth_basic "drover test";
			auth_basic_user_file $N/htpasswd;
			include /etc/nginx/fastcgi_params;
			fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
			fastcgi_param GIT_PROJECT_ROOT $T/srv;
			fastcgi_param GIT_HTTP_EXPORT_ALL "";
			fastcgi_param GIT_PROTOCOL \$http_git_protocol;
			fastcgi_param PATH_INFO \$uri;
			fastcgi_param REMOTE_USER \$remote_user;
			fastcgi_pass unix:$N/fcgi.sock;
		}
	}
}
EOF
nodes_exec fcgiwrap -s "unix:$N/fcgi.sock" >"$N/fcgiwrap.log" 2>&1 &
FCGI_PID=$!
nodes_exec nginx -p "$N" -c "$N/nginx.conf" -g 'daemon off;' >"$N/nginx.log" 2>&1 &
NGINX_PID=$!
PRIV=https://127.0.0.1:8443/private/site.git
status() { nodes_exec curl -s -o /dev/null -w '%{http_code}' --cacert "$T/tls/ca.crt" "$@"; }
i=0
until [ "$(status "$PRIV/info/refs")" = 401 ] || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
is "the private repository asks for a password" "$(status "$PRIV/info/refs")" 401
job --playbook "git+$PRIV//play/site.yml@main" --hosts node1
isnt "without a credential the job fails" "$rc" 0
like "saying git could not log in" "$(cat "$T/job.out")" \
	"git fetch of $PRIV: fatal: could not read Username"

# The URL with user:token@ through the API (from a file: no command line here has the
# token), while every process's command line and environment is searched for it.
{
	printf '{"playbook": "git+https://deploy:'
	tr -d '\n' <"$T/token.pat"
	printf '@127.0.0.1:8443/private/site.git//play/site.yml@main", "hosts": ["node1"]}'
} >"$T/body.json"
admin_token=$(sed -n 's/^token: *"*\([^"]*\)"*$/\1/p' "$T/cli.yml")
api() { # api METHOD PATH [CURL ARGS...], as admin
	m=$1 p=$2
	shift 2
	nodes_exec curl -s -X "$m" -H "Authorization: Bearer $admin_token" \
		-H 'Content-Type: application/json' "$@" "$DROVERD_URL$p"
}
id=$(api POST /api/v2/job_invocations --data-binary @"$T/body.json" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
"$DROVER" job follow "$id" >"$T/job.out" 2>&1 &
fp=$!
seen=0 rounds=0
while kill -0 $fp 2>/dev/null && [ $rounds -lt 3000 ]; do
	grep -qlaFf "$T/token.pat" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null &&
		seen=$((seen + 1))
	rounds=$((rounds + 1))
done
wait $fp
rc=$?
is "a playbook from the private repository runs with the URL's credential" "$rc" 0
is "its role ran" "$(node 1 'cat /etc/drover-git-motd')" "version two"
like "the job names the repository and the credential, not the token" "$(cat "$T/job.out")" \
	"from $PRIV \\(credential $PRIV\\) at main \\(commit [0-9a-f]{40}\\)"
ok "the token was looked for in every process ($rounds times)" [ "$rounds" -gt 0 ]
is "and no command line or environment had it" "$seen" 0
like "the credential is listed by its name" "$("$DROVER" git-credential list)" "$PRIV"
cred=$("$DROVER" --json git-credential show "$PRIV")
like "showing it gives its name" "$cred" "\"name\": \"$PRIV\""
is "and neither the user name nor the token" \
	"$(printf '%s' "$cred" | grep -c -e deploy -e password -Ff "$T/token.pat")" 0

# Named credentials: created from a file, referenced by name from a job and a schedule.
ok "git-credential create reads the token from a file" "$DROVER" git-credential create \
	--name ops --username deploy --token-file "$T/token.pat"
job --playbook "git+$PRIV//play/site.yml@v1" --credential ops --hosts node2
is "a job naming the credential clones" "$rc" 0
is "and runs the tag's playbook" "$(node 2 'cat /etc/drover-git-motd')" "version one"
params='{"playbook_git": {"url": "'$PRIV'", "path": "play/site.yml", "ref": "main",
 "credential": "ops"}, "hosts": ["node2"]}'
"$DROVER" job run remote_execution --params "$params" --follow >"$T/job.out" 2>&1
is "raw job params naming the credential run" "$?" 0
ok "a schedule names the credential" "$DROVER" schedule create --name private-nightly \
	--cron '0 3 * * *' --kind remote_execution --params "$params"
like "the credential says which schedule uses it" "$("$DROVER" git-credential show ops)" \
	"SCHEDULES +private-nightly"
like "deleting a credential a schedule uses is refused" \
	"$("$DROVER" git-credential delete ops 2>&1)" "used by schedule 'private-nightly'"
rawbad='{"playbook_git": {"url": "https://deploy:'$TOKEN'@127.0.0.1:8443/private/site.git",
 "path": "play/site.yml", "ref": "main"}, "hosts": ["node2"]}'
out=$("$DROVER" job run remote_execution --params "$rawbad" 2>&1)
like "raw job params with credentials in the URL are refused" "$out" \
	"credentials in $PRIV are not stored: create a git credential"
is "without repeating the token" "$(printf '%s' "$out" | grep -cFf "$T/token.pat")" 0
out=$("$DROVER" schedule create --name leaky --cron '0 4 * * *' --kind remote_execution \
	--params "$rawbad" 2>&1)
like "so are a schedule's" "$out" "credentials in $PRIV are not stored"
is "and no such schedule is kept" "$("$DROVER" schedule list | grep -c leaky)" 0

# A wrong credential fails the job naming the repository, not the secret.
"$DROVER" git-credential create --name wrong --username deploy \
	--token-file - <"$T/wrong.pat" >/dev/null
job --playbook "git+$PRIV//play/site.yml@main" --credential wrong --hosts node1
isnt "a wrong credential fails the job" "$rc" 0
like "naming the repository and the credential" "$(cat "$T/job.out")" \
	"git fetch \\(credential wrong\\) of $PRIV: fatal: Authentication failed for '$PRIV/'"
is "without the secret" "$(grep -cFf "$T/wrong.pat" "$T/job.out")" 0
wrongjob=$("$DROVER" --json job list | python3 -c 'import json, sys
print(max(j["id"] for j in json.load(sys.stdin)["results"]))')

# The web form: user:token@ in the git field; a form shown again (a bad field) has the URL
# without them; a credential's name in its own field.
ui_login() { # ui_login JAR USER PASSWORD
	nodes_exec curl -s -c "$1" -b "$1" "$DROVERD_URL/login" -o "$T/login.html"
	lt=$(sed -n 's/.*name="login_token" value="\([0-9a-f]*\)".*/\1/p' "$T/login.html")
	nodes_exec curl -s -c "$1" -b "$1" -o /dev/null --data-urlencode "user=$2" \
		--data-urlencode "password=$3" --data-urlencode "login_token=$lt" \
		--data-urlencode next=/ "$DROVERD_URL/login"
}
ajar=$T/admin.jar
ui_login "$ajar" admin "$ADMIN_PASSWORD"
nodes_exec curl -s -b "$ajar" "$DROVERD_URL/ui/job_invocations/new" >"$T/form.html"
ctok=$(sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' "$T/form.html" | head -1)
{
	printf 'https://deploy:'
	tr -d '\n' <"$T/token.pat"
	printf '@127.0.0.1:8443/private/site.git//play/site.yml@main'
} >"$T/giturl"
uipost() { nodes_exec curl -s -b "$ajar" -o "$T/post.html" -w '%{http_code} %{redirect_url}' \
	--data-urlencode "csrf_token=$ctok" "$@" "$DROVERD_URL/ui/job_invocations"; }
like "a form with a bad field is shown again" \
	"$(uipost --data-urlencode "git@$T/giturl" -d 'search=name%20%3D%20node1' -d concurrency=lots)" '^422'
like "with the URL" "$(cat "$T/post.html")" '127.0.0.1:8443/private/site.git//play/site.yml@main'
is "but not the token" "$(grep -cFf "$T/token.pat" "$T/post.html")" 0
out=$(uipost -d "git=$PRIV//play/site.yml@main" -d credential=ops -d 'search=name%20%3D%20node1')
like "a form naming the credential starts the job" "$out" '^303 .*/ui/job_invocations/[0-9]+$'
"$DROVER" job follow "${out##*/}" >"$T/job.out" 2>&1
is "which clones with it" "$?" 0

# A viewer reads everything about these jobs, the schedule and the credentials.
printf 'viewer-pass-1\n' | "$DROVER" user create --login vera --role viewer >/dev/null
ok "the viewer logs in" env DROVER_CONFIG="$T/viewer.yml" DROVER_PASSWORD=viewer-pass-1 \
	"$DROVER" login --user vera
V() { DROVER_CONFIG="$T/viewer.yml" "$DROVER" "$@"; }
vtoken=$(sed -n 's/^token: *"*\([^"]*\)"*$/\1/p' "$T/viewer.yml")
vget() { nodes_exec curl -s -H "Authorization: Bearer $vtoken" "$DROVERD_URL$1"; }
jar=$T/viewer.jar
ui_login "$jar" vera viewer-pass-1
page() { nodes_exec curl -s -b "$jar" "$DROVERD_URL$1"; }
sid=$(V --json schedule list | python3 -c 'import json, sys
print([s["id"] for s in json.load(sys.stdin)["results"] if s["name"] == "private-nightly"][0])')
{
	V job show "$id"
	V --json job show "$id"
	V job list
	V --json job list
	V job show "$wrongjob"
	V schedule list
	V schedule show "$sid"
	V git-credential list
	V git-credential show ops
	vget "/api/v2/jobs/$id"
	vget "/api/v2/jobs/$id/output"
	vget "/api/v2/jobs?per_page=100"
	vget "/api/v2/job_invocations?per_page=100"
	vget "/api/v2/schedules/$sid"
	vget /api/v2/schedules
	vget /api/v2/git_credentials
	vget /api/v2/git_credentials/ops
	page "/ui/jobs/$id"
	page /ui/jobs
	page "/ui/job_invocations/$id"
	page /ui/job_invocations
	page /ui/schedules
} >"$T/viewer.out" 2>&1
like "the viewer sees the job, its repository and its credential's name" \
	"$(cat "$T/viewer.out")" "private/site.git.*credential"
like "and the UI's job page" "$(page "/ui/jobs/$id")" "127.0.0.1:8443/private/site.git"
is "nothing the viewer reads has the token" "$(grep -cFf "$T/token.pat" "$T/viewer.out")" 0
is "nor the wrong one" "$(grep -cFf "$T/wrong.pat" "$T/viewer.out")" 0
like "a viewer may not create credentials" \
	"$(V git-credential create --name v --username u --token-file - <"$T/wrong.pat" 2>&1)" \
	"403|not allowed|permission"
api GET "/api/v2/audits?per_page=1000" >"$T/audits.out"
like "the audit log has the credential's creation" "$(cat "$T/audits.out")" "git_credential"
is "and not the token" "$(grep -cFf "$T/token.pat" "$T/audits.out")" 0
is "droverd's log has no token" "$(grep -cFf "$T/token.pat" "$T/droverd.log")" 0
is "nor nginx's" "$(cat "$N"/*.log | grep -cFf "$T/token.pat")" 0
is "no file in the state directory has it in plain text" \
	"$(grep -rlaFf "$T/token.pat" "$T/state" | wc -l)" 0
is "nor the wrong one" "$(grep -rlaFf "$T/wrong.pat" "$T/state" | wc -l)" 0

# Credentials an older version kept in a job's params, a schedule's and the audit log move
# into git credentials when droverd starts.
droverd_stop
OLD=old-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$OLD" >"$T/old.pat"
oldp='{"playbook_git":{"url":"https://deploy:'$OLD'@127.0.0.1:8443/private/site.git",'
oldp=$oldp'"path":"play/site.yml","ref":"main"},"hosts":[1],'
oldp=$oldp'"playbook_name":"git+https://***@127.0.0.1:8443/private/site.git//play/site.yml@main"}'
sqlite3 "$T/state/drover.db" "
INSERT INTO jobs (kind, state, params, owner, created_at, timeout)
 VALUES ('remote_execution', 'succeeded', '$oldp', 'admin', 1, 0);
INSERT INTO schedules (name, cron, tz, misfire, enabled, kind, params, owner, created_at,
 iterations)
 VALUES ('old-nightly', '0 5 * * *', 'UTC', 'run_once', 0, 'remote_execution', '$oldp',
 'admin', 1, 0);
INSERT INTO audits (at, \"user\", action, resource, resource_id, summary, after)
 VALUES (1, 'admin', 'create', 'job_invocation', '1', 'old', '$oldp');"
is "(an old version's rows are in the store)" \
	"$(grep -rlaFf "$T/old.pat" "$T/state" | wc -l)" 1
ok "droverd starts again" droverd_start "$T/state"
sqlite3 "$T/state/drover.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
is "the old token is gone from the store" "$(grep -rlaFf "$T/old.pat" "$T/state" | wc -l)" 0
like "the old schedule names the credential" \
	"$(sqlite3 "$T/state/drover.db" "SELECT params FROM schedules WHERE name = 'old-nightly'")" \
	"\"credential\":\"$PRIV\""
like "the old audit row keeps the URL without the token" \
	"$(sqlite3 "$T/state/drover.db" "SELECT after FROM audits WHERE summary = 'old'")" \
	"https://\\*\\*\\*@127.0.0.1:8443"
ok "droverd still serves" "$DROVER" job list
done_testing
