/*
 * output.c - print play events like ansible-playbook (banners, per-host lines, diffs, the
 * recap), or as one JSON object per line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "playbooks/playbooks.h"

#define OUTPUT_DIFF_MAX_LINES 5000 /* larger texts are not diffed line by line */

/* "TITLE [name] ****" padded to 80 columns, after a blank line. */
static void
output_banner(FILE *fp, const char *title, const char *name)
{
	char *msg = name ? xasprintf("%s [%s]", title, name) : xstrdup(title);
	int stars = 79 - (int)strlen(msg);

	if (stars < 3)
		stars = 3;
	fprintf(fp, "\n%s ", msg);
	for (int i = 0; i < stars; i++)
		fputc('*', fp);
	fputc('\n', fp);
	free(msg);
}

/* A result without the keys Ansible hides. */
static json_t *
output_clean(const json_t *result)
{
	json_t *c = json_copy((json_t *)result);
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(c, tmp, k, v)
	{
		(void)v;
		if (str_has_prefix(k, "_ansible") || strcmp(k, "diff") == 0 ||
		    strcmp(k, "failed_when_result") == 0)
			json_object_del(c, k);
	}
	return c;
}

/* Python's json.dumps(sort_keys=True), one line or indented by 4. */
static char *
output_json(const json_t *v, bool pretty)
{
	/* jansson's one-line form uses ", " and ": " as Python's does */
	return json_dumps(v, JSON_SORT_KEYS | JSON_ENCODE_ANY | (pretty ? JSON_INDENT(4) : 0));
}

/* An item label as Ansible prints it (Python's str()). */
static char *
output_label(const json_t *item)
{
	char *out = NULL;
	json_t *ctx;

	if (json_is_string(item))
		return xstrdup(json_string_value(item));
	ctx = json_pack("{s:O}", "x", item);
	if (template_render_string("label", "{{ x }}", NULL, ctx, &out, NULL) < 0)
		out = xstrdup("?");
	json_decref(ctx);
	return out;
}

/* Split text into lines (without line ends). */
static char **
output_lines(const char *s, size_t *ret_n)
{
	size_t n = 0, cap = 16;
	char **l = xcalloc(cap, sizeof *l);

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (n + 1 >= cap) {
			cap *= 2;
			l = xreallocarray(l, cap, sizeof *l);
		}
		l[n++] = xstrndup(s, len);
		s += len + (nl ? 1 : 0);
	}
	*ret_n = n;
	return l;
}

/* A unified diff of two texts with 3 lines of context (LCS over lines). */
static void
output_udiff(FILE *fp, const char *before, const char *after, const char *bh, const char *ah)
{
	size_t na, nb;
	char **a = output_lines(before, &na), **b = output_lines(after, &nb);

	fprintf(fp, "--- before%s%s\n+++ after%s%s\n", bh ? ": " : "", bh ? bh : "",
	    ah ? ": " : "", ah ? ah : "");
	if (na > OUTPUT_DIFF_MAX_LINES || nb > OUTPUT_DIFF_MAX_LINES) {
		fprintf(fp,
		    "@@ the texts are too long to show a line diff (%zu and %zu lines) @@\n", na,
		    nb);
		goto out;
	}
	/* lcs[i][j]: LCS length of a[i..] and b[j..] */
	unsigned *lcs = xcalloc((na + 1) * (nb + 1), sizeof *lcs);
#define L(i, j) lcs[(i) * (nb + 1) + (j)]
	for (size_t i = na; i-- > 0;)
		for (size_t j = nb; j-- > 0;)
			L(i, j) = strcmp(a[i], b[j]) == 0 ? L(i + 1, j + 1) + 1
			    : L(i + 1, j) > L(i, j + 1)   ? L(i + 1, j)
			                                  : L(i, j + 1);
	/* the edit script: ' ', '-', '+' with line indexes */
	size_t cap = na + nb + 1, n = 0, i = 0, j = 0;
	char *op = xmalloc(cap);
	size_t *ai = xcalloc(cap, sizeof *ai), *bi = xcalloc(cap, sizeof *bi);
	while (i < na || j < nb) {
		if (i < na && j < nb && strcmp(a[i], b[j]) == 0) {
			op[n] = ' ', ai[n] = i++, bi[n++] = j++;
		} else if (i < na && (j == nb || L(i + 1, j) >= L(i, j + 1))) {
			op[n] = '-', ai[n] = i++, bi[n++] = j;
		} else
			op[n] = '+', ai[n] = i, bi[n++] = j++;
	}
#undef L
	free(lcs);
	/* hunks */
	for (size_t k = 0; k < n;) {
		if (op[k] == ' ') {
			k++;
			continue;
		}
		size_t start = k >= 3 ? k - 3 : 0, end = k;
		for (;;) {
			while (end < n && op[end] != ' ')
				end++;
			size_t run = end;
			while (run < n && op[run] == ' ' && run - end < 7)
				run++;
			if (run < n && op[run] != ' ' && run - end < 7)
				end = run;
			else
				break;
		}
		size_t stop = end + 3 < n ? end + 3 : n;
		size_t as = 0, bs = 0, ac = 0, bc = 0;
		bool af = false, bf = false;
		for (size_t q = start; q < stop; q++) {
			if (op[q] != '+') {
				if (!af)
					as = ai[q], af = true;
				ac++;
			}
			if (op[q] != '-') {
				if (!bf)
					bs = bi[q], bf = true;
				bc++;
			}
		}
		if (!af)
			as = start < n ? ai[start] : 0;
		if (!bf)
			bs = start < n ? bi[start] : 0;
		fprintf(fp, "@@ -%zu", ac ? as + 1 : as);
		if (ac != 1)
			fprintf(fp, ",%zu", ac);
		fprintf(fp, " +%zu", bc ? bs + 1 : bs);
		if (bc != 1)
			fprintf(fp, ",%zu", bc);
		fprintf(fp, " @@\n");
		for (size_t q = start; q < stop; q++)
			fprintf(fp, "%c%s\n", op[q], op[q] == '+' ? b[bi[q]] : a[ai[q]]);
		k = stop;
	}
	free(op);
	free(ai);
	free(bi);
out:
	for (size_t q = 0; q < na; q++)
		free(a[q]);
	for (size_t q = 0; q < nb; q++)
		free(b[q]);
	free(a);
	free(b);
}

/* A result's diff (one object or a list), as --diff shows it. */
static void
output_diff(FILE *fp, const json_t *d)
{
	if (json_is_array(d)) {
		size_t i;
		json_t *x;
		json_array_foreach(d, i, x) output_diff(fp, x);
		return;
	}
	if (!json_is_object(d))
		return;
	const json_t *b = json_object_get(d, "before"), *a = json_object_get(d, "after");
	const char *bh = json_string_value(json_object_get(d, "before_header"));
	const char *ah = json_string_value(json_object_get(d, "after_header"));
	if (json_is_string(b) && json_is_string(a)) {
		if (strcmp(json_string_value(b), json_string_value(a)) != 0) {
			output_udiff(fp, json_string_value(b), json_string_value(a), bh, ah);
			fputc('\n', fp);
		}
	} else if (b || a) {
		char *bs = b ? output_json(b, true) : xstrdup(""),
		     *as = a ? output_json(a, true) : xstrdup("");
		char *b2 = xasprintf("%s\n", bs), *a2 = xasprintf("%s\n", as);
		if (strcmp(b2, a2) != 0) {
			output_udiff(fp, b2, a2, bh, ah);
			fputc('\n', fp);
		}
		free(bs);
		free(as);
		free(b2);
		free(a2);
	}
	if (json_is_string(json_object_get(d, "prepared")))
		fprintf(fp, "%s\n", json_string_value(json_object_get(d, "prepared")));
}

/* One host_result line. */
static void
output_result(struct play_output *o, const json_t *ev)
{
	const char *st = json_string_value(json_object_get(ev, "status"));
	const char *host = json_string_value(json_object_get(ev, "host"));
	const char *delegate = json_string_value(json_object_get(ev, "delegate"));
	const char *action = json_string_value(json_object_get(ev, "action"));
	const json_t *result = json_object_get(ev, "result"), *item = json_object_get(ev, "item");
	_cleanup_free_ char *who =
	    delegate ? xasprintf("%s -> %s", host, delegate) : xstrdup(host);
	_cleanup_free_ char *label = item ? output_label(item) : NULL;
	json_t *clean = output_clean(result);
	/* debug and assert always show their result (Ansible's _ansible_verbose_always) */
	bool debug = action && (strcmp(action, "debug") == 0 || strcmp(action, "assert") == 0);
	FILE *fp = o->fp;

	if (o->diff && json_object_get(result, "diff") &&
	    (strcmp(st, "changed") == 0 || strcmp(st, "ok") == 0))
		output_diff(fp, json_object_get(result, "diff"));
	if (strcmp(st, "failed") == 0 || strcmp(st, "unreachable") == 0) {
		json_object_del(clean, "failed");
		_cleanup_free_ char *js = output_json(clean, debug);
		const char *what = strcmp(st, "failed") == 0 ? "FAILED!" : "UNREACHABLE!";
		if (label)
			fprintf(fp, "failed: [%s] (item=%s) => %s\n", who, label, js);
		else
			fprintf(fp, "fatal: [%s]: %s => %s\n", who, what, js);
		if (json_is_true(json_object_get(ev, "ignored")))
			fprintf(fp, "...ignoring\n");
	} else if (strcmp(st, "skipped") == 0) {
		if (label)
			fprintf(fp, "skipping: [%s] => (item=%s) \n", who, label);
		else
			fprintf(fp, "skipping: [%s]\n", who);
	} else {
		const char *word = strcmp(st, "changed") == 0 ? "changed" : "ok";
		fprintf(fp, "%s: [%s]", word, who);
		if (label)
			fprintf(fp, " => (item=%s)", label);
		if (debug && !json_is_true(json_object_get(result, "skipped"))) {
			json_object_del(clean, "changed");
			json_object_del(clean, "failed");
			if (label) {
				json_object_del(clean, "item");
				json_object_del(clean, "ansible_loop_var");
			}
			_cleanup_free_ char *js = output_json(clean, true);
			fprintf(fp, " => %s", js);
		} else if (o->verbosity > 0) {
			_cleanup_free_ char *js = output_json(clean, o->verbosity > 1);
			fprintf(fp, " => %s", js);
		}
		fputc('\n', fp);
	}
	json_decref(clean);
}

/* Print one event. */
void
play_output_event(void *ctx, const json_t *ev)
{
	struct play_output *o = ctx;
	const char *kind = json_string_value(json_object_get(ev, "event"));
	FILE *fp = o->fp;

	if (o->json) {
		char *s = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(fp, "%s\n", s);
		free(s);
		fflush(fp);
		return;
	}
	if (strcmp(kind, "play_start") == 0)
		output_banner(fp, "PLAY", json_string_value(json_object_get(ev, "play")));
	else if (strcmp(kind, "task_start") == 0)
		output_banner(fp, "TASK", json_string_value(json_object_get(ev, "task")));
	else if (strcmp(kind, "handler_start") == 0)
		output_banner(
		    fp, "RUNNING HANDLER", json_string_value(json_object_get(ev, "task")));
	else if (strcmp(kind, "host_result") == 0)
		output_result(o, ev);
	else if (strcmp(kind, "retry") == 0)
		fprintf(fp, "FAILED - RETRYING: [%s]: %s (%lld retries left).\n",
		    json_string_value(json_object_get(ev, "host")),
		    json_string_value(json_object_get(ev, "task")),
		    (long long)json_integer_value(json_object_get(ev, "left")));
	else if (strcmp(kind, "included") == 0) {
		const json_t *f = json_object_get(ev, "file");
		_cleanup_free_ char *fs = f ? output_label(f) : xstrdup("");
		struct buf hl = BUF_INIT(0);
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(ev, "hosts"), i, x)
		{
			if (i)
				buf_adds(&hl, ", ");
			buf_adds(&hl, json_string_value(x));
		}
		fprintf(fp, "included: %s for %s\n", fs, hl.data ? hl.data : "");
		buf_free(&hl);
	} else if (strcmp(kind, "warning") == 0)
		fprintf(stderr, "[WARNING]: %s\n", json_string_value(json_object_get(ev, "msg")));
	else if (strcmp(kind, "no_hosts") == 0)
		fprintf(fp, "%s\n", json_string_value(json_object_get(ev, "msg")));
	else if (strcmp(kind, "abort") == 0)
		output_banner(fp, "NO MORE HOSTS LEFT", NULL);
	else if (strcmp(kind, "list") == 0) {
		const json_t *hosts = json_object_get(ev, "hosts"),
		             *tasks = json_object_get(ev, "tasks");
		_cleanup_free_ char *pat = output_label(json_object_get(ev, "pattern"));
		_cleanup_free_ char *nm = output_label(json_object_get(ev, "name"));
		size_t i;
		json_t *x;
		fprintf(fp, "\n  play #%lld (%s): %s\tTAGS: []\n",
		    (long long)json_integer_value(json_object_get(ev, "play")), pat, nm);
		if (hosts) {
			fprintf(fp, "    pattern: ['%s']\n    hosts (%zu):\n", pat,
			    json_array_size(hosts));
			json_array_foreach(hosts, i, x)
			    fprintf(fp, "      %s\n", json_string_value(x));
		}
		if (tasks) {
			fprintf(fp, "    tasks:\n");
			json_array_foreach(tasks, i, x)
			{
				_cleanup_free_ char *tags =
				    output_label(json_object_get(x, "tags"));
				fprintf(fp, "      %s\tTAGS: %s\n",
				    json_string_value(json_object_get(x, "name")), tags);
			}
		}
	} else if (strcmp(kind, "recap") == 0) {
		const char *h;
		json_t *s;
		output_banner(fp, "PLAY RECAP", NULL);
		json_object_foreach(json_object_get(ev, "hosts"), h, s)
		{
			static const char *const keys[] = {"ok", "changed", "unreachable",
			    "failed", "skipped", "rescued", "ignored"};
			fprintf(fp, "%-26s :", h);
			for (size_t i = 0; i < nitems(keys); i++) {
				char num[32];
				snprintf(num, sizeof num, "%lld",
				    (long long)json_integer_value(json_object_get(s, keys[i])));
				fprintf(fp, " %s=%-4s", keys[i], num);
			}
			fputc('\n', fp);
		}
		fputc('\n', fp);
	}
	fflush(fp);
}
