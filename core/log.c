/* log.c - levelled, component-tagged logging to stderr (journald-aware) or syslog. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

static struct {
	bool syslog;
	bool journal; /* stderr is a journald stream: prefix lines with <N> */
	int level;
	char debug[256]; /* ",comp1,comp2," or ",all," */
	pthread_mutex_t lock;
} log_state = { .level = LOG_INFO, .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *const log_level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* Set up where log lines go and how verbose they are. */
void
log_init(const char *ident, bool use_syslog, int level)
{
	log_state.syslog = use_syslog;
	log_state.level = level;
	log_state.journal = getenv("JOURNAL_STREAM") != NULL;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Change the most verbose level printed. */
void
log_set_level(int level)
{
	log_state.level = level;
}

/* Select the components whose debug lines are printed. */
void
log_set_debug(const char *components)
{
	char list[sizeof log_state.debug];
	size_t i, j = 0;

	if (components == NULL || *components == '\0') {
		log_state.debug[0] = '\0';
		return;
	}
	list[j++] = ',';
	for (i = 0; components[i] != '\0' && j < sizeof list - 2; i++)
		if (components[i] != ' ')
			list[j++] = components[i];
	list[j++] = ',';
	list[j] = '\0';
	str_copy(log_state.debug, list, sizeof log_state.debug);
}

/* Parse a level name. */
int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(log_level_names); i++)
		if (strcasecmp(name, log_level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(name, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

/* True when debug lines of component are wanted. */
bool
log_debug_enabled(const char *component)
{
	char key[64];

	if (log_state.level >= LOG_DEBUG)
		return true;
	if (log_state.debug[0] == '\0')
		return false;
	if (strstr(log_state.debug, ",all,") != NULL)
		return true;
	snprintf(key, sizeof key, ",%s,", component);
	return strstr(log_state.debug, key) != NULL;
}

static void
log_vemit(int level, const char *component, bool with_errno, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	}
	if (log_state.syslog) {
		syslog(level, "%s: %s", component, msg);
	} else {
		pthread_mutex_lock(&log_state.lock);
		if (log_state.journal)
			fprintf(stderr, "<%d>%s: %s\n", level, component, msg);
		else
			fprintf(stderr, "%s: %s: %s\n", log_level_names[level], component, msg);
		pthread_mutex_unlock(&log_state.lock);
	}
	errno = saved;
}

/* Print one log line if its level is wanted. */
void
log_emit(int level, const char *component, bool with_errno, const char *fmt, ...)
{
	va_list ap;

	if (level > log_state.level && !(level == LOG_DEBUG && log_debug_enabled(component)))
		return;
	va_start(ap, fmt);
	log_vemit(level, component, with_errno, fmt, ap);
	va_end(ap);
}

/* Log and exit: for start-up failures and broken invariants only. */
void
log_fatal(const char *component, bool with_errno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, component, with_errno, fmt, ap);
	va_end(ap);
	exit(1);
}
