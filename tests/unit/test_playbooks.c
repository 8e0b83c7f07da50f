/* test_playbooks.c - inventory, the playbook loader, variables and the executor (through the
 * local connection: no SSH needed). */
#include "tests/unit/unit.h"

#include <ftw.h>
#include <sys/stat.h>

#include "playbooks/playbooks.h"

/* Write text to dir/name (making parent directories). */
static void
put(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	for (char *p = path + strlen(dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void
rm_tree(char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* The hosts a pattern matches, joined with commas. */
static char *
match(const struct inventory *inv, const char *pattern)
{
	json_t *hosts;
	struct dr_error err;
	struct buf b = BUF_INIT(0);
	size_t i;
	json_t *h;

	assert_int_equal(inventory_match(inv, pattern, &hosts, &err), 0);
	json_array_foreach(hosts, i, h)
	{
		if (i)
			buf_addc(&b, ',');
		buf_adds(&b, json_string_value(h));
	}
	json_decref(hosts);
	return buf_steal(&b);
}

static void
assert_match(const struct inventory *inv, const char *pattern, const char *want)
{
	char *got = match(inv, pattern);
	if (strcmp(got, want) != 0)
		fail_msg("pattern '%s': got '%s', want '%s'", pattern, got, want);
	free(got);
}

static const char ini[] = "# comment\n"
                          "; another\n"
                          "solo ansible_port=2222 n=5 f=1.5 b=True s='a b' l='[1, 2]'\n"
                          "[web]\n"
                          "web[01:03].ex ansible_user=deploy\n"
                          "[db]\n"
                          "db-[a:c] ansible_host=10.0.0.1\n"
                          "[odd]\n"
                          "o[1:5:2]\n"
                          "[app:children]\n"
                          "web\n"
                          "db\n"
                          "[app:vars]\n"
                          "tier=app\n"
                          "port=8080\n"
                          "[web:vars]\n"
                          "tier=web\n";

static void
test_inventory_ini(void **state)
{
	char *dir = unit_dir_make("inv");
	_cleanup_free_ char *path = xasprintf("%s/hosts", dir);
	struct inventory inv;
	struct dr_error err;
	json_t *v;

	put(dir, "hosts", ini);
	inventory_init(&inv);
	assert_int_equal(inventory_load(&inv, path, &err), 0);
	assert_int_equal(inventory_vars_load(&inv, NULL, &err), 0);
	assert_match(&inv, "all", "solo,web01.ex,web02.ex,web03.ex,db-a,db-b,db-c,o1,o3,o5");
	assert_match(&inv, "ungrouped", "solo");
	assert_match(&inv, "app", "web01.ex,web02.ex,web03.ex,db-a,db-b,db-c");
	v = inventory_host_vars(&inv, "solo");
	assert_int_equal(json_integer_value(json_object_get(v, "ansible_port")), 2222);
	assert_int_equal(json_integer_value(json_object_get(v, "n")), 5);
	assert_true(json_is_real(json_object_get(v, "f")));
	assert_true(json_is_true(json_object_get(v, "b")));
	assert_string_equal(json_string_value(json_object_get(v, "s")), "a b");
	assert_int_equal(json_array_size(json_object_get(v, "l")), 2);
	assert_int_equal(json_array_size(json_object_get(v, "group_names")), 0);
	json_decref(v);
	/* the child group's vars win over the parent's */
	v = inventory_host_vars(&inv, "web02.ex");
	assert_string_equal(json_string_value(json_object_get(v, "tier")), "web");
	assert_int_equal(json_integer_value(json_object_get(v, "port")), 8080);
	assert_string_equal(json_string_value(json_object_get(v, "ansible_user")), "deploy");
	assert_string_equal(
	    json_string_value(json_object_get(v, "inventory_hostname_short")), "web02");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(v, "group_names"), 0)), "app");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(v, "group_names"), 1)), "web");
	json_decref(v);
	inventory_free(&inv);
	rm_tree(dir);
}

static void
test_inventory_patterns(void **state)
{
	char *dir = unit_dir_make("inv");
	_cleanup_free_ char *path = xasprintf("%s/hosts", dir);
	struct inventory inv;
	struct dr_error err;

	put(dir, "hosts", ini);
	inventory_init(&inv);
	assert_int_equal(inventory_load(&inv, path, &err), 0);
	assert_match(&inv, "web,db", "web01.ex,web02.ex,web03.ex,db-a,db-b,db-c");
	assert_match(&inv, "web:db", "web01.ex,web02.ex,web03.ex,db-a,db-b,db-c");
	assert_match(&inv, "app:&db", "db-a,db-b,db-c");
	assert_match(&inv, "app:!web", "db-a,db-b,db-c");
	assert_match(&inv, "all:!app:!odd", "solo");
	assert_match(&inv, "web0*", "web01.ex,web02.ex,web03.ex");
	assert_match(&inv, "~db-[ab]", "db-a,db-b");
	assert_match(&inv, "web[0:1]", "web01.ex,web02.ex");
	assert_match(&inv, "web[-1]", "web03.ex");
	assert_match(&inv, "app[2]", "web03.ex");
	assert_match(&inv, "*", "solo,web01.ex,web02.ex,web03.ex,db-a,db-b,db-c,o1,o3,o5");
	assert_match(&inv, "nosuch", "");
	assert_match(&inv, "solo,o3", "solo,o3");
	inventory_free(&inv);
	rm_tree(dir);
}

static void
test_inventory_yaml_dirs(void **state)
{
	char *dir = unit_dir_make("inv");
	_cleanup_free_ char *src = xasprintf("%s/inv", dir);
	struct inventory inv;
	struct dr_error err;
	json_t *v, *groups;

	put(dir, "inv/10-hosts.yml",
	    "all:\n"
	    "  vars: {x: all}\n"
	    "  children:\n"
	    "    k8s:\n"
	    "      vars: {x: k8s, y: k8s}\n"
	    "      children:\n"
	    "        masters:\n"
	    "          hosts:\n"
	    "            m[1:2]: {ansible_host: 198.18.0.1}\n"
	    "          vars: {x: masters}\n"
	    "        workers:\n"
	    "          hosts: {w1: null}\n");
	put(dir, "inv/20-more", "[workers]\nw2\n");
	put(dir, "inv/README.md", "not an inventory [\n");
	put(dir, "inv/group_vars/workers.yml", "x: gv_workers\n");
	put(dir, "inv/group_vars/k8s/a.yml", "z: from_dir\n");
	put(dir, "inv/host_vars/w1", "x: hv_w1\n");
	put(dir, "pb/group_vars/workers.json", "{\"y\": \"pb_workers\"}\n");
	inventory_init(&inv);
	assert_int_equal(inventory_load(&inv, src, &err), 0);
	_cleanup_free_ char *pbdir = xasprintf("%s/pb", dir);
	assert_int_equal(inventory_vars_load(&inv, pbdir, &err), 0);
	assert_match(&inv, "k8s", "m1,m2,w1,w2");
	v = inventory_host_vars(&inv, "m2");
	assert_string_equal(json_string_value(json_object_get(v, "x")), "masters");
	assert_string_equal(json_string_value(json_object_get(v, "z")), "from_dir");
	assert_string_equal(json_string_value(json_object_get(v, "ansible_host")), "198.18.0.1");
	json_decref(v);
	v = inventory_host_vars(&inv, "w1");
	assert_string_equal(json_string_value(json_object_get(v, "x")), "hv_w1");
	assert_string_equal(json_string_value(json_object_get(v, "y")), "pb_workers");
	json_decref(v);
	v = inventory_host_vars(&inv, "w2");
	assert_string_equal(json_string_value(json_object_get(v, "x")), "gv_workers");
	json_decref(v);
	groups = inventory_groups(&inv);
	assert_int_equal(json_array_size(json_object_get(groups, "workers")), 2);
	assert_int_equal(json_array_size(json_object_get(groups, "all")), 4);
	json_decref(groups);
	/* comma lists */
	assert_int_equal(inventory_load(&inv, "extra1, extra2,", &err), 0);
	assert_match(&inv, "ungrouped", "extra1,extra2");
	inventory_free(&inv);
	rm_tree(dir);
}

/* Loading text as a playbook fails with an error that contains want. */
static void
assert_load_error(const char *text, const char *want)
{
	char *dir = unit_dir_make("pb");
	_cleanup_free_ char *path = xasprintf("%s/site.yml", dir);
	struct playbook *pb = NULL;
	struct dr_error err = {{0}};

	put(dir, "site.yml", text);
	vars_init();
	assert_int_equal(playbook_load(path, NULL, &pb, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
	rm_tree(dir);
}

static void
test_loader_errors(void **state)
{
	assert_load_error("- hosts: all\n  tasks:\n    - debug: msg=1\n  bad: [\n", "site.yml:5");
	assert_load_error("- hosts: all\n  tasks:\n    - debug: msg=1\n      frobnicate: 1\n",
	    "site.yml:4:7: 'frobnicate' is not a valid task keyword or module name");
	assert_load_error("- hosts: all\n  tasks:\n    - community.foo.bar: {}\n",
	    "site.yml:3:7: couldn't resolve module/action 'community.foo.bar'");
	assert_load_error("- hosts: all\n  tasks:\n    - copy: {dest: /x, bogus: 1}\n",
	    "site.yml:3:7: copy: unsupported parameter for (copy) module: bogus");
	assert_load_error("- hosts: all\n  tasks:\n    - debug: msg=1\n      register: 1bad\n",
	    "site.yml:4:7: register: '1bad' is not a valid variable name");
	assert_load_error("- hosts: all\n  taskz: []\n",
	    "site.yml:2:3: 'taskz' is not a valid attribute for a play");
	assert_load_error("- tasks: []\n", "site.yml:1:3: the field 'hosts' is required");
	assert_load_error("- hosts: all\n  tasks:\n    - debug: msg=1\n      command: ls\n",
	    "conflicting action statements");
	assert_load_error(
	    "- hosts: all\n  roles: [nosuchrole]\n", "the role 'nosuchrole' was not found");
	assert_load_error(
	    "- hosts: all\n  tasks:\n    - name: x\n", "site.yml:3:7: no module/action");
	assert_load_error(
	    "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=1\n      loop: [1]\n",
	    "site.yml:5:7: 'loop' is not a valid keyword for a block");
	assert_load_error("hosts: all\n", "a playbook must be a list of plays");
}

static void
test_loader_normalizes(void **state)
{
	char *dir = unit_dir_make("pb");
	_cleanup_free_ char *path = xasprintf("%s/site.yml", dir);
	struct playbook *pb = NULL;
	struct dr_error err = {{0}};
	const json_t *plays, *tasks, *t;

	put(dir, "site.yml",
	    "- hosts: all\n"
	    "  tasks:\n"
	    "    - ansible.builtin.command: echo hi creates=/x chdir=/tmp\n"
	    "    - community.general.modprobe_unknown_is_error_but: {}\n");
	vars_init();
	assert_int_equal(playbook_load(path, NULL, &pb, &err), -1);
	put(dir, "site.yml",
	    "- hosts: all\n"
	    "  tasks:\n"
	    "    - ansible.builtin.command: echo hi creates=/x chdir=/tmp\n"
	    "    - action: copy content=x dest=/y\n"
	    "    - ansible.builtin.shell: echo\n"
	    "      args: {chdir: /}\n"
	    "    - debug: msg=x\n"
	    "      with_items: [1]\n");
	assert_int_equal(playbook_load(path, NULL, &pb, &err), 0);
	plays = playbook_plays(pb);
	tasks = json_object_get(json_array_get(plays, 0), "tasks");
	t = json_array_get(tasks, 0);
	assert_string_equal(json_string_value(json_object_get(t, "action")), "command");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(t, "args"), "_raw_params")),
	    "echo hi");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(t, "args"), "chdir")), "/tmp");
	assert_true(
	    strstr(json_string_value(json_object_get(t, "__where")), "site.yml:3:7") != NULL);
	t = json_array_get(tasks, 1);
	assert_string_equal(json_string_value(json_object_get(t, "action")), "copy");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(t, "args"), "dest")), "/y");
	t = json_array_get(tasks, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(t, "args"), "chdir")), "/");
	t = json_array_get(tasks, 3);
	assert_string_equal(json_string_value(json_object_get(t, "loop_with")), "items");
	playbook_free(pb);
	rm_tree(dir);
}

static void
test_vars_templating(void **state)
{
	json_t *vars = json_pack("{s:s,s:s,s:[i,i],s:s,s:s,s:s,s:s}", "a", "{{ b }}-x", "b",
	    "{{ c }}", "list", 1, 2, "c", "base", "loop1", "{{ loop2 }}", "loop2", "{{ loop1 }}",
	    "str", "false");
	json_t *v;
	char *s;
	bool b;
	struct dr_error err;

	vars_init();
	/* lazy: a refers to b refers to c */
	assert_int_equal(vars_template_str(vars, "{{ a }}!", &s, &err), 0);
	assert_string_equal(s, "base-x!");
	free(s);
	/* a whole expression keeps its type; numbers become text as Ansible's do */
	json_t *in = json_string("{{ list }}");
	assert_int_equal(vars_template(vars, in, &v, &err), 0);
	assert_true(json_is_array(v));
	json_decref(v);
	json_decref(in);
	in = json_string("{{ 1 + 1 }}");
	assert_int_equal(vars_template(vars, in, &v, &err), 0);
	assert_string_equal(json_string_value(v), "2");
	json_decref(v);
	json_decref(in);
	in = json_string("{{ loop1 }}");
	assert_int_equal(vars_template(vars, in, &v, &err), -1);
	assert_non_null(strstr(err.msg, "recursive"));
	json_decref(in);
	in = json_string("{{ nosuch }}");
	assert_int_equal(vars_template(vars, in, &v, &err), -1);
	assert_non_null(strstr(err.msg, "'nosuch' is undefined"));
	json_decref(in);
	/* conditions: lists are ANDed, {{ }} allowed, a bare name holding "false" is false */
	json_t *c = json_pack("[s,s]", "c == 'base'", "list | length == 2");
	assert_int_equal(vars_cond(vars, c, &b, &err), 0);
	assert_true(b);
	json_decref(c);
	c = json_string("str");
	assert_int_equal(vars_cond(vars, c, &b, &err), 0);
	assert_false(b);
	json_decref(c);
	c = json_string("{{ c == 'base' }}");
	assert_int_equal(vars_cond(vars, c, &b, &err), 0);
	assert_true(b);
	json_decref(c);
	c = json_string("undefined_thing");
	assert_int_equal(vars_cond(vars, c, &b, &err), -1);
	json_decref(c);
	c = json_string("lookup('env', 'HOME') | length > 0 and 'x' is not failed is false");
	assert_int_equal(vars_cond(vars, c, &b, &err), -1); /* 'failed' needs a dict */
	json_decref(c);
	c = json_string("query('env', 'HOME') | length == 1 and '10.1.2.3/24' | ipaddr('network') "
	                "== '10.1.2.0'");
	assert_int_equal(vars_cond(vars, c, &b, &err), 0);
	assert_true(b);
	json_decref(c);
	json_decref(vars);
}

static void
test_vars_kv(void **state)
{
	json_t *v;
	struct dr_error err;

	assert_int_equal(vars_kv_parse("a=1 b='two words' c=\"x\\ny\" d={{ x | default('a b') }}",
	                     false, &v, &err),
	    0);
	assert_string_equal(json_string_value(json_object_get(v, "b")), "two words");
	assert_string_equal(json_string_value(json_object_get(v, "c")), "x\ny");
	assert_string_equal(
	    json_string_value(json_object_get(v, "d")), "{{ x | default('a b') }}");
	json_decref(v);
	assert_int_equal(vars_kv_parse("echo a=1 'q w' chdir=/tmp", true, &v, &err), 0);
	assert_string_equal(
	    json_string_value(json_object_get(v, "_raw_params")), "echo a=1 'q w'");
	assert_string_equal(json_string_value(json_object_get(v, "chdir")), "/tmp");
	json_decref(v);
	assert_int_equal(vars_kv_parse("a='unbalanced", false, &v, &err), -1);
	assert_int_equal(vars_kv_parse("justaword", false, &v, &err), -1);
	v = json_object();
	assert_int_equal(vars_extra_parse(v, "x=1 y=2", &err), 0);
	assert_int_equal(vars_extra_parse(v, "{\"z\": [1]}", &err), 0);
	assert_string_equal(json_string_value(json_object_get(v, "y")), "2");
	assert_true(json_is_array(json_object_get(v, "z")));
	json_decref(v);
}

/* Events a run sent: the host_result lines as "host status task-or-msg". */
static void
collect(void *ctx, const json_t *ev)
{
	json_t *list = ctx;
	const char *kind = json_string_value(json_object_get(ev, "event"));

	if (strcmp(kind, "task_start") == 0 || strcmp(kind, "handler_start") == 0)
		json_array_append_new(list,
		    json_sprintf("%s %s", kind, json_string_value(json_object_get(ev, "task"))));
	else if (strcmp(kind, "host_result") == 0) {
		const json_t *msg = json_object_get(json_object_get(ev, "result"), "msg");
		json_array_append_new(list,
		    json_sprintf("%s %s %s", json_string_value(json_object_get(ev, "host")),
		        json_string_value(json_object_get(ev, "status")),
		        json_is_string(msg) ? json_string_value(msg) : ""));
	} else if (strcmp(kind, "recap") == 0)
		json_array_append(list, json_object_get(ev, "hosts"));
}

/* Run a playbook text against local hosts; returns the exit code and the events. */
static int
run(const char *dir, const char *text, const char *inventory, const char *opts_tags, json_t **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/site.yml", dir);
	_cleanup_free_ char *invp = xasprintf("%s/hosts", dir);
	struct playbook *pb = NULL;
	struct inventory inv;
	struct dr_error err = {{0}};
	json_t *events = json_array();
	struct play_opts o = {.event = collect, .event_ctx = events, .tags = opts_tags};
	int rc;

	put(dir, "site.yml", text);
	put(dir, "hosts", inventory);
	vars_init();
	if (playbook_load(path, NULL, &pb, &err) < 0)
		fail_msg("load: %s", err.msg);
	inventory_init(&inv);
	assert_int_equal(inventory_load(&inv, invp, &err), 0);
	assert_int_equal(inventory_vars_load(&inv, dir, &err), 0);
	rc = play_run(pb, &inv, &o, &err);
	inventory_free(&inv);
	playbook_free(pb);
	*ret = events;
	return rc;
}

/* The index of the first event equal to s, or -1. */
static long
find(const json_t *events, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(events, i,
	    e) if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) return (long)i;
	return -1;
}

static void
test_run_precedence(void **state)
{
	char *dir = unit_dir_make("run");
	json_t *ev;

	put(dir, "group_vars/all.yml",
	    "p1: group_all\np2: group_all\np3: group_all\np4: group_all\n");
	put(dir, "group_vars/g.yml", "p2: group_g\np3: group_g\np4: group_g\n");
	put(dir, "host_vars/h1.yml", "p3: host\np4: host\n");
	put(dir, "roles/r/defaults/main.yml", "p0: role_default\np1: role_default\n");
	put(dir, "roles/r/vars/main.yml", "p6: role_vars\n");
	put(dir, "roles/r/tasks/main.yml",
	    "- debug: msg=\"{{ p0 }} {{ p1 }} {{ p2 }} {{ p3 }} {{ p4 }} {{ p5 }} {{ p6 }}\"\n");
	int rc = run(dir,
	    "- hosts: g\n"
	    "  gather_facts: false\n"
	    "  vars: {p4: play, p5: play, p6: play}\n"
	    "  roles: [r]\n"
	    "  tasks:\n"
	    "    - debug: msg=\"{{ p5 }}\"\n"
	    "      vars: {p5: task}\n"
	    "    - set_fact: {p5: fact}\n"
	    "    - debug: msg=\"{{ p5 }}\"\n"
	    "      vars: {p5: task}\n",
	    "[g]\nh1 ansible_connection=local\n", NULL, &ev);
	assert_int_equal(rc, 0);
	assert_true(
	    find(ev, "h1 ok role_default group_all group_g host play play role_vars") >= 0);
	assert_true(find(ev, "h1 ok task") >= 0);
	assert_true(find(ev, "h1 ok fact") >= 0);
	json_decref(ev);
	rm_tree(dir);
}

static void
test_run_handlers_loops(void **state)
{
	char *dir = unit_dir_make("run");
	json_t *ev;
	int rc = run(dir,
	    "- hosts: all\n"
	    "  gather_facts: false\n"
	    "  tasks:\n"
	    "    - command: 'true'\n"
	    "      notify: [b, a, topic]\n"
	    "    - command: 'true'\n"
	    "      changed_when: false\n"
	    "      notify: c\n"
	    "    - debug: msg=\"{{ item }}\"\n"
	    "      loop: [1, 2, 3]\n"
	    "      when: item != 2\n"
	    "    - fail: msg=boom\n"
	    "      when: inventory_hostname == 'x2'\n"
	    "    - debug: msg=after\n"
	    "  handlers:\n"
	    "    - {name: a, debug: msg=ha}\n"
	    "    - {name: b, debug: msg=hb}\n"
	    "    - {name: c, debug: msg=hc}\n"
	    "    - {name: d, debug: msg=hd, listen: topic}\n",
	    "x1 ansible_connection=local\nx2 ansible_connection=local\n", NULL, &ev);
	assert_int_equal(rc, 2);
	/* definition order, once, only after changed, listen topics; x2 failed: none for it */
	long a = find(ev, "x1 ok ha"), b = find(ev, "x1 ok hb"), d = find(ev, "x1 ok hd");
	assert_true(a > 0 && b > a && d > b);
	assert_int_equal(find(ev, "x1 ok hc"), -1);
	assert_int_equal(find(ev, "x2 ok ha"), -1);
	assert_true(find(ev, "x1 skipped ") >= 0);
	assert_true(find(ev, "x2 failed boom") >= 0);
	assert_int_equal(find(ev, "x2 ok after"), -1);
	assert_true(find(ev, "x1 ok after") >= 0);
	json_t *recap = json_array_get(ev, json_array_size(ev) - 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(recap, "x2"), "failed")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(recap, "x1"), "changed")), 1);
	json_decref(ev);
	rm_tree(dir);
}

static void
test_run_undefined(void **state)
{
	char *dir = unit_dir_make("run");
	json_t *ev;
	int rc = run(dir,
	    "- hosts: all\n"
	    "  gather_facts: false\n"
	    "  tasks:\n"
	    "    - debug: msg=\"{{ nope }}\"\n",
	    "x1 ansible_connection=local\n", NULL, &ev);
	assert_int_equal(rc, 2);
	bool seen = false;
	size_t i;
	json_t *e;
	json_array_foreach(ev, i, e) if (json_is_string(e) &&
	    strstr(json_string_value(e), "'nope' is undefined")) seen = true;
	assert_true(seen);
	json_decref(ev);
	rm_tree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inventory_ini),
	    cmocka_unit_test(test_inventory_patterns),
	    cmocka_unit_test(test_inventory_yaml_dirs),
	    cmocka_unit_test(test_loader_errors),
	    cmocka_unit_test(test_loader_normalizes),
	    cmocka_unit_test(test_vars_templating),
	    cmocka_unit_test(test_vars_kv),
	    cmocka_unit_test(test_run_precedence),
	    cmocka_unit_test(test_run_handlers_loops),
	    cmocka_unit_test(test_run_undefined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
