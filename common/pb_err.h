/* pb_err.h — error buffer carried beside return codes; the first error wins. */
#ifndef PB_ERR_H
#define PB_ERR_H

#include <stddef.h>

/*
 * Return convention (dbus-broker style), used by every module:
 *   0   success
 *   <0  fatal, a negated errno passed up unchanged
 *   >0  an expected condition documented by the function (refused, not found…)
 * The human text goes into a pb_err beside the code. The first message set
 * wins so the root cause survives callers that add their own context.
 */
#define PB_ERR_MSG_MAX 512

typedef struct pb_err {
	char msg[PB_ERR_MSG_MAX];
	int set;
} pb_err;

/* Expected conditions shared across modules (positive return values). */
enum {
	PB_E_REFUSED = 1,   /* the request is understood but not allowed now */
	PB_E_NOTFOUND = 2,  /* the thing named does not exist */
	PB_E_INVALID = 3,   /* malformed input */
	PB_E_BUSY = 4,      /* someone else holds the lock / queue full */
	PB_E_CONFLICT = 5,  /* state changed underneath us (compare-and-swap lost) */
	PB_E_UNAVAILABLE = 6, /* a peer could not be reached or answered badly */
	PB_E_FAILED = 7,    /* the operation ran and its result is a failure */
};

void pb_err_init(pb_err *err);
/* Sets the message unless one is already set; returns `code` for tail calls. */
int pb_err_set(pb_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes context to an existing message (or sets it when empty). */
void pb_err_prefix(pb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *pb_err_text(const pb_err *err);
/*
 * Hands a scratch error's text on to `dst` when `code` is non-zero (first
 * text in dst still wins); returns code. For callers that look at a callee's
 * condition in private and decide themselves what the user reads.
 */
int pb_err_pass(pb_err *dst, int code, const pb_err *src);

#endif
