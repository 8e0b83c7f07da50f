/*
 * fuzz_api.c - libFuzzer target for what clients send the API: the search language
 * (queries and order=) and JSON bodies (parsed as http_request_json does, then checked
 * as user and role bodies, whose permission filters are compiled too). The first byte
 * picks the parser; the rest is the input.
 *
 * Built with clang when configured with --enable-fuzz (tests/fuzz/fuzz_api); the same
 * file is linked with standalone.c into tests/fuzz/fuzz_api_corpus, which every build
 * runs over tests/fuzz/corpus/ as a normal test.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webui/webui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feed one input to the parser its first byte names. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	const struct api_resource *r;
	struct buf sql = BUF_INIT(0);
	struct dr_error err;
	json_t *params, *invalid, *body;
	json_error_t jerr;
	char *text;

	if (!registered) {
		api_resource_register(&api_jobs_resource);
		api_resource_register(&api_schedules_resource);
		api_resource_register(&api_audits_resource);
		registered = true;
	}
	if (size == 0 || size > 65536)
		return 0;
	text = strndup((const char *)data + 1, size - 1);
	if (text == NULL)
		return 0;
	switch (data[0] % 4) {
	case 0:
	case 1:
		r = data[0] % 4 == 0 ? &api_jobs_resource : &api_schedules_resource;
		params = json_array();
		if (search_compile(text, r->fields, r->nfields, &sql, params, &err) == 0 &&
		    json_array_size(params) > (size_t)SEARCH_TERMS_MAX * SEARCH_LIST_MAX)
			abort(); /* more values than the caps allow */
		buf_reset(&sql);
		search_order(text, r->fields, r->nfields, &sql, &err);
		json_decref(params);
		break;
	case 2:
	case 3:
		body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
		invalid = json_object();
		if (data[0] % 4 == 2)
			api_role_spec_check(body, data[0] & 0x10, invalid);
		else
			api_user_spec_check(body, data[0] & 0x10, invalid);
		json_decref(invalid);
		json_decref(body);
		break;
	}
	buf_free(&sql);
	free(text);
	return 0;
}
