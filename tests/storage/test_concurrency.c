/* test_concurrency.c — storage invariants with two writer PROCESSES on one database (SQLite and PostgreSQL). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(concurrency, .init = st_fixture_init, .fini = st_fixture_fini, .timeout = 100);

#define RACERS 2
#define ROUNDS 40

/* A racer: runs on its own connection, reports with say(); returns its exit status (0 fine). */
typedef int (*racer_fn)(pb_store *st, int me, int out_fd);

/* One line to the parent; lines shorter than PIPE_BUF never interleave. */
static void say(int fd, const char *tag, long a, long b)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %ld %ld\n", tag, a, b);

	if (n > 0 && write(fd, line, (size_t)n) != n)
		_exit(5);
}

static char race_out[1 << 18];

/*
 * Forks RACERS children; each opens its own connection, then all wait on a
 * pipe barrier (the parent closes it once every child is connected) and run
 * fn at the same moment. Returns what they said (race_out). No connection
 * crosses the fork: the fixture's store is closed first and reopened after.
 */
static const char *race(racer_fn fn)
{
	int ready[2], go[2], out[2];
	pid_t pids[RACERS];
	size_t used = 0;
	ssize_t n;
	char c;

	pb_store_close(st_store);
	st_store = NULL;
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(out), 0);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			pb_store *st = NULL;
			pb_err e;
			int r;

			close(ready[0]);
			close(go[1]);
			close(out[0]);
			pb_err_init(&e);
			if (pb_store_open(st_db_path(), &st, &e)) {
				fprintf(stderr, "racer %d: %s\n", i, pb_err_text(&e));
				_exit(3);
			}
			if (write(ready[1], "r", 1) != 1)
				_exit(4);
			/* blocks until the parent closes its end: every racer starts together */
			while (read(go[0], &c, 1) > 0)
				;
			r = fn(st, i, out[1]);
			pb_store_close(st);
			_exit(r);
		}
	}
	close(ready[1]);
	close(go[0]);
	close(out[1]);
	for (int got = 0; got < RACERS;) {
		n = read(ready[0], &c, 1);
		cr_assert_eq(n, 1, "a racer died before the start");
		got++;
	}
	close(go[1]);
	while ((n = read(out[0], race_out + used, sizeof(race_out) - 1 - used)) > 0)
		used += (size_t)n;
	race_out[used] = '\0';
	close(ready[0]);
	close(out[0]);
	for (int i = 0; i < RACERS; i++) {
		int status = 0;

		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "racer %d failed (status %d): %s", i,
			  status, race_out);
	}
	st_store = st_open();
	return race_out;
}

/* How many lines of the output start with `prefix`. */
static int count_lines(const char *out, const char *prefix)
{
	size_t len = strlen(prefix);
	int n = 0;

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, len) == 0)
			n++;
	}
	return n;
}

/* ---- one open promotion per component and target: exactly one insert wins ---- */

static int racer_open(pb_store *st, int me, int out)
{
	for (long k = 0; k < ROUNDS; k++) {
		pb_promotion p;
		pb_err e;
		int r;

		memset(&p, 0, sizeof(p));
		pb_err_init(&e);
		snprintf(p.component, sizeof(p.component), "svc%ld", k);
		p.from_stage = 1;
		p.target_stage = 2;
		p.created_at = ST_NOW;
		pb_strlcpy(p.requester, me ? "U-b" : "U-a", sizeof(p.requester));
		r = pb_store_promotion_insert(st, &p, &e);
		if (r == 0)
			say(out, "won", k, p.id);
		else if (r != PB_E_CONFLICT)
			return fprintf(stderr, "insert: %d %s\n", r, pb_err_text(&e)), 1;
	}
	return 0;
}

Test(concurrency, one_open_promotion_per_component_and_target)
{
	const char *out = race(racer_open);

	for (long k = 0; k < ROUNDS; k++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "won %ld ", k);
		cr_expect_eq(count_lines(out, prefix), 1, "svc%ld: %d winners", k, count_lines(out, prefix));
	}
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM promotions"), ROUNDS);
}

/* ---- CAS transitions with their audit event in one transaction: exactly one wins, one event ---- */

static const pb_state chain[] = { PB_ST_REQUESTED, PB_ST_VALIDATING, PB_ST_IN_REVIEW, PB_ST_APPROVED,
				  PB_ST_DEPLOYING, PB_ST_OBSERVING,  PB_ST_COMPLETED };
#define CHAIN_LEN (sizeof(chain) / sizeof(chain[0]))
#define CAS_PROMOTIONS 8

static int64_t cas_ids[CAS_PROMOTIONS];

static int racer_cas(pb_store *st, int me, int out)
{
	for (int p = 0; p < CAS_PROMOTIONS; p++) {
		for (size_t i = 0; i + 1 < CHAIN_LEN; i++) {
			pb_event ev;
			pb_err e;
			int r;

			pb_err_init(&e);
			r = pb_store_begin(st, &e);
			if (r == PB_E_BUSY) {
				i--; /* the write lock was busy for 5 s: try the same step again */
				continue;
			}
			if (r)
				return fprintf(stderr, "begin: %s\n", pb_err_text(&e)), 1;
			r = pb_store_promotion_set_state(st, cas_ids[p], chain[i], chain[i + 1], ST_NOW + (int64_t)i, &e);
			if (r == PB_E_CONFLICT) {
				pb_store_rollback(st);
				continue;
			}
			memset(&ev, 0, sizeof(ev));
			ev.promotion_id = cas_ids[p];
			pb_strlcpy(ev.component, "neo4j", sizeof(ev.component));
			pb_strlcpy(ev.actor, me ? "racer-b" : "racer-a", sizeof(ev.actor));
			pb_strlcpy(ev.kind, "state", sizeof(ev.kind));
			pb_strlcpy(ev.from_state, pb_state_name(chain[i]), sizeof(ev.from_state));
			pb_strlcpy(ev.to_state, pb_state_name(chain[i + 1]), sizeof(ev.to_state));
			ev.at = ST_NOW;
			if (r == 0)
				r = pb_store_event_append(st, &ev, &e);
			if (r == 0)
				r = pb_store_commit(st, &e);
			if (r) {
				pb_store_rollback(st);
				return fprintf(stderr, "transition: %d %s\n", r, pb_err_text(&e)), 1;
			}
			say(out, "won", p, (long)i);
		}
	}
	return 0;
}

Test(concurrency, cas_transition_and_its_event_commit_together_once)
{
	const char *out;
	pb_event *evs = NULL;
	size_t n = 0;

	for (int p = 0; p < CAS_PROMOTIONS; p++) {
		char comp[16];

		snprintf(comp, sizeof(comp), "c%d", p);
		cas_ids[p] = st_promotion(st_store, comp, 2);
	}
	out = race(racer_cas);
	for (int p = 0; p < CAS_PROMOTIONS; p++) {
		pb_promotion pr;

		for (size_t i = 0; i + 1 < CHAIN_LEN; i++) {
			char prefix[32];

			snprintf(prefix, sizeof(prefix), "won %d %zu\n", p, i);
			cr_expect_eq(count_lines(out, prefix), 1, "promotion %d step %zu: %d winners", p, i,
				     count_lines(out, prefix));
		}
		cr_assert_eq(pb_store_promotion_get(st_store, cas_ids[p], &pr, NULL), 0);
		cr_assert_eq(pr.state, PB_ST_COMPLETED);
		/* one event per transition, each the step its winner took, in order */
		cr_assert_eq(pb_store_events_for_promotion(st_store, cas_ids[p], &evs, &n, NULL), 0);
		cr_assert_eq(n, CHAIN_LEN - 1, "promotion %d has %zu events", p, n);
		for (size_t i = 0; i < n; i++)
			cr_expect_str_eq(evs[i].to_state, pb_state_name(chain[i + 1]));
		free(evs);
	}
}

/* ---- the audit trail is append-only for every connection ---- */

Test(concurrency, events_cannot_be_changed_from_another_connection)
{
	pb_event ev;

	memset(&ev, 0, sizeof(ev));
	pb_strlcpy(ev.component, "neo4j", sizeof(ev.component));
	pb_strlcpy(ev.kind, "note", sizeof(ev.kind));
	pb_strlcpy(ev.detail, "original", sizeof(ev.detail));
	ev.at = ST_NOW;
	cr_assert_eq(pb_store_event_append(st_store, &ev, NULL), 0);
	cr_assert_neq(st_sql(st_db_path(), "UPDATE events SET detail = 'forged'"), 0);
	cr_assert_neq(st_sql(st_db_path(), "DELETE FROM events"), 0);
	if (st_pg())
		cr_assert_neq(st_sql(st_db_path(), "TRUNCATE events"), 0);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM events WHERE detail = 'original'"), 1);
}

/* ---- outbox: never two heads of one group, never one op twice ---- */

#define GROUPS 4
#define OPS_PER_GROUP 12

/*
 * Each racer delivers what is due until nothing is left. On each claim it
 * checks that every earlier op of the group is done (the claimed op really is
 * the head) and that it is the first attempt (nobody claimed it before).
 */
static int racer_outbox(pb_store *st, int me, int out)
{
	const char *owner = me ? "replica-b" : "replica-a";

	for (int idle = 0; idle < 3;) {
		pb_ghop *due = NULL;
		size_t n = 0;
		pb_err e;

		pb_err_init(&e);
		if (pb_store_ghops_due(st, ST_NOW, 0, &due, &n, &e))
			return fprintf(stderr, "due: %s\n", pb_err_text(&e)), 1;
		idle = n == 0 ? idle + 1 : 0;
		for (size_t i = 0; i < n; i++) {
			pb_ghop op;
			int r = pb_store_ghop_claim(st, due[i].id, owner, ST_NOW, ST_NOW + 600, NULL, &e);

			if (r == PB_E_CONFLICT)
				continue;
			if (r)
				return fprintf(stderr, "claim: %s\n", pb_err_text(&e)), 1;
			for (int64_t prev = due[i].id - 1; prev > 0; prev--) {
				pb_ghop earlier;

				if (pb_store_ghop_get(st, prev, &earlier, &e))
					return fprintf(stderr, "get: %s\n", pb_err_text(&e)), 1;
				if (strcmp(earlier.group, due[i].group) == 0 && earlier.state != PB_GHOP_DONE)
					say(out, "early", (long)due[i].id, (long)prev);
				pb_ghop_deinit(&earlier);
			}
			if (pb_store_ghop_get(st, due[i].id, &op, &e))
				return fprintf(stderr, "get: %s\n", pb_err_text(&e)), 1;
			if (op.attempts != 1)
				say(out, "twice", (long)op.id, op.attempts);
			pb_ghop_deinit(&op);
			say(out, "sent", (long)due[i].id, me);
			if (pb_store_ghop_done(st, due[i].id, "{}", ST_NOW, &e))
				return fprintf(stderr, "done: %s\n", pb_err_text(&e)), 1;
		}
		pb_ghops_free(due, n);
	}
	return 0;
}

Test(concurrency, outbox_claims_hand_out_each_op_once_in_group_order)
{
	const char *out;

	/* interleaved groups: ids of one group are not contiguous */
	for (int k = 0; k < OPS_PER_GROUP; k++) {
		for (int g = 0; g < GROUPS; g++) {
			pb_ghop op;
			pb_err e;

			memset(&op, 0, sizeof(op));
			pb_err_init(&e);
			snprintf(op.group, sizeof(op.group), "blocker:%d", g);
			pb_strlcpy(op.kind, "comment", sizeof(op.kind));
			op.payload = "{\"body\":\"x\"}";
			op.created_at = ST_NOW;
			cr_assert_eq(pb_store_ghop_add(st_store, &op, &e), 0, "%s", pb_err_text(&e));
		}
	}
	out = race(racer_outbox);
	cr_assert_eq(count_lines(out, "early "), 0, "an op was claimed before its group's head:\n%s", out);
	cr_assert_eq(count_lines(out, "twice "), 0, "an op was claimed twice:\n%s", out);
	cr_assert_eq(count_lines(out, "sent "), GROUPS * OPS_PER_GROUP, "%s", out);
	for (long id = 1; id <= GROUPS * OPS_PER_GROUP; id++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "sent %ld ", id);
		cr_expect_eq(count_lines(out, prefix), 1, "op %ld sent %d times", id, count_lines(out, prefix));
	}
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM gh_ops WHERE state = 'done' AND attempts = 1"),
		     GROUPS * OPS_PER_GROUP);
}

/* ---- the once-per-day report claim: one post per (promotion, kind, key) ---- */

static int64_t report_promotion;

static int racer_report(pb_store *st, int me, int out)
{
	for (long day = 1; day <= ROUNDS; day++) {
		int64_t id = 0;
		pb_err e;
		int r;

		pb_err_init(&e);
		r = pb_store_obs_post_add(st, report_promotion, "report", day, me ? "report by b" : "report by a",
					  ST_NOW, &id, &e);
		if (r == 0)
			say(out, "won", day, (long)id);
		else if (r != PB_E_CONFLICT)
			return fprintf(stderr, "post: %d %s\n", r, pb_err_text(&e)), 1;
	}
	return 0;
}

Test(concurrency, daily_report_is_claimed_once)
{
	const char *out;

	report_promotion = st_promotion(st_store, "neo4j", 3);
	out = race(racer_report);
	for (long day = 1; day <= ROUNDS; day++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "won %ld ", day);
		cr_expect_eq(count_lines(out, prefix), 1, "day %ld: %d claims", day, count_lines(out, prefix));
	}
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM obs_posts WHERE kind = 'report'"), ROUNDS);
}

/* ---- processed event ids: exactly one claimer per id ---- */

static int racer_event_ids(pb_store *st, int me, int out)
{
	(void)me;
	for (long k = 0; k < ROUNDS * 2; k++) {
		char key[32];
		pb_err e;
		int r;

		pb_err_init(&e);
		snprintf(key, sizeof(key), "Ev%ld", k);
		r = pb_store_event_id_claim(st, key, ST_NOW, &e);
		if (r == 0)
			say(out, "won", k, 0);
		else if (r != PB_E_CONFLICT)
			return fprintf(stderr, "claim: %d %s\n", r, pb_err_text(&e)), 1;
	}
	return 0;
}

Test(concurrency, processed_event_id_has_one_claimer)
{
	const char *out = race(racer_event_ids);

	for (long k = 0; k < ROUNDS * 2; k++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "won %ld ", k);
		cr_expect_eq(count_lines(out, prefix), 1, "Ev%ld: %d claimers", k, count_lines(out, prefix));
	}
}
