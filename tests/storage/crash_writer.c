/* crash_writer.c — writes promotion transitions + audit events in transactions until killed. */
/*
 * Usage: crash_writer DB_PATH [PAUSE_AT [STOP_AFTER]]
 * Each loop iteration is one transaction: either a new promotion (state
 * requested, with its "requested" event) or one compare-and-swap step along
 * requested → validating → in_review → approved → deploying → observing →
 * completed with its "state" event. After COMMIT it writes "<n>\n" (n = commits
 * so far) to stdout, so the test knows what is durable when it SIGKILLs us.
 *
 * With PAUSE_AT, transaction number PAUSE_AT stops halfway (promotion row
 * written, audit event not yet), prints "paused" and blocks reading stdin, so
 * the test can kill it exactly inside a transaction without any timing
 * (PAUSE_AT 0 = never). With STOP_AFTER it closes the store and exits 0 after
 * that many commits, so a sanitizer build reports leaks through its exit code.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pb_str.h"
#include "pb_store.h"

#define NCOMPONENTS 7
#define CW_NOW ((int64_t)1795597200) /* storage takes its timestamps from the caller */

static const pb_state chain[] = {
	PB_ST_REQUESTED, PB_ST_VALIDATING, PB_ST_IN_REVIEW, PB_ST_APPROVED,
	PB_ST_DEPLOYING, PB_ST_OBSERVING,  PB_ST_COMPLETED,
};

static int next_state(pb_state s, pb_state *out)
{
	for (size_t i = 0; i + 1 < sizeof(chain) / sizeof(chain[0]); i++) {
		if (chain[i] == s) {
			*out = chain[i + 1];
			return 0;
		}
	}
	return -1;
}

/* Announces the half-done transaction and waits until we are killed. */
static void pause_in_tx(void)
{
	static const char msg[] = "paused\n";
	char c;

	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) != (ssize_t)(sizeof(msg) - 1))
		_exit(3);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	_exit(3); /* stdin closed without a kill: leave without committing */
}

static int step(pb_store *st, const char *component, bool pause, pb_err *err)
{
	pb_promotion p;
	pb_event ev;
	int r;

	memset(&ev, 0, sizeof(ev));
	ev.at = CW_NOW;
	pb_strlcpy(ev.component, component, sizeof(ev.component));
	pb_strlcpy(ev.actor, "crash-writer", sizeof(ev.actor));
	r = pb_store_promotion_open_for(st, component, &p, NULL);
	if (r == PB_E_NOTFOUND) {
		memset(&p, 0, sizeof(p));
		p.created_at = CW_NOW;
		pb_strlcpy(p.component, component, sizeof(p.component));
		p.from_stage = 1;
		p.target_stage = 2;
		pb_strlcpy(p.requester, "crash-writer", sizeof(p.requester));
		r = pb_store_component_ensure(st, component, 1, CW_NOW, err);
		if (r == 0)
			r = pb_store_promotion_insert(st, &p, err);
		if (r)
			return r;
		pb_strlcpy(ev.kind, "requested", sizeof(ev.kind));
		pb_strlcpy(ev.to_state, "requested", sizeof(ev.to_state));
	} else if (r == 0) {
		pb_state next;

		if (next_state(p.state, &next))
			return pb_err_set(err, -1, "unexpected open state %s", pb_state_name(p.state));
		r = pb_store_promotion_set_state(st, p.id, p.state, next, CW_NOW, err);
		if (r)
			return r;
		pb_strlcpy(ev.kind, "state", sizeof(ev.kind));
		pb_strlcpy(ev.from_state, pb_state_name(p.state), sizeof(ev.from_state));
		pb_strlcpy(ev.to_state, pb_state_name(next), sizeof(ev.to_state));
	} else {
		return r;
	}
	ev.promotion_id = p.id;
	if (pause)
		pause_in_tx();
	return pb_store_event_append(st, &ev, err);
}

int main(int argc, char **argv)
{
	pb_store *st = NULL;
	pb_err err;
	char comp[32], line[32];
	long n = 0, pause_at = 0, stop_after = 0;
	int r;

	if (argc < 2 || argc > 4 ||
	    (argc >= 3 && pb_parse_long(argv[2], 0, 1000000000L, &pause_at) != 0) ||
	    (argc == 4 && pb_parse_long(argv[3], 1, 1000000000L, &stop_after) != 0)) {
		fprintf(stderr, "usage: %s DB_PATH [PAUSE_AT [STOP_AFTER]]\n", argv[0]);
		return 2;
	}
	pb_err_init(&err);
	r = pb_store_open(argv[1], &st, &err);
	if (r) {
		fprintf(stderr, "crash_writer: %s\n", pb_err_text(&err));
		return 1;
	}
	while (stop_after == 0 || n < stop_after) {
		int len;

		snprintf(comp, sizeof(comp), "comp-%ld", n % NCOMPONENTS);
		r = pb_store_begin(st, &err);
		if (r == 0)
			r = step(st, comp, n + 1 == pause_at, &err);
		if (r == 0)
			r = pb_store_commit(st, &err);
		if (r) {
			pb_store_rollback(st);
			fprintf(stderr, "crash_writer: commit %ld: %d %s\n", n + 1, r, pb_err_text(&err));
			pb_store_close(st);
			return 1;
		}
		n++;
		/* Unbuffered: the line leaves only after the commit returned. */
		len = snprintf(line, sizeof(line), "%ld\n", n);
		if (write(STDOUT_FILENO, line, (size_t)len) != len)
			break;
	}
	pb_store_close(st);
	return 0;
}
