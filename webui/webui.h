/*
 * webui.h - droverd's HTTP server (libmicrohttpd), route table, metrics, REST API.
 */
#ifndef DROVER_WEBUI_H
#define DROVER_WEBUI_H

#include "core/core.h"

/* server.c */

/* end server.c */

/* metrics.c */

/* end metrics.c */

#endif /* DROVER_WEBUI_H */
