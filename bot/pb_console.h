/* pb_console.h — the console chat adapter (embedded default) and the text sink `exec` shares. */
#ifndef PB_CONSOLE_H
#define PB_CONSOLE_H

#include <pthread.h>
#include <stdio.h>

#include "pb_cmd.h"

/* A sink that renders cards as text to `out`; parent-card refreshes are skipped
 * because a terminal has no message to update in place. */
typedef struct pb_text_sink {
	pb_sink sink;
	FILE *out;
	pthread_mutex_t *lock;   /* optional: shared by every sink writing to `out` */
	const char *prefix;      /* optional: printed before each card ("[promobot] " for system cards) */
} pb_text_sink;

void pb_text_sink_init(pb_text_sink *ts, FILE *out);

/*
 * Interactive loop: reads lines from `in`, runs "/promote …" (or bare "status
 * neo4j") as the current user, handles "/as <user>", "/users", "/quit".
 * `start_user` NULL = the first configured user. Returns 0 at EOF or /quit.
 */
int pb_console_run(const pb_config *cfg, const char *start_user, FILE *in, FILE *out, pb_err *err);

/* Runs one command as `user` (exec mode); returns pb_dispatch's result. */
int pb_console_exec(const pb_config *cfg, const char *user, const char *text, FILE *out, pb_err *err);
/*
 * Same, then delivers the GitHub updates the command decided (when GitHub is
 * configured), waiting at most github_wait_ms; what is still pending then is
 * said on `out` and left queued for the bot. The command's result is returned.
 */
int pb_console_exec_wait(const pb_config *cfg, const char *user, const char *text, int64_t github_wait_ms,
			 FILE *out, pb_err *err);

#endif
