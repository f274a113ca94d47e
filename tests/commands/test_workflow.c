/* test_workflow.c — every legal and illegal edge of the promotion state machine. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pb_workflow.h"

/* The intended machine (DESIGN §6), written independently of commands/workflow.c. */
static const char *legal[] = {
	"requested>validating", "requested>cancelled",
	"validating>validating", "validating>in_review", "validating>blocked", "validating>cancelled",
	"in_review>approved", "in_review>blocked", "in_review>validating", "in_review>cancelled",
	"blocked>validating", "blocked>cancelled",
	"approved>deploying", "approved>blocked", "approved>validating", "approved>cancelled",
	"deploying>observing", "deploying>failed",
	"observing>completed", "observing>rolled_back", "observing>failed",
};

static bool expected(pb_state from, pb_state to)
{
	char key[64];

	snprintf(key, sizeof(key), "%s>%s", pb_state_name(from), pb_state_name(to));
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		if (!strcmp(legal[i], key))
			return true;
	return false;
}

Test(workflow, every_pair_matches_the_design)
{
	int legal_count = 0;

	for (int f = 0; f < PB_ST_COUNT; f++)
		for (int t = 0; t < PB_ST_COUNT; t++) {
			bool want = expected((pb_state)f, (pb_state)t);

			cr_expect_eq(pb_workflow_allowed((pb_state)f, (pb_state)t), want, "%s → %s should be %s",
				     pb_state_name((pb_state)f), pb_state_name((pb_state)t),
				     want ? "legal" : "illegal");
			legal_count += want;
		}
	cr_assert_eq(legal_count, (int)(sizeof(legal) / sizeof(legal[0])));
}

Test(workflow, terminal_states_have_no_exit)
{
	pb_state finals[] = { PB_ST_COMPLETED, PB_ST_FAILED, PB_ST_ROLLED_BACK, PB_ST_CANCELLED };
	char next[256];

	for (size_t i = 0; i < 4; i++) {
		cr_expect_not(pb_state_is_open(finals[i]));
		for (int t = 0; t < PB_ST_COUNT; t++)
			cr_expect_not(pb_workflow_allowed(finals[i], (pb_state)t));
		pb_workflow_next_verbs(finals[i], next, sizeof(next));
		cr_expect_str_eq(next, "none (final state)");
	}
}

Test(workflow, next_verbs_name_the_commands)
{
	char next[256];

	pb_workflow_next_verbs(PB_ST_IN_REVIEW, next, sizeof(next));
	cr_expect_str_eq(next, "approve, reject, validate, cancel");
	pb_workflow_next_verbs(PB_ST_DEPLOYING, next, sizeof(next));
	cr_expect_str_eq(next, "none until the deploy finishes");
	pb_workflow_next_verbs(PB_ST_OBSERVING, next, sizeof(next));
	cr_expect_str_eq(next, "complete, rollback");
}

Test(workflow, state_names_round_trip)
{
	for (int s = 0; s < PB_ST_COUNT; s++) {
		pb_state back;

		cr_assert_eq(pb_state_parse(pb_state_name((pb_state)s), &back), 0);
		cr_expect_eq((int)back, s);
	}
}
