/* pb_err.c — first-error-wins message buffer. */
#include "pb_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pb_err_init(pb_err *err)
{
	if (!err)
		return;
	err->msg[0] = '\0';
	err->set = 0;
}

int pb_err_set(pb_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->set)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->set = 1;
	return code;
}

void pb_err_prefix(pb_err *err, const char *fmt, ...)
{
	char prefix[PB_ERR_MSG_MAX];
	char old[PB_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (err->set && old[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", prefix);
	err->set = 1;
}

const char *pb_err_text(const pb_err *err)
{
	if (!err || !err->set || !err->msg[0])
		return "unknown error";
	return err->msg;
}

int pb_err_pass(pb_err *dst, int code, const pb_err *src)
{
	if (code && src && src->set)
		pb_err_set(dst, code, "%s", src->msg);
	return code;
}
