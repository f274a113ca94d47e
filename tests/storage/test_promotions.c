/* test_promotions.c — promotion aggregate: lookups, CAS transitions, one open promotion per target. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pb_str.h"
#include "st_helpers.h"

TestSuite(promotions, .init = st_fixture_init, .fini = st_fixture_fini);

static pb_err err;

static void err_reset(void)
{
	pb_err_init(&err);
}

Test(promotions, insert_then_get_round_trips_every_field)
{
	pb_promotion p, got;

	memset(&p, 0, sizeof(p));
	p.created_at = ST_NOW;
	err_reset();
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.from_stage = 1;
	p.target_stage = 2;
	p.state = PB_ST_COMPLETED; /* ignored: insert always starts at requested */
	pb_strlcpy(p.requester, "U-alice", sizeof(p.requester));
	pb_strlcpy(p.justification, "it's stable; \"really\" -- trust me", sizeof(p.justification));
	pb_strlcpy(p.channel_ref, "C1", sizeof(p.channel_ref));
	pb_strlcpy(p.thread_ref, "1700000000.0001", sizeof(p.thread_ref));
	p.issue_number = 42;
	p.created_at = 1700000000;
	cr_assert_eq(pb_store_promotion_insert(st_store, &p, &err), 0, "%s", pb_err_text(&err));
	cr_assert_gt(p.id, 0);
	cr_assert_eq(p.state, PB_ST_REQUESTED);

	cr_assert_eq(pb_store_promotion_get(st_store, p.id, &got, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(got.id, p.id);
	cr_assert_str_eq(got.component, "neo4j");
	cr_assert_eq(got.from_stage, 1);
	cr_assert_eq(got.target_stage, 2);
	cr_assert_eq(got.state, PB_ST_REQUESTED);
	cr_assert_str_eq(got.requester, "U-alice");
	cr_assert_str_eq(got.justification, "it's stable; \"really\" -- trust me");
	cr_assert_str_eq(got.revision, "");
	cr_assert_str_eq(got.channel_ref, "C1");
	cr_assert_str_eq(got.thread_ref, "1700000000.0001");
	cr_assert_eq(got.issue_number, 42);
	cr_assert_eq(got.created_at, 1700000000);
	cr_assert_eq(got.updated_at, 1700000000);
	cr_assert_eq(got.observing_since, 0);
}

Test(promotions, get_unknown_id_is_notfound)
{
	pb_promotion got;

	err_reset();
	cr_assert_eq(pb_store_promotion_get(st_store, 999, &got, &err), PB_E_NOTFOUND);
	cr_assert_not(err.set, "a lookup's NOTFOUND carries no text (the caller words it): %s", err.msg);
}

Test(promotions, hostile_text_is_stored_verbatim)
{
	const char *evil = "x'); DROP TABLE promotions; --";
	int64_t id = st_promotion(st_store, evil, 2);
	pb_promotion got;

	err_reset();
	cr_assert_eq(pb_store_promotion_get(st_store, id, &got, &err), 0);
	cr_assert_str_eq(got.component, evil);
	cr_assert_eq(pb_store_promotion_open_for(st_store, evil, &got, &err), 0);
	cr_assert_eq(got.id, id);
}

Test(promotions, long_text_columns_are_truncated_into_the_struct)
{
	char sql[1024], big[400];
	pb_promotion got;
	int64_t id = st_promotion(st_store, "neo4j", 2);

	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pb_store_close(st_store);
	snprintf(sql, sizeof(sql), "UPDATE promotions SET requester = '%s' WHERE id = %lld", big,
		 (long long)id);
	cr_assert_eq(st_sql(st_db_path(), sql), 0);
	st_store = st_open();
	err_reset();
	cr_assert_eq(pb_store_promotion_get(st_store, id, &got, &err), 0);
	cr_assert_eq(strlen(got.requester), PB_ID_MAX - 1);
	cr_assert_eq(got.requester[0], 'r');
}

Test(promotions, open_for_and_latest)
{
	pb_promotion got;
	int64_t a, b;

	err_reset();
	cr_assert_eq(pb_store_promotion_open_for(st_store, "neo4j", &got, &err), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_promotion_latest(st_store, "neo4j", &got, NULL), PB_E_NOTFOUND);
	a = st_promotion(st_store, "neo4j", 2);
	cr_assert_eq(pb_store_promotion_set_state(st_store, a, PB_ST_REQUESTED, PB_ST_CANCELLED, ST_NOW, &err), 0);
	b = st_promotion(st_store, "neo4j", 3);
	st_promotion(st_store, "redis", 2);

	cr_assert_eq(pb_store_promotion_open_for(st_store, "neo4j", &got, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(got.id, b);
	cr_assert_eq(pb_store_promotion_set_state(st_store, b, PB_ST_REQUESTED, PB_ST_FAILED, ST_NOW, &err), 0);
	cr_assert_eq(pb_store_promotion_open_for(st_store, "neo4j", &got, &err), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_promotion_latest(st_store, "neo4j", &got, &err), 0);
	cr_assert_eq(got.id, b);
	cr_assert_eq(got.state, PB_ST_FAILED);
}

Test(promotions, by_thread_finds_the_thread_owner_only)
{
	pb_promotion got;
	int64_t a = st_promotion(st_store, "neo4j", 2);
	int64_t b = st_promotion(st_store, "redis", 2);

	err_reset();
	cr_assert_eq(pb_store_promotion_set_thread(st_store, a, "C1", "111.1", ST_NOW, &err), 0);
	cr_assert_eq(pb_store_promotion_set_thread(st_store, b, "C1", "222.2", ST_NOW, &err), 0);
	cr_assert_eq(pb_store_promotion_by_thread(st_store, "C1", "222.2", &got, &err), 0);
	cr_assert_eq(got.id, b);
	cr_assert_eq(pb_store_promotion_by_thread(st_store, "C2", "222.2", &got, &err), PB_E_NOTFOUND);
	/* An unposted promotion has thread "" and must never match. */
	st_promotion(st_store, "kafka", 2);
	cr_assert_eq(pb_store_promotion_by_thread(st_store, "", "", &got, NULL), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_promotion_set_thread(st_store, 777, "C1", "x", ST_NOW, NULL), PB_E_NOTFOUND);
}

/* The right to post the thread parent: one owner at a time, until its claim runs out or the thread is stored. */
Test(promotions, a_thread_claim_has_one_owner_until_it_expires_or_the_thread_is_stored)
{
	int64_t id = st_promotion(st_store, "neo4j", 2), held = 0;

	err_reset();
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-a", ST_NOW, ST_NOW + 30, NULL, &err), 0,
		     "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-b", ST_NOW + 1, ST_NOW + 31, &held, &err),
		     PB_E_BUSY, "another replica's claim runs");
	cr_assert_eq(held, ST_NOW + 30, "and says until when");
	cr_assert_not(err.set, "an expected answer carries no text: %s", err.msg);
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-a", ST_NOW + 2, ST_NOW + 40, NULL, &err), 0,
		     "the owner renews it");
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-b", ST_NOW + 39, ST_NOW + 69, NULL, &err),
		     PB_E_BUSY, "the renewal moved the end");
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-b", ST_NOW + 40, ST_NOW + 70, NULL, &err), 0,
		     "an expired claim goes to the next replica");
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-a", ST_NOW + 41, ST_NOW + 71, NULL, &err),
		     PB_E_BUSY);
	cr_assert_eq(pb_store_promotion_set_thread(st_store, id, "C1", "333.3", ST_NOW + 42, &err), 0);
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "replica-b", ST_NOW + 43, ST_NOW + 73, NULL, &err),
		     PB_E_CONFLICT, "once the thread is stored nobody opens another, its claimer neither");
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, 777, "replica-a", ST_NOW, ST_NOW + 30, NULL, &err),
		     PB_E_NOTFOUND);
	err_reset();
	cr_assert_eq(pb_store_promotion_claim_thread(st_store, id, "", ST_NOW, ST_NOW + 30, NULL, &err), -EINVAL);
}

Test(promotions, set_revision_and_issue)
{
	pb_promotion got;
	int64_t id = st_promotion(st_store, "neo4j", 2);

	err_reset();
	cr_assert_eq(pb_store_promotion_set_revision(st_store, id, "abc123", ST_NOW, &err), 0);
	cr_assert_eq(pb_store_promotion_set_issue(st_store, id, 77, ST_NOW, &err), 0);
	cr_assert_eq(pb_store_promotion_get(st_store, id, &got, &err), 0);
	cr_assert_str_eq(got.revision, "abc123");
	cr_assert_eq(got.issue_number, 77);
	cr_assert_eq(pb_store_promotion_set_revision(st_store, 999, "x", ST_NOW, &err), PB_E_NOTFOUND);
	cr_assert_eq(pb_store_promotion_set_issue(st_store, 999, 1, ST_NOW, NULL), PB_E_NOTFOUND);
}

Test(promotions, cas_transition_wins_once)
{
	pb_promotion got;
	int64_t id = st_promotion(st_store, "neo4j", 2);

	err_reset();
	cr_assert_eq(pb_store_promotion_set_state(st_store, id, PB_ST_REQUESTED, PB_ST_VALIDATING, ST_NOW, &err), 0);
	/* A second actor still believing "requested" loses. */
	cr_assert_eq(pb_store_promotion_set_state(st_store, id, PB_ST_REQUESTED, PB_ST_CANCELLED, ST_NOW, &err),
		     PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&err), "validating"), "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_promotion_get(st_store, id, &got, NULL), 0);
	cr_assert_eq(got.state, PB_ST_VALIDATING);
	cr_assert_eq(pb_store_promotion_set_state(st_store, 999, PB_ST_REQUESTED, PB_ST_VALIDATING, ST_NOW, NULL),
		     PB_E_CONFLICT);
}

Test(promotions, observing_sets_observing_since)
{
	static const pb_state path[] = { PB_ST_REQUESTED, PB_ST_VALIDATING, PB_ST_IN_REVIEW,
					 PB_ST_APPROVED,  PB_ST_DEPLOYING,  PB_ST_OBSERVING };
	pb_promotion got;
	int64_t id = st_promotion(st_store, "neo4j", 2);

	err_reset();
	for (size_t i = 1; i < sizeof(path) / sizeof(path[0]); i++) {
		cr_assert_eq(pb_store_promotion_get(st_store, id, &got, NULL), 0);
		cr_assert_eq(got.observing_since, 0);
		cr_assert_eq(pb_store_promotion_set_state(st_store, id, path[i - 1], path[i], ST_NOW, &err), 0,
			     "%s", pb_err_text(&err));
	}
	cr_assert_eq(pb_store_promotion_get(st_store, id, &got, NULL), 0);
	cr_assert_eq(got.state, PB_ST_OBSERVING);
	cr_assert_gt(got.observing_since, 0);
	cr_assert_eq(got.observing_since, got.updated_at);
}

Test(promotions, one_open_promotion_per_component_and_target)
{
	pb_promotion p;
	int64_t first = st_promotion(st_store, "neo4j", 2);

	memset(&p, 0, sizeof(p));
	p.created_at = ST_NOW;
	err_reset();
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.from_stage = 1;
	p.target_stage = 2;
	cr_assert_eq(pb_store_promotion_insert(st_store, &p, &err), PB_E_CONFLICT);
	cr_assert(strstr(pb_err_text(&err), "already has an open promotion"), "%s", pb_err_text(&err));
	cr_assert(strstr(pb_err_text(&err), "requested"), "%s", pb_err_text(&err));
	/* Another target of the same component is a different slot. */
	st_promotion(st_store, "neo4j", 3);
	/* Still conflicting while the first moves through open states. */
	cr_assert_eq(pb_store_promotion_set_state(st_store, first, PB_ST_REQUESTED, PB_ST_VALIDATING, ST_NOW, NULL), 0);
	err_reset();
	cr_assert_eq(pb_store_promotion_insert(st_store, &p, &err), PB_E_CONFLICT);
}

static void terminal_frees_the_slot(pb_state terminal)
{
	pb_promotion p;
	int64_t first = st_promotion(st_store, "neo4j", 2);

	err_reset();
	cr_assert_eq(pb_store_promotion_set_state(st_store, first, PB_ST_REQUESTED, terminal, ST_NOW, &err), 0);
	cr_assert_not(pb_state_is_open(terminal));
	memset(&p, 0, sizeof(p));
	p.created_at = ST_NOW;
	pb_strlcpy(p.component, "neo4j", sizeof(p.component));
	p.target_stage = 2;
	cr_assert_eq(pb_store_promotion_insert(st_store, &p, &err), 0, "%s: %s", pb_state_name(terminal),
		     pb_err_text(&err));
	cr_assert_neq(p.id, first);
}

Test(promotions, completed_allows_a_new_one) { terminal_frees_the_slot(PB_ST_COMPLETED); }
Test(promotions, failed_allows_a_new_one) { terminal_frees_the_slot(PB_ST_FAILED); }
Test(promotions, rolled_back_allows_a_new_one) { terminal_frees_the_slot(PB_ST_ROLLED_BACK); }
Test(promotions, cancelled_allows_a_new_one) { terminal_frees_the_slot(PB_ST_CANCELLED); }

Test(promotions, reopening_into_an_occupied_slot_conflicts)
{
	int64_t old = st_promotion(st_store, "neo4j", 2);

	err_reset();
	cr_assert_eq(pb_store_promotion_set_state(st_store, old, PB_ST_REQUESTED, PB_ST_CANCELLED, ST_NOW, NULL), 0);
	st_promotion(st_store, "neo4j", 2);
	cr_assert_eq(pb_store_promotion_set_state(st_store, old, PB_ST_CANCELLED, PB_ST_REQUESTED, ST_NOW, &err),
		     PB_E_CONFLICT);
}

/* Several processes race for the same slot: the database lets exactly one win. */
Test(promotions, racing_processes_one_winner)
{
	enum { N = 6 };
	pid_t pids[N];
	int fds[2], wins = 0, conflicts = 0, statuses[N];
	char go = 'g';

	/* Children must not inherit a live connection (SQLite forbids using it across fork). */
	pb_store_close(st_store);
	st_store = NULL;
	cr_assert_eq(pipe(fds), 0);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			pb_store *st = NULL;
			pb_promotion p;
			pb_err e;
			char c;
			int r;

			close(fds[1]);
			pb_err_init(&e);
			if (pb_store_open(st_db_path(), &st, &e))
				_exit(10);
			/* Start together: wait until the parent closes the pipe. */
			while (read(fds[0], &c, 1) > 0)
				;
			memset(&p, 0, sizeof(p));
			p.created_at = ST_NOW;
			pb_strlcpy(p.component, "neo4j", sizeof(p.component));
			p.target_stage = 2;
			r = pb_store_promotion_insert(st, &p, &e);
			pb_store_close(st);
			_exit(r == 0 ? 0 : r == PB_E_CONFLICT ? 1 : 11);
		}
	}
	close(fds[0]);
	cr_assert_eq(write(fds[1], &go, 1), 1);
	close(fds[1]);
	for (int i = 0; i < N; i++) {
		int status = 0;

		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status), "child %d: status %d", i, status);
		statuses[i] = WEXITSTATUS(status);
		if (WEXITSTATUS(status) == 0)
			wins++;
		else if (WEXITSTATUS(status) == 1)
			conflicts++;
	}
	cr_assert_eq(wins, 1, "exit codes %d %d %d %d %d %d", statuses[0], statuses[1], statuses[2],
		     statuses[3], statuses[4], statuses[5]);
	cr_assert_eq(conflicts, N - 1, "exit codes %d %d %d %d %d %d", statuses[0], statuses[1],
		     statuses[2], statuses[3], statuses[4], statuses[5]);
	cr_assert_eq(st_sql_int(st_db_path(), "SELECT count(*) FROM promotions"), 1);
}

Test(promotions, in_state_lists_oldest_first)
{
	pb_state open_states[] = { PB_ST_REQUESTED, PB_ST_VALIDATING };
	pb_state none_state[] = { PB_ST_OBSERVING };
	pb_promotion *list = NULL;
	size_t n = 99;
	int64_t a = st_promotion(st_store, "a", 2);
	int64_t b = st_promotion(st_store, "b", 2);
	int64_t c = st_promotion(st_store, "c", 2);

	err_reset();
	cr_assert_eq(pb_store_promotion_set_state(st_store, b, PB_ST_REQUESTED, PB_ST_VALIDATING, ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_promotion_set_state(st_store, c, PB_ST_REQUESTED, PB_ST_CANCELLED, ST_NOW, NULL), 0);
	cr_assert_eq(pb_store_promotions_in_state(st_store, open_states, 2, &list, &n, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].id, a);
	cr_assert_eq(list[1].id, b);
	cr_assert_eq(list[1].state, PB_ST_VALIDATING);
	free(list);
	cr_assert_eq(pb_store_promotions_in_state(st_store, none_state, 1, &list, &n, &err), 0);
	cr_assert_eq(n, 0);
	free(list);
	cr_assert_eq(pb_store_promotions_in_state(st_store, open_states, 0, &list, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(list);
}

Test(promotions, state_names_round_trip)
{
	pb_state s;

	for (int i = 0; i < PB_ST_COUNT; i++) {
		cr_assert_eq(pb_state_parse(pb_state_name((pb_state)i), &s), 0);
		cr_assert_eq(s, (pb_state)i);
	}
	cr_assert_str_eq(pb_state_name(PB_ST_IN_REVIEW), "in_review");
	cr_assert_str_eq(pb_state_name(PB_ST_ROLLED_BACK), "rolled_back");
	cr_assert_eq(pb_state_parse("nope", &s), PB_E_INVALID);
	cr_assert_eq(pb_state_parse(NULL, &s), PB_E_INVALID);
	cr_assert(pb_state_is_open(PB_ST_BLOCKED));
	cr_assert(pb_state_is_open(PB_ST_OBSERVING));
	cr_assert_not(pb_state_is_open(PB_ST_COMPLETED));
	cr_assert_not(pb_state_is_open(PB_ST_CANCELLED));
	cr_assert_not(pb_state_is_open(PB_ST_COUNT));
	cr_assert_str_eq(pb_state_name(PB_ST_COUNT), "unknown");
}

Test(promotions, severity_names_parse_case_insensitive)
{
	pb_severity s;

	cr_assert_eq(pb_severity_parse("CRITICAL", &s), 0);
	cr_assert_eq(s, PB_SEV_CRITICAL);
	cr_assert_eq(pb_severity_parse("Medium", &s), 0);
	cr_assert_eq(s, PB_SEV_MEDIUM);
	cr_assert_eq(pb_severity_parse("urgent", &s), PB_E_INVALID);
	cr_assert_str_eq(pb_severity_name(PB_SEV_LOW), "low");
	cr_assert_str_eq(pb_severity_name(PB_SEV_HIGH), "high");
}
