/* pb_logscan.h — counts a container log's entries by level (multi-line entries) and keeps the top error signatures. */
#ifndef PB_LOGSCAN_H
#define PB_LOGSCAN_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb_config.h"
#include "pb_err.h"

/*
 * Fed the log text read since the last check, in pieces that may split a
 * line anywhere. A line matching the component's log_entry_regex starts an
 * entry, its group 1 is the level (compared case-insensitively with
 * log_critical / log_warning); any other line continues the entry above
 * (a Java stack trace is one ERROR, not forty). An unterminated last line
 * is kept until the next feed or pb_logscan_flush.
 *
 * Signatures: a critical entry's message (the text after the level, first
 * line only) with digits and hex runs replaced by '#', so "Connection 1234
 * refused" and "Connection 5678 refused" count together; the
 * PB_LOGSCAN_TOP most frequent are kept with their counts.
 */
#define PB_LOGSCAN_TOP 5
#define PB_LOGSCAN_SIG_MAX 160
#define PB_LOGSCAN_LINE_MAX 8192   /* longer lines are cut, never buffered without bound */

typedef struct pb_logscan_sig {
	char text[PB_LOGSCAN_SIG_MAX];
	uint32_t count;
} pb_logscan_sig;

typedef struct pb_logscan pb_logscan;

/* PB_E_INVALID (with text) when the regex does not compile or has no group 1. */
int pb_logscan_new(const pb_monitor_cfg *mc, pb_logscan **out, pb_err *err);
void pb_logscan_free(pb_logscan *ls);
void pb_logscan_feed(pb_logscan *ls, const char *data, size_t len);
/* Ends a pending unterminated line (call at the end of one read). */
void pb_logscan_flush(pb_logscan *ls);
/* Counts since the last take, then resets them (signatures accumulate until pb_logscan_top_reset). */
void pb_logscan_take(pb_logscan *ls, uint32_t *critical, uint32_t *warning);
/* Up to PB_LOGSCAN_TOP signatures, most frequent first; returns how many. */
size_t pb_logscan_top(const pb_logscan *ls, pb_logscan_sig *out);
void pb_logscan_top_reset(pb_logscan *ls);

#endif
