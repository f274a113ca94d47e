/* test_dispatch.c — central checks: unknown verbs, arity, roles, --dry-run, bad input. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "harness.h"

static th h;
static void setup(void) { th_setup(&h, NULL); }
static void teardown(void) { th_teardown(&h); }
TestSuite(dispatch, .init = setup, .fini = teardown);

Test(dispatch, unknown_verb_lists_commands)
{
	cr_assert_eq(th_run(&h, "alice", "/promote frobnicate neo4j"), PB_E_INVALID);
	cr_expect_eq(h.nerrors, 1);
	cr_expect(strstr(th_out(&h), "unknown command \"frobnicate\""), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "request"));
}

Test(dispatch, missing_and_extra_arguments_get_usage)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j"), PB_E_INVALID);
	cr_expect(strstr(th_out(&h), "usage: /promote request <component> <stage> [justification]"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "validate neo4j extra"), PB_E_INVALID);
	cr_expect(strstr(th_out(&h), "validate takes 1 argument, got 2"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "status a b"), PB_E_INVALID);
}

Test(dispatch, free_text_is_joined)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging needed by the graph team"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "needed by the graph team"), "%s", th_out(&h));
}

Test(dispatch, empty_input_shows_help)
{
	cr_assert_eq(th_run(&h, "bob", "/promote"), 0);
	cr_expect(strstr(th_out(&h), "/promote approve"), "%s", th_out(&h));
}

Test(dispatch, help_shows_only_allowed_commands)
{
	cr_assert_eq(th_run(&h, "stranger", "help"), 0);
	cr_expect(strstr(th_out(&h), "/promote status"));
	cr_expect_null(strstr(th_out(&h), "/promote request"), "%s", th_out(&h));
	cr_expect_null(strstr(th_out(&h), "/promote deploy"));
	cr_assert_eq(th_run(&h, "carol", "help"), 0); /* admin sees everything */
	cr_expect(strstr(th_out(&h), "/promote deploy"));
	cr_assert_eq(th_run(&h, "bob", "help deploy"), 0);
	cr_expect(strstr(th_out(&h), "cannot run this"), "%s", th_out(&h));
}

Test(dispatch, roles_are_checked_before_the_handler)
{
	cr_assert_eq(th_run(&h, "bob", "request neo4j staging"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "request needs one of these roles: requester"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1, "nothing was created");
	cr_assert_eq(th_run(&h, "stranger", "request neo4j staging"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "read-only"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "stranger", "status neo4j"), 0, "unknown users may read");
	cr_assert_eq(th_run(&h, "dave", "deploy neo4j"), PB_E_REFUSED);
}

Test(dispatch, unknown_component_is_named)
{
	cr_assert_eq(th_run(&h, "alice", "request neo5j staging"), PB_E_NOTFOUND);
	cr_expect(strstr(th_out(&h), "unknown component \"neo5j\" (known: neo4j, graph-api, lowcov)"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "status nope"), PB_E_NOTFOUND);
}

Test(dispatch, dry_run_changes_nothing)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging --dry-run"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Dry run"), "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "would open a promotion of neo4j from Development to Staging"), "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), -1);
	cr_assert_eq(th_run(&h, "alice", "status --dry-run"), PB_E_INVALID, "read-only commands refuse it");
}

Test(dispatch, bad_input_is_a_usage_reply)
{
	char big[PB_CMD_MAX_INPUT + 100];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(th_run(&h, "alice", big), PB_E_INVALID);
	cr_expect_eq(h.nerrors, 1);
	cr_assert_eq(th_run(&h, "alice", "request \"neo4j staging"), PB_E_INVALID);
	cr_expect(strstr(th_out(&h), "unterminated"), "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "status \xff\xfe"), PB_E_INVALID);
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging 'Ünïcödé 🚀 ok'"), 0, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "Ünïcödé 🚀 ok"));
}

Test(dispatch, illegal_transitions_name_the_allowed_steps)
{
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(th_run(&h, "bob", "approve neo4j"), PB_E_REFUSED);
	cr_expect(strstr(th_out(&h), "is requested: approve is not possible now (allowed next: validate, cancel)"),
		  "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "carol", "complete neo4j"), PB_E_REFUSED);
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_REQUESTED);
}

Test(dispatch, lock_held_by_live_owner_makes_mutations_busy)
{
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	/* another live holder (this process, other token) is validating */
	cr_assert_eq(pb_store_lock_acquire(h.store, "neo4j", "someone-else", "validate", th_now(&h), &err), 0);
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), PB_E_BUSY, "%s", th_out(&h));
	cr_assert_eq(th_run(&h, "alice", "status neo4j"), 0, "reads never wait");
	pb_store_lock_release(h.store, "neo4j", "someone-else");
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), 0, "%s", th_out(&h));
}

typedef struct waiter {
	th *h;
	int r;
} waiter;

static void *validate_in_thread(void *ud)
{
	waiter *w = ud;

	w->r = th_run(w->h, "alice", "validate neo4j");
	return NULL;
}

/*
 * The dispatcher waits for a busy lock on the services' clock: with the fake
 * clock's gate armed, "B is waiting" is observable, the holder lets go, the
 * gate opens and B's retry gets the lock — no real sleep decides the outcome.
 */
Test(dispatch, lock_wait_succeeds_when_the_holder_lets_go)
{
	pb_store *other = NULL;
	pthread_t t;
	waiter w = { &h, -100 };
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(pb_store_open(h.cfg->storage_path, &other, &err), 0, "%s", pb_err_text(&err));
	cr_assert_eq(pb_store_lock_acquire(other, "neo4j", "someone-else", "deploy", th_now(&h), &err), 0);
	pb_fake_clock_gate(&h.clock, true);
	cr_assert_eq(pthread_create(&t, NULL, validate_in_thread, &w), 0);
	cr_assert(pb_fake_clock_wait_sleepers(&h.clock, 1, 10000), "the dispatcher never waited on the lock");
	pb_store_lock_release(other, "neo4j", "someone-else");
	pb_fake_clock_gate(&h.clock, false);
	pthread_join(t, NULL);
	pb_store_close(other);
	cr_assert_eq(w.r, 0, "%s", th_out(&h));
	cr_expect_eq(th_state(&h, "neo4j"), PB_ST_IN_REVIEW);
}

Test(dispatch, lock_wait_gives_up_after_the_bound_with_the_holder_named)
{
	pb_err err;

	pb_err_init(&err);
	cr_assert_eq(th_run(&h, "alice", "request neo4j staging"), 0);
	cr_assert_eq(pb_store_lock_acquire(h.store, "neo4j", "someone-else", "deploy", th_now(&h), &err), 0);
	/* the fake clock's sleeps advance it: the whole wait takes no real time */
	cr_assert_eq(th_run(&h, "alice", "validate neo4j"), PB_E_BUSY, "%s", th_out(&h));
	cr_expect(strstr(th_out(&h), "neo4j is busy: deploy by someone-else"), "%s", th_out(&h));
	cr_expect_gt(h.clock.sleeps, 1, "it retried before giving up");
	pb_store_lock_release(h.store, "neo4j", "someone-else");
}
