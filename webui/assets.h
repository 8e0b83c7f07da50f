/*
 * assets.h - the UI's templates and static files, compiled into the binary by
 * webui/embed.sh (webui/assets.c is generated at build time).
 */
#ifndef DROVER_WEBUI_ASSETS_H
#define DROVER_WEBUI_ASSETS_H

#include <stddef.h>

struct webui_asset {
	const char *name; /* "templates/layout.html", "static/app.css" */
	const unsigned char *data; /* NUL-terminated */
	size_t len;
};

extern const struct webui_asset webui_assets[];
extern const size_t webui_nassets;

#endif /* DROVER_WEBUI_ASSETS_H */
