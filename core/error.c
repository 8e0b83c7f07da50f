/* error.c - the error a person reads, naming the input and the place. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* Set err's message; returns -1. */
int
dr_error_set(struct dr_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* Set err's message followed by the text of errno; returns -1. */
int
dr_error_errno(struct dr_error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t n;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof err->msg - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

/* Prepend context to the message already in err; returns -1. */
int
dr_error_prefix(struct dr_error *err, const char *fmt, ...)
{
	char prefix[DR_ERROR_MAX];
	size_t lp, lm;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	/* Keep the prefix whole and cut the tail of the old message if both do not fit. */
	lp = strlen(prefix);
	lm = strnlen(err->msg, sizeof err->msg - 1);
	if (lp + lm > sizeof err->msg - 1)
		lm = sizeof err->msg - 1 - lp;
	memmove(err->msg + lp, err->msg, lm);
	memcpy(err->msg, prefix, lp);
	err->msg[lp + lm] = '\0';
	return -1;
}

/* Clear an error. */
void
dr_error_clear(struct dr_error *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
}
