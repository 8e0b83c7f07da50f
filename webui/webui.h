/*
 * webui.h - droverd's HTTP server (libmicrohttpd), route table, metrics, REST API.
 */
#ifndef DROVER_WEBUI_H
#define DROVER_WEBUI_H

#include "core/core.h"

#endif /* DROVER_WEBUI_H */
