/* pb_checks.h — local validation check runner: argv, timeout, bounded output, coverage regex. */
#ifndef PB_CHECKS_H
#define PB_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "pb_err.h"

typedef struct pb_check_spec {
	const char *const *argv;   /* NULL-terminated; argv[0] looked up in PATH */
	const char *cwd;           /* NULL = inherit */
	int timeout_s;
	size_t max_output;         /* bytes kept; the rest is counted and dropped */
	const char *coverage_regex;/* optional POSIX ERE, group 1 = percent */
} pb_check_spec;

typedef enum {
	PB_CHECK_EXITED = 0,   /* ran to completion; see exit_code */
	PB_CHECK_SIGNALLED,    /* killed by a signal it did not get from us */
	PB_CHECK_TIMEOUT,      /* we killed it at the deadline */
	PB_CHECK_NOT_FOUND,    /* exec failed: binary missing / not executable */
	PB_CHECK_ERROR,        /* fork/pipe failure */
} pb_check_outcome;

typedef struct pb_check_result {
	pb_check_outcome outcome;
	int exit_code;         /* valid for EXITED */
	int signal;            /* valid for SIGNALLED */
	char *output;          /* owned, NUL-terminated, at most max_output bytes */
	size_t output_len;
	size_t output_dropped; /* bytes beyond max_output */
	double coverage;       /* -1 when no regex or no match */
	long duration_ms;
	char error[256];       /* human reason for NOT_FOUND/ERROR */
} pb_check_result;

/* Runs the check; returns 0 when a result was produced (whatever the outcome),
 * <0 on invalid arguments. Always free with pb_check_result_deinit. */
int pb_check_run(const pb_check_spec *spec, pb_check_result *out);
void pb_check_result_deinit(pb_check_result *r);
/* True when the check ran and exited 0. */
bool pb_check_passed(const pb_check_result *r);

#endif
