/*
 * ui.c - the provisioner's pages: hosts (a list with the search language, a host with
 * its interfaces, parameters, build and power actions, SSH host keys and installer log,
 * a new/edit form), one list + form page per resource of the resource table (hostgroups,
 * subnets, domains, operating systems, media, partition tables, compute resources,
 * architectures, parameters, discovery rules), the template editor with a preview for a
 * chosen host, and discovered hosts with their provision form.
 *
 * The forms are generated from the resource table (resource.c) and call the functions
 * the API calls (prov_host_create, prov_resource_update, ...), so the UI and the CLI give
 * the same answers; a failure is shown beside the field it names.
 */
#define LOG_COMPONENT "provisioner"
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs/jobs.h"
#include "provisioner/provisioner.h"
#include "webui/webui.h"

#define PROV_UI_IFS_EXTRA 1 /* blank interface rows on a host form */
#define PROV_UI_CHOICES_MAX 500 /* names offered in a reference menu */
#define PROV_UI_FACT_ITEMS_MAX 64 /* disks or NICs of one discovered machine shown */
#define PROV_UI_FACT_TEXT_MAX 256 /* characters of one fact shown */

/* What a page of a resource shows: its label, the list's columns and where it sits in
 * the navigation (0: not in the navigation). */
static const struct prov_ui_page {
	const char *resource; /* the prov_resource name */
	const char *title; /* "Subnets" */
	const char *columns; /* fields shown in the list, space-separated */
	int nav; /* ui_nav order; 0 = none */
} prov_ui_pages[] = {
    {"hostgroup", "Host groups", "parent operatingsystem domain subnet", 31},
    {"subnet", "Subnets", "network mask gateway domain boot_mode", 32},
    {"domain", "Domains", "fullname", 33},
    {"operatingsystem", "Operating systems", "family major minor release_name", 34},
    {"medium", "Installation media", "os_family path", 35},
    {"ptable", "Partition tables", "os_family", 36},
    {"provisioning_template", "Provisioning templates", "kind operatingsystem locked", 37},
    {"compute_resource", "Compute resources", "provider url", 38},
    {"image", "Images", "suite status size sha256", 39},
    {"architecture", "Architectures", "", 0},
    {"common_parameter", "Global parameters", "value", 0},
    {"discovery_rule", "Discovery rules", "hostgroup priority enabled", 0},
};

/* The listing (search fields, role filters) of a resource: provisioner/api.c registers
 * one for every resource. */
static const struct api_resource *
prov_ui_api(const struct prov_resource *res)
{
	return api_resource_find(res->plural);
}

/* The page row of a resource, or NULL. */
static const struct prov_ui_page *
prov_ui_page_of(const struct prov_resource *res)
{
	for (size_t i = 0; i < nitems(prov_ui_pages); i++)
		if (strcmp(prov_ui_pages[i].resource, res->name) == 0)
			return &prov_ui_pages[i];
	return NULL;
}

/* The resource a /ui/<plural>/... path names. */
static const struct prov_resource *
prov_ui_resource(struct http_request *req)
{
	const char *path = http_request_path(req) + strlen("/ui/");
	char plural[64];
	size_t n = strcspn(path, "/");

	if (n >= sizeof plural)
		return NULL;
	memcpy(plural, path, n);
	plural[n] = '\0';
	return prov_resource_find(plural);
}

/* A field's label: "dns_primary" -> "Dns primary"; the common ones spelled out. */
static char *
prov_ui_label(const char *name)
{
	static const struct {
		const char *name, *label;
	} labels[] = {
	    {"operatingsystem", "Operating system"},
	    {"hostgroup", "Host group"},
	    {"ptable", "Partition table"},
	    {"dns_primary", "Primary DNS"},
	    {"dns_secondary", "Secondary DNS"},
	    {"mtu", "MTU"},
	    {"vlanid", "VLAN id"},
	    {"url", "URL"},
	    {"pxe_loader", "PXE loader"},
	    {"os_family", "OS family"},
	    {"from", "Range from"},
	    {"to", "Range to"},
	    {"default_template", "Default templates"},
	    {"image_url", "Image URL"},
	};
	char *s;

	for (size_t i = 0; i < nitems(labels); i++)
		if (strcmp(labels[i].name, name) == 0)
			return xstrdup(labels[i].label);
	s = xstrdup(name);
	s[0] = (char)(s[0] >= 'a' && s[0] <= 'z' ? s[0] - 32 : s[0]);
	for (char *p = s; *p != '\0'; p++)
		if (*p == '_')
			*p = ' ';
	return s;
}

/* The names of every object of resource name (for menus), at most PROV_UI_CHOICES_MAX. */
static json_t *
prov_ui_names(const char *name)
{
	const struct prov_resource *r = prov_resource_find(name);
	_cleanup_free_ char *sql = NULL;
	json_t *rows = NULL, *out = json_array(), *row;
	struct dr_error err;
	size_t i;

	if (r == NULL)
		return out;
	sql =
	    xasprintf("SELECT name FROM %s ORDER BY name LIMIT %d", r->table, PROV_UI_CHOICES_MAX);
	if (store_query(sql, NULL, &rows, &err) < 0) {
		log_warnx("%s: %s", r->plural, err.msg);
		return out;
	}
	json_array_foreach(rows, i, row) json_array_append(out, json_object_get(row, "name"));
	json_decref(rows);
	return out;
}

/* The choices of an enum field ("a|b|c") as an array. */
static json_t *
prov_ui_enum(const char *choices)
{
	json_t *out = json_array();
	const char *c = choices, *bar;

	for (; c != NULL; c = bar != NULL ? bar + 1 : NULL) {
		bar = strchr(c, '|');
		json_array_append_new(
		    out, json_stringn(c, bar != NULL ? (size_t)(bar - c) : strlen(c)));
	}
	return out;
}

/* A scalar as the text a form field shows. Caller frees. */
static char *
prov_ui_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return xstrdup("");
}

/* True when s is NULL or only white space. */
static bool
prov_ui_blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t\r\n")] == '\0';
}

/* s without leading and trailing white space, as a JSON string. */
static json_t *
prov_ui_trimmed(const char *s)
{
	_cleanup_free_ char *copy = xstrdup(s);

	return json_string(str_trim(copy));
}

/* Parameters as "name=value" lines. Caller frees. */
static char *
prov_ui_params_text(const json_t *params)
{
	struct buf b = BUF_INIT(0);
	const char *k;
	json_t *v;

	buf_adds(&b, "");
	json_object_foreach((json_t *)params, k, v)
	{
		_cleanup_free_ char *t = prov_ui_text(v);

		buf_addf(&b, "%s=%s\n", k, t);
	}
	return buf_steal(&b);
}

/*
 * The form's fields of res for the template: [{name, label, input (text, textarea,
 * number, checkbox, select, multiselect, params, json), required, choices, value,
 * values}], their values from obj (a presented object; NULL for a new one) or from the
 * form typed (form wins).
 */
static json_t *
prov_ui_fields(const struct prov_resource *res, const json_t *obj, const json_t *form)
{
	json_t *fields = json_array();

	for (size_t i = 0; i < res->nfields; i++) {
		const struct prov_field *f = &res->fields[i];
		_cleanup_free_ char *label = NULL, *key = NULL;
		const char *input = "text";
		json_t *fv = json_object(), *typed = json_object_get(form, f->name), *v;

		if ((f->flags & PROV_READONLY) || f->type == PROV_INTERFACES) {
			json_decref(fv);
			continue;
		}
		label = prov_ui_label(f->name);
		json_object_set_new(fv, "name", json_string(f->name));
		json_object_set_new(fv, "label", json_string(label));
		json_object_set_new(fv, "required", json_boolean(f->flags & PROV_REQUIRED));
		switch (f->type) {
		case PROV_TEXT:
			input = "textarea";
			v = json_object_get(obj, f->name);
			json_object_set_new(fv, "value", json_string(json_string_value(v) ?: ""));
			break;
		case PROV_INT:
			input = "number";
			json_object_set_new(fv, "min", json_integer(f->min));
			json_object_set_new(fv, "max", json_integer(f->max));
			/* fall through */
		case PROV_STRING:
		case PROV_IP:
		case PROV_MAC: {
			_cleanup_free_ char *t = prov_ui_text(json_object_get(obj, f->name));

			json_object_set_new(fv, "value", json_string(t));
			break;
		}
		case PROV_BOOL:
			input = "checkbox";
			json_object_set_new(fv, "value",
			    json_string(
			        json_is_true(json_object_get(obj, f->name)) ? "true" : ""));
			break;
		case PROV_ENUM:
			input = "select";
			json_object_set_new(fv, "choices", prov_ui_enum(f->arg));
			json_object_set_new(fv, "value",
			    json_string(json_string_value(json_object_get(obj, f->name)) ?: ""));
			break;
		case PROV_REF:
			input = "select";
			key = xasprintf("%s_name", f->name);
			json_object_set_new(fv, "choices", prov_ui_names(f->arg));
			json_object_set_new(fv, "value",
			    json_string(json_string_value(json_object_get(obj, key)) ?: ""));
			break;
		case PROV_REFS:
			input = "multiselect";
			key = xasprintf("%s_names", f->name);
			json_object_set_new(fv, "choices", prov_ui_names(f->arg));
			v = json_object_get(obj, key);
			json_object_set_new(
			    fv, "values", json_is_array(v) ? json_copy(v) : json_array());
			break;
		case PROV_PARAMS: {
			_cleanup_free_ char *t =
			    prov_ui_params_text(json_object_get(obj, f->name));

			input = "params";
			json_object_set_new(fv, "value", json_string(t));
			break;
		}
		case PROV_OBJECT: {
			v = json_object_get(obj, f->name);
			_cleanup_free_ char *t =
			    v != NULL ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

			input = "json";
			json_object_set_new(fv, "value", json_string(t != NULL ? t : ""));
			break;
		}
		default:
			break;
		}
		json_object_set_new(fv, "input", json_string(input));
		/* What was typed replaces the stored value when the form comes back. */
		if (form != NULL) {
			if (f->type == PROV_REFS)
				json_object_set_new(fv, "values",
				    json_is_array(typed) ? json_copy(typed)
				        : typed != NULL  ? json_pack("[O]", typed)
				                         : json_array());
			else if (f->type == PROV_BOOL)
				json_object_set_new(
				    fv, "value", json_string(typed != NULL ? "true" : ""));
			else
				json_object_set_new(
				    fv, "value", json_string(json_string_value(typed) ?: ""));
		}
		json_array_append_new(fields, fv);
	}
	return fields;
}

/* Parse "name=value" lines into parameters; -1 with err naming the line. */
static int
prov_ui_params_parse(const char *text, json_t **ret, struct dr_error *err)
{
	_cleanup_free_ char *copy = xstrdup(text != NULL ? text : "");
	_cleanup_json_ json_t *out = json_object();
	char *p = copy, *line;
	int n = 0;

	while ((line = strsep(&p, "\n")) != NULL) {
		char *eq, *k;

		n++;
		line = str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL)
			return dr_error_set(err, "line %d: expected name=value", n);
		*eq = '\0';
		k = str_trim(line);
		if (*k == '\0')
			return dr_error_set(err, "line %d: the name is empty", n);
		json_object_set_new(out, k, json_string(str_trim(eq + 1)));
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/*
 * The object a form describes, as the API takes it: empty fields are left out on
 * create and cleared (null) on update. Fields that cannot be read (parameters, JSON)
 * get their message in errors.
 */
static json_t *
prov_ui_form_object(
    const struct prov_resource *res, const json_t *form, bool update, json_t *errors)
{
	json_t *in = json_object();

	for (size_t i = 0; i < res->nfields; i++) {
		const struct prov_field *f = &res->fields[i];
		json_t *typed = json_object_get(form, f->name);
		const char *s = json_string_value(typed);
		struct dr_error err;

		if ((f->flags & PROV_READONLY) || f->type == PROV_INTERFACES)
			continue;
		if (f->type == PROV_BOOL) {
			json_object_set_new(in, f->name, json_boolean(typed != NULL));
			continue;
		}
		if (f->type == PROV_REFS) {
			if (json_is_array(typed))
				json_object_set(in, f->name, typed);
			else if (s != NULL && *s != '\0')
				json_object_set_new(in, f->name, json_pack("[s]", s));
			else
				json_object_set_new(in, f->name, json_array());
			continue;
		}
		if (prov_ui_blank(s)) {
			if (f->flags & PROV_REQUIRED)
				json_object_set_new(errors, f->name, json_string("required"));
			else if (update)
				json_object_set_new(in, f->name, json_null());
			continue;
		}
		if (f->type == PROV_PARAMS) {
			json_t *params = NULL;

			if (prov_ui_params_parse(s, &params, &err) < 0)
				json_object_set_new(errors, f->name, json_string(err.msg));
			else
				json_object_set_new(in, f->name, params);
		} else if (f->type == PROV_OBJECT) {
			json_error_t jerr;
			json_t *o = json_loads(s, 0, &jerr);

			if (!json_is_object(o)) {
				json_decref(o);
				json_object_set_new(errors, f->name,
				    json_sprintf("expected a JSON object (%s, line %d)", jerr.text,
				        jerr.line));
			} else {
				json_object_set_new(in, f->name, o);
			}
		} else if (f->type == PROV_STRING || f->type == PROV_TEXT) {
			json_object_set_new(in, f->name, json_string(s));
		} else {
			json_object_set_new(in, f->name, prov_ui_trimmed(s));
		}
	}
	return in;
}

/* Interface row fields on a host form: if<N>_<key>. */
static const char *const prov_ui_if_keys[] = {
    "type", "name", "mac", "ip", "subnet", "provider", "url", "username", "password"};

/* The interfaces a host form describes; rows left blank are skipped. */
static json_t *
prov_ui_form_interfaces(const json_t *form)
{
	json_t *ifs = json_array();
	char key[32];

	for (int i = 0; i < PROV_INTERFACES_MAX; i++) {
		json_t *nic = json_object();
		bool any = false;

		snprintf(key, sizeof key, "if%d_type", i);
		if (json_object_get(form, key) == NULL) {
			json_decref(nic);
			break;
		}
		for (size_t k = 0; k < nitems(prov_ui_if_keys); k++) {
			const char *v;

			snprintf(key, sizeof key, "if%d_%s", i, prov_ui_if_keys[k]);
			v = json_string_value(json_object_get(form, key));
			if (prov_ui_blank(v))
				continue;
			json_object_set_new(nic, prov_ui_if_keys[k], prov_ui_trimmed(v));
			any |= strcmp(prov_ui_if_keys[k], "type") != 0;
		}
		if (any)
			json_array_append_new(ifs, nic);
		else
			json_decref(nic);
	}
	return ifs;
}

/* Interface rows for the form: the host's (or the form's) and blank ones. */
static json_t *
prov_ui_if_rows(const json_t *host, const json_t *form)
{
	json_t *rows = json_array(), *nic;
	size_t i, n;

	if (form != NULL) {
		char key[32];

		for (i = 0; i < PROV_INTERFACES_MAX; i++) {
			json_t *row;

			snprintf(key, sizeof key, "if%zu_type", i);
			if (json_object_get(form, key) == NULL)
				break;
			row = json_object();
			for (size_t k = 0; k < nitems(prov_ui_if_keys); k++) {
				snprintf(key, sizeof key, "if%zu_%s", i, prov_ui_if_keys[k]);
				json_t *v = json_object_get(form, key);

				if (strcmp(prov_ui_if_keys[k], "password") != 0)
					json_object_set_new(row, prov_ui_if_keys[k],
					    v != NULL ? json_incref(v) : json_string(""));
			}
			json_array_append_new(rows, row);
		}
	} else {
		json_array_foreach(json_object_get(host, "interfaces"), i, nic)
		{
			json_t *row = json_deep_copy(nic);

			json_object_set(row, "subnet", json_object_get(nic, "subnet_name"));
			json_array_append_new(rows, row);
		}
	}
	n = json_array_size(rows);
	for (i = 0; i < PROV_UI_IFS_EXTRA || (n == 0 && i == 0); i++)
		json_array_append_new(rows, json_pack("{s:s}", "type", "interface"));
	json_array_foreach(rows, i, nic)
	    json_object_set_new(nic, "i", json_integer((json_int_t)i));
	return rows;
}

/*
 * Put a failure's message beside its field: "interfaces[1].mac: ..." goes to if1_mac,
 * "network: ..." to network, anything else to the form as a whole ("_form").
 */
static void
prov_ui_error_place(const struct prov_resource *res, const char *msg, json_t *errors)
{
	char field[PROV_NAME_MAX + 1];
	size_t n = strcspn(msg, ":[. ");
	unsigned idx;
	char sub[64];

	if (sscanf(msg, "interfaces[%u].%63[a-z_]", &idx, sub) == 2) {
		snprintf(field, sizeof field, "if%u_%s", idx, sub);
		json_object_set_new(errors, field, json_string(msg));
		return;
	}
	if (n < sizeof field) {
		memcpy(field, msg, n);
		field[n] = '\0';
		if (prov_resource_field(res, field) != NULL) {
			json_object_set_new(errors, field, json_string(msg));
			return;
		}
	}
	json_object_set_new(errors, "_form", json_string(msg));
}

/* The :id of a page in the caller's scope, as the stored object (caller frees), or an
 * error page. */
static json_t *
prov_ui_object(
    struct http_request *req, struct http_response *resp, const struct prov_resource *res)
{
	const struct api_resource *api = prov_ui_api(res);
	long long id;
	json_t *obj;

	if (str_to_ll(http_request_param(req, "id"), 1, INT64_MAX, &id) < 0 ||
	    (api != NULL && !api_in_scope(req, api, id)) ||
	    (obj = prov_resource_get_id(res, id)) == NULL) {
		char msg[128];

		snprintf(msg, sizeof msg, "no such %s", res->name);
		ui_error(req, resp, 404, msg);
		return NULL;
	}
	return obj;
}

/* The list page of a resource (not hosts). */
static int
prov_ui_list(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_ui_resource(req);
	const struct prov_ui_page *pg = prov_ui_page_of(res);
	_cleanup_free_ char *cols = xstrdup(pg->columns);
	json_t *vars = ui_list(req, prov_ui_api(res), http_request_query(req, "search"));
	json_t *columns = json_array(), *rows = json_array(), *row;
	char *c, *save = NULL;
	size_t i;

	for (c = strtok_r(cols, " ", &save); c != NULL; c = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *label = prov_ui_label(c);

		json_array_append_new(columns, json_pack("{s:s, s:s}", "name", c, "label", label));
	}
	json_array_foreach(json_object_get(vars, "rows"), i, row)
	{
		/* Rows are the API's JSON (references named already); older rows had "data". */
		json_t *data = json_object_get(row, "data");
		_cleanup_json_ json_t *shown =
		    json_is_object(data) ? prov_resource_present(res, data) : json_incref(row);
		json_t *cells = json_array(), *col;
		size_t j;

		json_array_foreach(columns, j, col)
		{
			const char *name = json_string_value(json_object_get(col, "name"));
			const struct prov_field *f = prov_resource_field(res, name);
			_cleanup_free_ char *key = NULL, *t = NULL;
			json_t *v;

			if (f != NULL && f->type == PROV_REF)
				key = xasprintf("%s_name", name);
			else if (f != NULL && f->type == PROV_REFS)
				key = xasprintf("%s_names", name);
			v = json_object_get(shown, key != NULL ? key : name);
			if (json_is_array(v)) {
				struct buf b = BUF_INIT(4096);
				json_t *e;
				size_t k;

				buf_adds(&b, "");
				json_array_foreach(v, k, e) buf_addf(
				    &b, "%s%s", k > 0 ? ", " : "", json_string_value(e) ?: "");
				t = buf_steal(&b);
			} else {
				t = prov_ui_text(v);
			}
			json_array_append_new(cells, json_string(t));
		}
		json_array_append_new(rows,
		    json_pack("{s:O, s:O, s:o}", "id", json_object_get(row, "id"), "name",
		        json_object_get(row, "name"), "cells", cells));
	}
	json_object_set_new(vars, "rows", rows);
	json_object_set_new(vars, "columns", columns);
	json_object_set_new(vars, "plural", json_string(res->plural));
	json_object_set_new(vars, "what", json_string(res->name));
	ui_form_vars(
	    vars, req, res->plural, (const char *const[]){"create", "delete", NULL}, NULL, NULL);
	ui_render(req, resp, 200, "prov_list.html", pg->title, vars);
	return 0;
}

static void prov_ui_compute_choices(json_t *vars, const json_t *obj, const json_t *form);

/* The form page of a resource object (obj NULL: a new one). */
static void
prov_ui_form_page(struct http_request *req, struct http_response *resp, int status,
    const struct prov_resource *res, const json_t *obj, json_t *form, json_t *errors,
    json_t *extra)
{
	const struct prov_ui_page *pg = prov_ui_page_of(res);
	_cleanup_json_ json_t *shown = obj != NULL ? prov_resource_present(res, obj) : NULL;
	json_t *vars = extra != NULL ? extra : json_object();
	char title[PROV_NAME_MAX + 64];
	const char *name = json_string_value(json_object_get(obj, "name"));

	json_object_set_new(vars, "fields", prov_ui_fields(res, shown, form));
	json_object_set_new(vars, "plural", json_string(res->plural));
	json_object_set_new(vars, "what", json_string(res->name));
	json_object_set_new(vars, "back", json_string(pg != NULL ? pg->title : res->plural));
	if (obj != NULL)
		json_object_set(vars, "id", json_object_get(obj, "id"));
	if (strcmp(res->name, "host") == 0) {
		json_object_set_new(vars, "interfaces", prov_ui_if_rows(shown, form));
		json_object_set_new(vars, "subnets", prov_ui_names("subnet"));
		prov_ui_compute_choices(vars, obj, form);
	}
	ui_form_vars(vars, req, res->plural,
	    (const char *const[]){"create", "edit", "delete", NULL},
	    form != NULL ? json_incref(form) : NULL, errors);
	if (name != NULL)
		snprintf(title, sizeof title, "%s %s",
		    strcmp(res->name, "host") == 0 ? "Host"
		        : pg != NULL               ? pg->title
		                                   : res->name,
		    name);
	else
		snprintf(title, sizeof title, "New %s", res->name);
	ui_render(req, resp, status, "prov_form.html", title, vars);
}

/* The preview part of the template page: hosts to choose from and the output. */
static json_t *
prov_ui_preview_vars(const char *host, const char *text, const char *tname)
{
	const struct prov_resource *hres = prov_resource_find("host");
	json_t *vars = json_object();
	_cleanup_json_ json_t *h = NULL, *rows = NULL;
	_cleanup_free_ char *out = NULL;
	struct dr_error err;

	if (store_query(
	        "SELECT name FROM prov_hosts ORDER BY name LIMIT 100", NULL, &rows, &err) == 0)
		json_object_set(vars, "hosts", rows);
	json_object_set_new(vars, "preview_host", json_string(host != NULL ? host : ""));
	if (host == NULL || *host == '\0')
		return vars;
	if ((h = prov_resource_get(hres, host)) == NULL) {
		json_object_set_new(vars, "preview_error", json_sprintf("no host '%s'", host));
		return vars;
	}
	if (prov_render_host_text(h, tname, text, &out, &err) < 0)
		json_object_set_new(vars, "preview_error", json_string(err.msg));
	else
		json_object_set_new(vars, "preview", json_string(out));
	return vars;
}

/* Whether array a holds the string s. */
static bool
prov_ui_array_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(
	    a, i, e) if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) return true;
	return false;
}

/* The images and networks a compute resource offers into vars (images, networks, and
 * compute_error when the hypervisor cannot be read). */
static void
prov_ui_compute_lists(json_t *vars, const json_t *cr)
{
	const struct prov_compute_backend *b = prov_compute_backend(cr);
	json_t *images = NULL, *networks = NULL;
	struct dr_error err;

	if (b == NULL || b->images == NULL || b->networks == NULL) {
		json_object_set_new(vars, "compute_error",
		    json_string("this provider lists no images or networks"));
	} else if (b->images(cr, &images, &err) < 0 || b->networks(cr, &networks, &err) < 0) {
		json_object_set_new(vars, "compute_error", json_string(err.msg));
		json_decref(images);
		images = NULL;
	}
	json_object_set_new(vars, "images", images != NULL ? images : json_array());
	json_object_set_new(vars, "networks", networks != NULL ? networks : json_array());
}

/* The choices of a host form's image and network: what the host's compute resource (its
 * own or its hostgroup's; on a form sent back, the one chosen there) offers, with the
 * current values kept as choices even when the hypervisor no longer lists them. */
static void
prov_ui_compute_choices(json_t *vars, const json_t *obj, const json_t *form)
{
	const char *crname = form != NULL ? ui_field(form, "compute_resource") : NULL;
	const json_t *attrs = json_object_get(obj, "compute_attributes");
	_cleanup_json_ json_t *cr = NULL;
	json_t *lists = json_object(), *imgs = json_array(), *nets = json_array(), *e;
	const char *img, *net;
	size_t i;

	if (crname != NULL && *crname != '\0')
		cr = prov_resource_get(prov_resource_find("compute_resource"), crname);
	else if (form == NULL && obj != NULL)
		cr = prov_compute_of(obj);
	img = form != NULL ? ui_field(form, "compute_image")
	                   : json_string_value(json_object_get(attrs, "image"));
	net = form != NULL ? ui_field(form, "compute_network")
	                   : json_string_value(json_object_get(attrs, "network"));
	if (cr != NULL) {
		prov_ui_compute_lists(lists, cr);
		json_array_foreach(json_object_get(lists, "images"), i, e)
		    json_array_append(imgs, json_object_get(e, "id"));
		json_array_foreach(json_object_get(lists, "networks"), i, e)
		    json_array_append(nets, json_object_get(e, "name"));
		json_object_set(vars, "compute_error", json_object_get(lists, "compute_error"));
		json_object_set_new(vars, "compute_resource_name",
		    json_string(json_string_value(json_object_get(cr, "name"))));
	}
	if (img != NULL && *img != '\0' && !prov_ui_array_has(imgs, img))
		json_array_append_new(imgs, json_string(img));
	if (net != NULL && *net != '\0' && !prov_ui_array_has(nets, net))
		json_array_append_new(nets, json_string(net));
	json_object_set_new(vars, "compute_images", imgs);
	json_object_set_new(vars, "compute_networks", nets);
	json_object_set_new(vars, "compute_image", json_string(img != NULL ? img : ""));
	json_object_set_new(vars, "compute_network", json_string(net != NULL ? net : ""));
	json_decref(lists);
}

/* The VMs of a compute resource, each with the host of that name when there is one. */
static json_t *
prov_ui_vms_vars(const json_t *cr)
{
	const struct prov_compute_backend *b = prov_compute_backend(cr);
	json_t *vms = NULL, *vm;
	struct dr_error err;
	size_t i;

	if (b == NULL || b->vms == NULL)
		return json_pack(
		    "{s:[], s:s}", "vms", "vms_error", "this provider cannot list VMs");
	if (b->vms(cr, &vms, &err) < 0)
		return json_pack("{s:[], s:s}", "vms", "vms_error", err.msg);
	json_array_foreach(vms, i, vm)
	{
		json_t *h = store_query_one(NULL, "SELECT id FROM prov_hosts WHERE name = ?",
		    "[O]", json_object_get(vm, "name"));

		if (h != NULL)
			json_object_set(vm, "host_id", json_object_get(h, "id"));
		json_decref(h);
	}
	return json_pack("{s:o}", "vms", vms);
}

/* GET /ui/<plural>/new and /ui/<plural>/:id: the form (a template also gets a preview). */
static int
prov_ui_show(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_ui_resource(req);
	_cleanup_json_ json_t *obj = NULL;
	json_t *extra = NULL;

	if (http_request_param(req, "id") != NULL &&
	    (obj = prov_ui_object(req, resp, res)) == NULL)
		return 0;
	if (obj != NULL && strcmp(res->name, "provisioning_template") == 0)
		extra = prov_ui_preview_vars(http_request_query(req, "host"),
		    json_string_value(json_object_get(obj, "template")),
		    json_string_value(json_object_get(obj, "name")));
	if (obj != NULL && strcmp(res->name, "compute_resource") == 0) {
		extra = prov_ui_vms_vars(obj);
		prov_ui_compute_lists(extra, obj);
	}
	prov_ui_form_page(req, resp, 200, res, obj, NULL, NULL, extra);
	return 0;
}

/* Where an object's page is. Caller frees. */
static char *
prov_ui_href(const struct prov_resource *res, int64_t id)
{
	return xasprintf("/ui/%s/%lld", res->plural, (long long)id);
}

/* The host form's image and network choices into in's compute_attributes (an empty
 * choice removes the attribute); the rest of the attributes come from their JSON field,
 * or stay as stored when that field was not sent. */
static void
prov_ui_form_compute(json_t *in, const json_t *form, const json_t *obj)
{
	static const char *const keys[][2] = {
	    {"compute_image", "image"}, {"compute_network", "network"}};
	json_t *attrs = json_object_get(in, "compute_attributes");
	size_t i;

	if (ui_field(form, keys[0][0]) == NULL && ui_field(form, keys[1][0]) == NULL)
		return;
	if (!json_is_object(attrs)) {
		const json_t *cur = json_object_get(in, "compute_attributes") != NULL
		    ? NULL
		    : json_object_get(obj, "compute_attributes");
		attrs = json_is_object(cur) ? json_deep_copy(cur) : json_object();
		json_object_set_new(in, "compute_attributes", attrs);
	}
	for (i = 0; i < nitems(keys); i++) {
		const char *v = ui_field(form, keys[i][0]);

		if (v == NULL)
			continue;
		if (*v != '\0')
			json_object_set_new(attrs, keys[i][1], json_string(v));
		else
			json_object_del(attrs, keys[i][1]);
	}
	if (json_object_size(attrs) == 0)
		json_object_set_new(in, "compute_attributes", json_null());
}

/* POST /ui/<plural> (create) and /ui/<plural>/:id/edit: errors beside their fields. */
static int
prov_ui_save(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_ui_resource(req);
	bool host = strcmp(res->name, "host") == 0;
	_cleanup_json_ json_t *form = NULL, *obj = NULL, *in = NULL;
	_cleanup_free_ char *to = NULL, *key = NULL;
	json_t *errors = json_object();
	struct dr_error err;
	int64_t id = 0;
	int r;

	if (http_request_param(req, "id") != NULL &&
	    (obj = prov_ui_object(req, resp, res)) == NULL)
		goto out;
	if (ui_form(req, resp, &form) < 0)
		goto out;
	in = prov_ui_form_object(res, form, obj != NULL, errors);
	if (host) {
		json_object_set_new(in, "interfaces", prov_ui_form_interfaces(form));
		prov_ui_form_compute(in, form, obj);
	}
	if (json_object_size(errors) > 0) {
		json_object_set_new(
		    errors, "_form", json_string("Correct the fields marked below."));
		prov_ui_form_page(req, resp, 422, res, obj, form, TAKE_PTR(errors), NULL);
		goto out;
	}
	if (obj == NULL) {
		r = host ? prov_host_create(
		               in, http_request_user(req), http_request_remote(req), &id, &err)
		    : strcmp(res->name, "image") == 0
		    ? prov_image_create(
		          in, http_request_user(req), http_request_remote(req), &id, &err)
		    : prov_resource_create(
		          res, in, http_request_user(req), http_request_remote(req), &id, &err);
	} else {
		key = xasprintf("%lld", (long long)json_integer_value(json_object_get(obj, "id")));
		r = prov_resource_update(
		    res, key, in, http_request_user(req), http_request_remote(req), &id, &err);
	}
	if (r < 0) {
		prov_ui_error_place(res, err.msg, errors);
		if (json_object_get(errors, "_form") == NULL)
			json_object_set_new(errors, "_form",
			    json_string("Not saved: correct the field marked below."));
		prov_ui_form_page(req, resp, -r >= 400 && -r < 600 ? -r : 500, res, obj, form,
		    TAKE_PTR(errors), NULL);
		goto out;
	}
	to = prov_ui_href(res, id);
	http_reply_redirect(resp, to);
out:
	json_decref(errors);
	return 0;
}

/* POST /ui/<plural>/:id/delete */
static int
prov_ui_delete(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_ui_resource(req);
	_cleanup_json_ json_t *obj = prov_ui_object(req, resp, res);
	_cleanup_free_ char *key = NULL, *to = NULL;
	struct dr_error err;
	int r;

	if (obj == NULL)
		return 0;
	key = xasprintf("%lld", (long long)json_integer_value(json_object_get(obj, "id")));
	r = strcmp(res->name, "host") == 0
	    ? prov_host_delete(key, http_request_user(req), http_request_remote(req), &err)
	    : strcmp(res->name, "image") == 0
	    ? prov_image_delete(key, http_request_user(req), http_request_remote(req), &err)
	    : prov_resource_delete(
	          res, key, http_request_user(req), http_request_remote(req), &err);
	if (r < 0) {
		ui_error(req, resp, -r >= 400 && -r < 600 ? -r : 500, err.msg);
		return 0;
	}
	to = xasprintf("/ui/%s", res->plural);
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/provisioning_templates/:id/preview {template, host}: render the text being
 * edited for a host, without saving it. */
static int
prov_ui_template_preview(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("provisioning_template");
	_cleanup_json_ json_t *obj = prov_ui_object(req, resp, res), *form = NULL;
	json_t *extra;

	if (obj == NULL || ui_form(req, resp, &form) < 0)
		return 0;
	extra = prov_ui_preview_vars(ui_field(form, "host"), ui_field(form, "template") ?: "",
	    json_string_value(json_object_get(obj, "name")));
	prov_ui_form_page(req, resp, 200, res, obj, form, NULL, extra);
	return 0;
}

/* The bulk actions the caller may take, [{name, label}]. */
static json_t *
prov_ui_bulk_actions(struct http_request *req)
{
	const struct prov_bulk_action *a;
	json_t *out = json_array();
	size_t n;

	a = prov_bulk_actions(&n);
	for (size_t i = 0; i < n; i++)
		if (ui_can(req, "hosts", "view") && ui_can(req, a[i].resource, a[i].action))
			json_array_append_new(
			    out, json_pack("{s:s, s:s}", "name", a[i].name, "label", a[i].label));
	return out;
}

/* GET /ui/hosts: the search box (the search language), status menu, paging, errata
 * counts, and a selection for bulk actions. */
static int
prov_ui_hosts(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	const struct api_resource *api = prov_ui_api(res);
	const char *search = http_request_query(req, "search");
	json_t *vars = ui_list(req, api, search), *row;
	size_t i;

	/* The list shows the stored document's summary: status, hostgroup, OS, address. */
	json_array_foreach(json_object_get(vars, "rows"), i, row)
	{
		/* Rows are the API's JSON (references named already); older rows had "data". */
		json_t *data = json_object_get(row, "data");
		_cleanup_json_ json_t *shown =
		    json_is_object(data) ? prov_resource_present(res, data) : json_incref(row);
		json_t *nic, *ip = NULL, *mac = NULL;
		size_t j;

		json_array_foreach(json_object_get(shown, "interfaces"), j, nic)
		{
			if (ip == NULL || json_is_true(json_object_get(nic, "primary"))) {
				ip = json_object_get(nic, "ip");
				mac = json_object_get(nic, "mac");
			}
		}
		json_object_set(row, "status", json_object_get(shown, "status"));
		json_object_set(row, "build", json_object_get(shown, "build"));
		json_object_set(row, "hostgroup", json_object_get(shown, "hostgroup_name"));
		json_object_set(
		    row, "operatingsystem", json_object_get(shown, "operatingsystem_name"));
		json_object_set(row, "ip", ip);
		json_object_set(row, "mac", mac);
		json_object_del(row, "data");
	}
	prov_content_counts(json_object_get(vars, "rows"));
	json_object_set_new(vars, "statuses",
	    json_pack("[sssss]", "new", "building", "installed", "failed", "provisioned"));
	json_object_set_new(vars, "bulk_actions", prov_ui_bulk_actions(req));
	ui_form_vars(vars, req, "hosts", (const char *const[]){"create", "build", "delete", NULL},
	    NULL, NULL);
	ui_render(req, resp, 200, "hosts.html", "Hosts", vars);
	return 0;
}

/* The last power jobs of a host (state and result), newest first. */
static json_t *
prov_ui_power_jobs(const char *host)
{
	json_t *rows = NULL;
	struct dr_error err;

	if (store_queryf(&rows, &err,
	        "SELECT j.id AS id, j.state AS state, j.created_at AS created_at,"
	        " j.finished_at AS finished_at, j.error AS error, i.data AS data_json"
	        " FROM job_items i JOIN jobs j ON j.id = i.job_id"
	        " WHERE i.item = ? AND j.kind = 'host_power' ORDER BY j.id DESC LIMIT 5",
	        "[s]", host) < 0) {
		log_warnx("power jobs of %s: %s", host, err.msg);
		return json_array();
	}
	return rows;
}

/* Packages a host page lists (all of them are in the API). */
#define PROV_UI_PACKAGES 200

/* GET /ui/hosts/:id: overview, interfaces, parameters, build and power, keys, installed
 * packages and applicable errata, log. */
static int
prov_ui_host(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *obj = prov_ui_object(req, resp, res), *resolved = NULL;
	const char *name;
	json_t *vars, *shown, *params, *power, *keys;
	struct dr_error err;
	const char *k;
	json_t *v;

	if (obj == NULL)
		return 0;
	params = json_array();
	name = json_string_value(json_object_get(obj, "name"));
	shown = prov_resource_present(res, obj);
	vars = json_pack("{s:o}", "host", shown);
	/* Parameters as the templates see them, each with where it came from. */
	if (prov_host_resolve(obj, &resolved, &err) == 0) {
		json_t *own = json_object_get(obj, "parameters");

		json_object_foreach(json_object_get(resolved, "parameters"), k, v)
		{
			_cleanup_free_ char *t = prov_ui_text(v);

			json_array_append_new(params,
			    json_pack("{s:s, s:s, s:s}", "name", k, "value", t, "from",
			        json_object_get(own, k) != NULL ? "host" : "inherited"));
		}
		json_object_set(vars, "os", json_object_get(resolved, "os"));
		json_object_set(
		    vars, "resolved_hostgroup", json_object_get(resolved, "hostgroup"));
	} else {
		json_object_set_new(vars, "resolve_error", json_string(err.msg));
	}
	json_object_set_new(vars, "parameters", params);
	power = prov_ui_power_jobs(name);
	json_object_set_new(vars, "power_jobs", power);
	keys = json_array();
	if (json_is_string(json_object_get(obj, "ssh_host_keys"))) {
		_cleanup_free_ char *copy =
		    xstrdup(json_string_value(json_object_get(obj, "ssh_host_keys")));
		char *p = copy, *line;

		while ((line = strsep(&p, "\n")) != NULL) {
			char *type, *rest = str_trim(line);

			if (*rest == '\0')
				continue;
			type = strsep(&rest, " ");
			json_array_append_new(keys,
			    json_pack(
			        "{s:s, s:s}", "type", type, "key", rest != NULL ? rest : ""));
		}
	}
	json_object_set_new(vars, "ssh_keys", keys);
	json_object_set_new(vars, "content",
	    prov_content_page(json_integer_value(json_object_get(obj, "id")), PROV_UI_PACKAGES));
	json_object_set_new(vars, "power_actions",
	    json_pack("[ssssss]", "on", "off", "soft", "cycle", "status", "pxe"));
	json_object_set_new(vars, "template_kinds",
	    json_pack("[ssss]", "iPXE", "provision", "finish", "user_data"));
	ui_form_vars(vars, req, "hosts",
	    (const char *const[]){"edit", "delete", "build", "power", NULL}, NULL, NULL);
	ui_render(req, resp, 200, "host.html", name, vars);
	return 0;
}

/* GET /ui/hosts/:id/templates/:kind: the host's rendered template, as a page. */
static int
prov_ui_host_template(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *obj = prov_ui_object(req, resp, res);
	_cleanup_free_ char *out = NULL;
	const char *kind = http_request_param(req, "kind");
	char title[PROV_NAME_MAX + 64];
	struct dr_error err;
	json_t *vars;

	if (obj == NULL)
		return 0;
	vars = json_pack("{s:O, s:O, s:s}", "id", json_object_get(obj, "id"), "name",
	    json_object_get(obj, "name"), "kind", kind);
	if (prov_render_host(obj, kind, NULL, &out, &err) < 0)
		json_object_set_new(vars, "error", json_string(err.msg));
	else
		json_object_set_new(vars, "output", json_string(out));
	snprintf(title, sizeof title, "%s template of %s", kind,
	    json_string_value(json_object_get(obj, "name")));
	ui_render(req, resp, 200, "host_template.html", title, vars);
	return 0;
}

/* POST /ui/hosts/:id/build {reboot?} and /ui/hosts/:id/cancel_build */
static int
prov_ui_host_build(struct http_request *req, struct http_response *resp)
{
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *obj = prov_ui_object(req, resp, res), *form = NULL;
	_cleanup_free_ char *key = NULL, *to = NULL;
	bool cancel = str_has_suffix(http_request_path(req), "/cancel_build");
	struct dr_error err;
	int r;

	if (obj == NULL || ui_form(req, resp, &form) < 0)
		return 0;
	key = xasprintf("%lld", (long long)json_integer_value(json_object_get(obj, "id")));
	r = cancel
	    ? prov_host_build_cancel(key, http_request_user(req), http_request_remote(req), &err)
	    : prov_host_build_boot(key, 0, ui_field(form, "reboot") != NULL,
	          http_request_user(req), http_request_remote(req), &err);
	if (r < 0) {
		ui_error(req, resp, -r >= 400 && -r < 600 ? -r : 500, err.msg);
		return 0;
	}
	to = prov_ui_href(res, json_integer_value(json_object_get(obj, "id")));
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/hosts/:id/power {power_action}: a host_power job, followed on its page. */
static int
prov_ui_host_power(struct http_request *req, struct http_response *resp)
{
	static const char *const actions[] = {"on", "off", "soft", "cycle", "status", "pxe"};
	const struct prov_resource *res = prov_resource_find("host");
	_cleanup_json_ json_t *obj = prov_ui_object(req, resp, res), *form = NULL, *params = NULL;
	const char *action;
	struct dr_error err;
	bool known = false;
	char to[64];
	int64_t id;

	if (obj == NULL || ui_form(req, resp, &form) < 0)
		return 0;
	action = ui_field(form, "power_action");
	for (size_t i = 0; i < nitems(actions) && action != NULL; i++)
		known |= strcmp(actions[i], action) == 0;
	if (!known) {
		ui_error(
		    req, resp, 422, "power action: expected on, off, soft, cycle, status or pxe");
		return 0;
	}
	params = json_pack("{s:O, s:s}", "host", json_object_get(obj, "name"), "action", action);
	if (job_submit("host_power", params, http_request_user(req), 0, &id, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		return 0;
	}
	store_audit(http_request_user(req), http_request_remote(req), "power", "host",
	    json_string_value(json_object_get(obj, "name")), NULL, params, NULL);
	snprintf(to, sizeof to, "/ui/jobs/%lld", (long long)id);
	http_reply_redirect(resp, to);
	return 0;
}

/* Hosts a bulk confirmation page names at most (the count says how many in all). */
#define PROV_UI_BULK_SHOWN 100

/* The hosts a bulk form selected: {"search"} when "all matching" was ticked, else
 * {"ids": [numbers]}; NULL when nothing was selected. */
static json_t *
prov_ui_bulk_selection(const json_t *form)
{
	const json_t *ids = json_object_get(form, "ids");
	json_t *out, *list = json_array(), *v;
	long long id;
	size_t i;

	if (ui_field(form, "all") != NULL) {
		json_decref(list);
		return json_pack("{s:s}", "search", ui_field(form, "search") ?: "");
	}
	if (json_is_string(ids) && str_to_ll(json_string_value(ids), 1, INT64_MAX, &id) == 0)
		json_array_append_new(list, json_integer(id));
	json_array_foreach(json_is_array(ids) ? ids : NULL, i, v)
	{
		if (json_is_string(v) && str_to_ll(json_string_value(v), 1, INT64_MAX, &id) == 0 &&
		    json_array_size(list) < PROV_BULK_MAX)
			json_array_append_new(list, json_integer(id));
	}
	if (json_array_size(list) == 0) {
		json_decref(list);
		return NULL;
	}
	out = json_pack("{s:o}", "ids", list);
	return out;
}

/* The confirmation page of a bulk action: the hosts, the action's own fields, errors. */
static void
prov_ui_bulk_page(struct http_request *req, struct http_response *resp, int status,
    const struct prov_bulk_action *a, const json_t *sel, json_t *form, json_t *errors)
{
	const struct api_resource *hosts = provisioner_api_resource("hosts");
	struct auth_principal *p = http_request_principal(req);
	const char *scope = p != NULL ? p->scope : NULL;
	json_t *vars, *shown = json_array(), *rows = NULL, *v;
	int64_t total = 0;
	struct dr_error err;
	size_t i;
	char title[128];

	if (errors == NULL)
		errors = json_object();
	if (json_object_get(sel, "search") != NULL) {
		if (api_list_query(hosts, json_string_value(json_object_get(sel, "search")), scope,
		        "name", 1, PROV_UI_BULK_SHOWN, &rows, &total, &err) < 0) {
			json_object_set_new(errors, "search", json_string(err.msg));
			rows = json_array();
		}
	} else {
		rows = json_array();
		json_array_foreach(json_object_get(sel, "ids"), i, v)
		{
			json_t *h;

			if (!api_in_scope(req, hosts, json_integer_value(v)) ||
			    (h = prov_resource_get_id(
			         prov_resource_find("host"), json_integer_value(v))) == NULL)
				continue;
			if (json_array_size(rows) < PROV_UI_BULK_SHOWN)
				json_array_append_new(rows, h);
			else
				json_decref(h);
			total++;
		}
	}
	json_array_foreach(rows, i, v) json_array_append_new(shown,
	    json_pack(
	        "{s:O, s:O}", "id", json_object_get(v, "id"), "name", json_object_get(v, "name")));
	json_decref(rows);
	vars = json_pack("{s:{s:s, s:s}, s:o, s:I, s:O, s:s}", "action", "name", a->name, "label",
	    a->label, "hosts", shown, "total", (json_int_t)total, "selection", sel, "search",
	    json_string_value(json_object_get(sel, "search")) ?: "");
	if (strcmp(a->name, "power") == 0)
		json_object_set_new(vars, "power_actions",
		    json_pack("[ssssss]", "on", "off", "soft", "cycle", "status", "pxe"));
	if (strcmp(a->name, "hostgroup") == 0 &&
	    api_list_query(provisioner_api_resource("hostgroups"), NULL, NULL, "name", 1,
	        API_PER_PAGE_MAX, &rows, &total, &err) == 0)
		json_object_set_new(vars, "hostgroups", rows);
	if (strcmp(a->name, "run") == 0 && jobs_library_list(&rows, &err) == 0)
		json_object_set_new(vars, "playbooks", rows);
	if (strcmp(a->name, "errata") == 0)
		json_object_set_new(
		    vars, "errata_types", json_pack("[sss]", "security", "bugfix", "enhancement"));
	ui_form_vars(vars, req, "hosts", (const char *const[]){NULL}, form, errors);
	snprintf(title, sizeof title, "%s: %lld hosts", a->label, (long long)total);
	ui_render(req, resp, status, "hosts_bulk.html", title, vars);
}

/* The bulk action a path or form names, NULL when none. */
static const struct prov_bulk_action *
prov_ui_bulk_action(const char *name)
{
	const struct prov_bulk_action *a;
	size_t n;

	a = prov_bulk_actions(&n);
	for (size_t i = 0; i < n && name != NULL; i++)
		if (strcmp(a[i].name, name) == 0)
			return &a[i];
	return NULL;
}

/* POST /ui/hosts/bulk {action, ids… | all + search}: the confirmation page. */
static int
prov_ui_bulk(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *sel = NULL;
	const struct prov_bulk_action *a;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	if ((a = prov_ui_bulk_action(ui_field(form, "action"))) == NULL) {
		ui_error(req, resp, 422, "bulk action: choose one of the list");
		return 0;
	}
	if (!ui_can(req, a->resource, a->action)) {
		char msg[128];

		snprintf(msg, sizeof msg, "your role lacks the permission %s:%s", a->resource,
		    a->action);
		ui_error(req, resp, 403, msg);
		return 0;
	}
	if ((sel = prov_ui_bulk_selection(form)) == NULL) {
		ui_error(req, resp, 422, "select hosts first, or all hosts matching the search");
		return 0;
	}
	prov_ui_bulk_page(req, resp, 200, a, sel, NULL, NULL);
	return 0;
}

/* POST /ui/hosts/bulk/:action: do it; a job is followed on its page, results per host
 * are shown. */
static int
prov_ui_bulk_do(struct http_request *req, struct http_response *resp)
{
	const char *path = http_request_path(req);
	const struct prov_bulk_action *a = prov_ui_bulk_action(strrchr(path, '/') + 1);
	_cleanup_json_ json_t *form = NULL, *sel = NULL, *body = NULL, *invalid = json_object();
	json_t *out = NULL, *v;
	struct dr_error err;
	const char *f;
	int status;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	if ((sel = prov_ui_bulk_selection(form)) == NULL) {
		ui_error(req, resp, 422, "select hosts first, or all hosts matching the search");
		return 0;
	}
	body = json_deep_copy(sel);
	if ((f = ui_field(form, "power_action")) != NULL)
		json_object_set_new(body, "power_action", json_string(f));
	if (strcmp(a->name, "build") == 0)
		json_object_set_new(
		    body, "reboot", json_boolean(ui_field(form, "reboot") != NULL));
	if ((f = ui_field(form, "hostgroup")) != NULL)
		json_object_set_new(body, "hostgroup", json_string(f));
	if ((f = ui_field(form, "command")) != NULL && *f != '\0')
		json_object_set_new(body, "command", json_string(f));
	if ((f = ui_field(form, "playbook")) != NULL && *f != '\0')
		json_object_set_new(body, "playbook", json_string(f));
	if (strcmp(a->name, "errata") == 0) {
		const json_t *types = json_object_get(form, "types");
		json_t *list = json_array();
		size_t i;

		if (json_is_string(types))
			json_array_append(list, (json_t *)types);
		json_array_foreach(json_is_array(types) ? types : NULL, i, v)
		    json_array_append(list, v);
		json_object_set_new(body, "errata", json_pack("{s:o}", "types", list));
		if (json_array_size(list) == 0)
			json_object_del(body, "errata"); /* every installable erratum */
	}
	status = prov_bulk_run(req, a->name, body, invalid, &out, &err);
	if (status == 422) {
		if (json_object_size(invalid) == 0)
			json_object_set_new(invalid, "action", json_string(err.msg));
		prov_ui_bulk_page(req, resp, 422, a, sel, json_incref(form), json_incref(invalid));
		return 0;
	}
	if (status != 200) {
		ui_error(req, resp, status, err.msg);
		return 0;
	}
	if ((v = json_object_get(out, "job")) != NULL) {
		char to[64];

		snprintf(to, sizeof to, "/ui/jobs/%lld",
		    (long long)json_integer_value(json_object_get(v, "id")));
		json_decref(out);
		http_reply_redirect(resp, to);
		return 0;
	}
	ui_render(req, resp, 200, "hosts_bulk_done.html", a->label,
	    json_pack("{s:o, s:s}", "results", json_incref(json_object_get(out, "results")),
	        "label", a->label));
	json_decref(out);
	return 0;
}

/* A fact the machine posted, as text for the page: a string (cut at
 * PROV_UI_FACT_TEXT_MAX bytes), a number, yes/no, "" when absent or null, else its JSON.
 * The template escapes it. */
static json_t *
prov_ui_fact_text(const json_t *v)
{
	_cleanup_free_ char *text = NULL;

	if (v == NULL || json_is_null(v))
		return json_string("");
	if (json_is_boolean(v))
		return json_string(json_is_true(v) ? "yes" : "no");
	if (json_is_integer(v))
		return json_sprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return json_sprintf("%g", json_real_value(v));
	text = json_is_string(v) ? xstrdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT);
	if (text == NULL)
		return json_string("");
	if (strlen(text) > PROV_UI_FACT_TEXT_MAX) {
		size_t n = PROV_UI_FACT_TEXT_MAX - 3;

		/* Not inside a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
		strcpy(text + n, "...");
	}
	return json_string(text) ?: json_string("");
}

/* Bytes as gigabytes (2^30) with one decimal; "" when not a number. */
static json_t *
prov_ui_fact_gb(double bytes, bool known)
{
	return known ? json_sprintf("%.1f", bytes / 1073741824.0) : json_string("");
}

/* The facts of a discovered machine as the page shows them: text for each, the disks'
 * total size and the NIC count for the list, and each disk and NIC (at most
 * PROV_UI_FACT_ITEMS_MAX) for its details. */
static json_t *
prov_ui_discovered_facts(const json_t *f)
{
	static const char *const keys[] = {"cpus", "memory_mb", "cpu_model", "firmware",
	    "manufacturer", "product", "serial", "bios_vendor", "bios_version"};
	static const char *const disk_keys[] = {"name", "model", "serial", "rotational"};
	static const char *const nic_keys[] = {"name", "mac", "link", "speed_mbps", "ip"};
	json_t *out = json_object(), *disks = json_array(), *nics = json_array(), *v, *row;
	const json_t *sb = json_object_get(f, "secure_boot");
	double total = 0;
	bool sized = false;
	size_t i, k;

	for (k = 0; k < nitems(keys); k++)
		json_object_set_new(out, keys[k], prov_ui_fact_text(json_object_get(f, keys[k])));
	json_object_set_new(out, "secure_boot",
	    json_string(json_is_true(sb) ? "on" : json_is_false(sb) ? "off" : ""));
	json_array_foreach(json_object_get(f, "disks"), i, v)
	{
		const json_t *size = json_object_get(v, "size_bytes");

		if (!json_is_object(v))
			continue;
		if (json_is_number(size) && json_number_value(size) >= 0) {
			total += json_number_value(size);
			sized = true;
		}
		if (json_array_size(disks) >= PROV_UI_FACT_ITEMS_MAX)
			continue;
		row = json_object();
		for (k = 0; k < nitems(disk_keys); k++)
			json_object_set_new(
			    row, disk_keys[k], prov_ui_fact_text(json_object_get(v, disk_keys[k])));
		json_object_set_new(row, "size_gb",
		    prov_ui_fact_gb(json_number_value(size),
		        json_is_number(size) && json_number_value(size) >= 0));
		json_array_append_new(disks, row);
	}
	json_array_foreach(json_object_get(f, "nics"), i, v)
	{
		if (!json_is_object(v))
			continue;
		if (json_array_size(nics) >= PROV_UI_FACT_ITEMS_MAX)
			continue;
		row = json_object();
		for (k = 0; k < nitems(nic_keys); k++)
			json_object_set_new(
			    row, nic_keys[k], prov_ui_fact_text(json_object_get(v, nic_keys[k])));
		json_array_append_new(nics, row);
	}
	json_object_set_new(out, "disk_gb", prov_ui_fact_gb(total, sized));
	json_object_set_new(out, "nic_count",
	    json_is_array(json_object_get(f, "nics"))
	        ? json_integer((json_int_t)json_array_size(json_object_get(f, "nics")))
	        : json_string(""));
	json_object_set_new(out, "disks", disks);
	json_object_set_new(out, "nics", nics);
	return out;
}

/* The discovered hosts page, with a provision form per machine. */
static void
prov_ui_discovered_page(
    struct http_request *req, struct http_response *resp, int status, json_t *form, json_t *errors)
{
	json_t *rows = NULL, *row, *vars;
	struct dr_error err;
	size_t i;

	if (prov_discovery_list(&rows, &err) < 0) {
		ui_error(req, resp, 500, err.msg);
		json_decref(form);
		json_decref(errors);
		return;
	}
	json_array_foreach(rows, i, row)
	{
		json_object_set_new(
		    row, "f", prov_ui_discovered_facts(json_object_get(row, "facts")));
		json_object_del(row, "facts");
		json_object_set_new(
		    row, "key", json_string(json_string_value(json_object_get(row, "mac")) ?: ""));
	}
	vars = json_pack("{s:o, s:o}", "rows", rows, "hostgroups", prov_ui_names("hostgroup"));
	ui_form_vars(vars, req, "discovered_hosts",
	    (const char *const[]){"provision", "delete", NULL}, form, errors);
	ui_render(req, resp, status, "discovered.html", "Discovered hosts", vars);
}

/* GET /ui/discovered_hosts */
static int
prov_ui_discovered(struct http_request *req, struct http_response *resp)
{
	prov_ui_discovered_page(req, resp, 200, NULL, NULL);
	return 0;
}

/* POST /ui/discovered_hosts/:mac/provision {name, hostgroup}: a host, built. */
static int
prov_ui_discovered_provision(struct http_request *req, struct http_response *resp)
{
	_cleanup_json_ json_t *form = NULL, *spec = json_object();
	const char *mac = http_request_param(req, "mac"), *v;
	json_t *errors;
	struct dr_error err;
	char to[64];
	int64_t id;
	int r;

	if (ui_form(req, resp, &form) < 0)
		return 0;
	if ((v = ui_field(form, "name")) != NULL && *v != '\0')
		json_object_set_new(spec, "name", json_string(v));
	if ((v = ui_field(form, "hostgroup")) != NULL && *v != '\0')
		json_object_set_new(spec, "hostgroup", json_string(v));
	if ((r = prov_discovery_provision(
	         mac, spec, http_request_user(req), http_request_remote(req), &id, &err)) < 0) {
		errors = json_pack("{s:s, s:s}", "mac", mac, "message", err.msg);
		json_object_set_new(form, "mac", json_string(mac));
		prov_ui_discovered_page(
		    req, resp, -r >= 400 && -r < 600 ? -r : 500, json_incref(form), errors);
		return 0;
	}
	snprintf(to, sizeof to, "/ui/hosts/%lld", (long long)id);
	http_reply_redirect(resp, to);
	return 0;
}

/* POST /ui/discovered_hosts/:mac/delete */
static int
prov_ui_discovered_delete(struct http_request *req, struct http_response *resp)
{
	struct dr_error err;
	int r;

	if ((r = prov_discovery_delete(http_request_param(req, "mac"), http_request_user(req),
	         http_request_remote(req), &err)) < 0) {
		ui_error(req, resp, -r >= 400 && -r < 600 ? -r : 500, err.msg);
		return 0;
	}
	http_reply_redirect(resp, "/ui/discovered_hosts");
	return 0;
}

/*
 * Hosts by status. The status is inside each host's JSON document, and counting 10,000
 * of them takes ~50 ms, too long for every dashboard view; so the counts are kept and
 * reused while the host count and the newest updated_at (both cheap) stay the same and
 * that newest change is older than the counting (a change in the same second as the
 * counting could have been missed). A new reference, or NULL on a store error.
 */
static json_t *
prov_ui_status_counts(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static json_t *cached;
	static json_int_t cached_n = -1, cached_newest = -1;
	static time_t at;
	_cleanup_json_ json_t *stamp = NULL;
	json_t *rows = NULL;
	json_int_t n, newest;
	struct dr_error err;
	time_t now = time(NULL);

	stamp = store_query_one(&err,
	    "SELECT count(*) AS n, COALESCE(max(updated_at), 0) AS newest FROM prov_hosts", NULL);
	if (stamp == NULL) {
		log_warnx("dashboard: hosts: %s", err.msg);
		return NULL;
	}
	n = json_integer_value(json_object_get(stamp, "n"));
	newest = json_integer_value(json_object_get(stamp, "newest"));
	pthread_mutex_lock(&lock);
	if (cached != NULL && n == cached_n && newest == cached_newest && newest < at &&
	    now >= at) {
		rows = json_incref(cached);
		pthread_mutex_unlock(&lock);
		return rows;
	}
	pthread_mutex_unlock(&lock);
	if (store_query("SELECT COALESCE(json_extract(data, '$.status'), 'new') AS status,"
	                " count(*) AS n FROM prov_hosts GROUP BY 1 ORDER BY 1",
	        NULL, &rows, &err) < 0) {
		log_warnx("dashboard: hosts: %s", err.msg);
		return NULL;
	}
	pthread_mutex_lock(&lock);
	json_decref(cached);
	cached = json_incref(rows);
	cached_n = n;
	cached_newest = newest;
	at = now;
	pthread_mutex_unlock(&lock);
	return rows;
}

/* Hosts by status among those a role's search filter lets the caller see (not cached). */
static json_t *
prov_ui_status_counts_in(const char *scope)
{
	const struct api_resource *api = prov_ui_api(prov_resource_find("host"));
	struct buf where = BUF_INIT(SEARCH_SQL_MAX);
	_cleanup_json_ json_t *params = json_array();
	_cleanup_free_ char *sql = NULL;
	json_t *rows = NULL;
	struct dr_error err;

	if (search_compile(scope, api->fields, api->nfields, &where, params, &err) < 0) {
		log_warnx("dashboard: the role's filter on hosts: %s", err.msg);
		buf_free(&where);
		return NULL;
	}
	sql =
	    xasprintf("SELECT COALESCE(json_extract(h.data, '$.status'), 'new') AS status,"
	              " count(*) AS n FROM prov_hosts h WHERE h.id IN (SELECT %s FROM %s WHERE %s)"
	              " GROUP BY 1 ORDER BY 1",
	        api->id_sql, api->from, where.data);
	buf_free(&where);
	if (store_query(sql, params, &rows, &err) < 0) {
		log_warnx("dashboard: hosts: %s", err.msg);
		return NULL;
	}
	return rows;
}

/* The dashboard's hosts widget: hosts by status, as bars. */
static json_t *
prov_ui_widget_hosts(struct http_request *req)
{
	_cleanup_free_ char *scope = NULL;
	json_t *rows, *row, *bars;
	json_int_t max = 1, total = 0;
	size_t i;

	if (!ui_can(req, "hosts", "view"))
		return NULL;
	auth_allowed(http_request_principal(req), "hosts", "view", &scope);
	if ((rows = scope != NULL ? prov_ui_status_counts_in(scope) : prov_ui_status_counts()) ==
	    NULL)
		return NULL;
	bars = json_array();
	json_array_foreach(rows, i, row)
	{
		json_int_t n = json_integer_value(json_object_get(row, "n"));

		max = n > max ? n : max;
		total += n;
	}
	json_array_foreach(rows, i, row)
	{
		json_int_t n = json_integer_value(json_object_get(row, "n"));
		_cleanup_free_ char *q =
		    ui_urlencode(json_string_value(json_object_get(row, "status")) ?: "");

		json_array_append_new(bars,
		    json_pack("{s:O, s:I, s:I, s:I, s:o}", "status",
		        json_object_get(row, "status"), "count", n, "width", n * 300 / max, "y",
		        (json_int_t)(i * 28), "href",
		        json_sprintf("/ui/hosts?search=status%%20%%3D%%20%s", q)));
	}
	json_decref(rows);
	return json_pack("{s:o, s:I, s:I}", "bars", bars, "height",
	    (json_int_t)(json_array_size(bars) * 28 + 4), "total", total);
}

static const struct http_route prov_ui_host_routes[] = {
    {"GET", "/ui/hosts", prov_ui_hosts, HTTP_HTML, "ui_hosts"},
    {"POST", "/ui/hosts", prov_ui_save, HTTP_HTML, "ui_hosts"},
    {"GET", "/ui/hosts/new", prov_ui_show, HTTP_HTML, "ui_host_new", "hosts", "create"},
    {"POST", "/ui/hosts/bulk", prov_ui_bulk, HTTP_HTML, "ui_hosts_bulk", "hosts", "view"},
    {"GET", "/ui/hosts/:id", prov_ui_host, HTTP_HTML, "ui_host"},
    {"GET", "/ui/hosts/:id/edit", prov_ui_show, HTTP_HTML, "ui_host_edit", "hosts", "edit"},
    {"POST", "/ui/hosts/:id/edit", prov_ui_save, HTTP_HTML, "ui_host_edit"},
    {"POST", "/ui/hosts/:id/delete", prov_ui_delete, HTTP_HTML, "ui_host_delete"},
    {"POST", "/ui/hosts/:id/build", prov_ui_host_build, HTTP_HTML, "ui_host_build"},
    {"POST", "/ui/hosts/:id/cancel_build", prov_ui_host_build, HTTP_HTML, "ui_host_build", "hosts",
        "build"},
    {"POST", "/ui/hosts/:id/power", prov_ui_host_power, HTTP_HTML, "ui_host_power"},
    {"GET", "/ui/hosts/:id/templates/:kind", prov_ui_host_template, HTTP_HTML, "ui_host_template",
        "hosts", "view"},
    {"POST", "/ui/provisioning_templates/:id/preview", prov_ui_template_preview, HTTP_HTML,
        "ui_template_preview", "provisioning_templates", "view"},
    {"GET", "/ui/discovered_hosts", prov_ui_discovered, HTTP_HTML, "ui_discovered_hosts"},
    {"POST", "/ui/discovered_hosts/:mac/provision", prov_ui_discovered_provision, HTTP_HTML,
        "ui_discovered_provision"},
    {"POST", "/ui/discovered_hosts/:mac/delete", prov_ui_discovered_delete, HTTP_HTML,
        "ui_discovered_delete"},
};

static const struct ui_nav prov_ui_nav[] = {
    {"Hosts", "/ui/hosts", "hosts", 30},
    {"Discovered hosts", "/ui/discovered_hosts", "discovered_hosts", 39},
};

/* Install the provisioner's pages, navigation, dashboard widget and search fields. */
void
prov_ui_init(void)
{
	static struct http_route *routes;
	static struct http_route *bulk;
	static struct ui_nav *nav;
	static size_t nroutes, nnav, nbulk;

	if (routes == NULL) {
		/* Six routes per resource page; patterns live for the process. */
		routes = xcalloc(nitems(prov_ui_pages) * 6, sizeof *routes);
		nav = xcalloc(nitems(prov_ui_pages), sizeof *nav);
		for (size_t i = 0; i < nitems(prov_ui_pages); i++) {
			const struct prov_resource *res =
			    prov_resource_find(prov_ui_pages[i].resource);
			const char *p = res->plural;

			routes[nroutes++] = (struct http_route){"GET", xasprintf("/ui/%s", p),
			    prov_ui_list, HTTP_HTML, xasprintf("ui_%s", p)};
			routes[nroutes++] = (struct http_route){"POST", xasprintf("/ui/%s", p),
			    prov_ui_save, HTTP_HTML, xasprintf("ui_%s", p)};
			routes[nroutes++] = (struct http_route){"GET", xasprintf("/ui/%s/new", p),
			    prov_ui_show, HTTP_HTML, xasprintf("ui_%s_new", p), p, "create"};
			routes[nroutes++] = (struct http_route){"GET", xasprintf("/ui/%s/:id", p),
			    prov_ui_show, HTTP_HTML, xasprintf("ui_%s_one", p)};
			routes[nroutes++] =
			    (struct http_route){"POST", xasprintf("/ui/%s/:id/edit", p),
			        prov_ui_save, HTTP_HTML, xasprintf("ui_%s_edit", p)};
			routes[nroutes++] =
			    (struct http_route){"POST", xasprintf("/ui/%s/:id/delete", p),
			        prov_ui_delete, HTTP_HTML, xasprintf("ui_%s_delete", p)};
			if (prov_ui_pages[i].nav > 0)
				nav[nnav++] = (struct ui_nav){prov_ui_pages[i].title,
				    xasprintf("/ui/%s", p), p, prov_ui_pages[i].nav};
		}
		ui_nav_add(prov_ui_nav, nitems(prov_ui_nav));
		ui_nav_add(nav, nnav);
	}
	if (bulk == NULL) {
		/* One route per bulk action, with its permission, before /ui/hosts/:id/… */
		const struct prov_bulk_action *a = prov_bulk_actions(&nbulk);

		bulk = xcalloc(nbulk, sizeof *bulk);
		for (size_t i = 0; i < nbulk; i++)
			bulk[i] = (struct http_route){"POST",
			    xasprintf("/ui/hosts/bulk/%s", a[i].name), prov_ui_bulk_do, HTTP_HTML,
			    xasprintf("ui_hosts_bulk_%s", a[i].name), a[i].resource, a[i].action};
	}
	http_routes_add(bulk, nbulk);
	http_routes_add(prov_ui_host_routes, nitems(prov_ui_host_routes));
	http_routes_add(routes, nroutes);
	ui_widget_add("hosts", prov_ui_widget_hosts);
}
